import { PanelPlugin } from '@grafana/data';

import { ReplayPanel } from './components/ReplayPanel';
import { DEFAULT_OPTIONS, type ReplayOptions, SPEEDS } from './types';

export const plugin = new PanelPlugin<ReplayOptions>(ReplayPanel).setNoPadding().setPanelOptions((builder) =>
  builder
    .addTextInput({
      path: 'datasourceUid',
      name: 'Data source uid',
      description: 'Session Replay data source; empty: the panel query’s data source or the first one installed',
      defaultValue: DEFAULT_OPTIONS.datasourceUid,
    })
    .addTextInput({
      path: 'sessionVariable',
      name: 'Session',
      description: 'Variable (or literal id) of the session to play; else the session_id field of the panel data',
      defaultValue: DEFAULT_OPTIONS.sessionVariable,
    })
    .addTextInput({
      path: 'traceVariable',
      name: 'Trace id',
      description: 'Variable holding a trace id: plays the trace’s session from the span time',
      defaultValue: DEFAULT_OPTIONS.traceVariable,
    })
    .addTextInput({
      path: 'timeVariable',
      name: 'Replay time',
      description:
        'Variable holding the time to open at (unix ms or ISO); the URL parameter var-replay_time also works',
      defaultValue: DEFAULT_OPTIONS.timeVariable,
    })
    .addRadio({
      path: 'speed',
      name: 'Speed',
      defaultValue: DEFAULT_OPTIONS.speed,
      settings: { options: SPEEDS.map((s) => ({ value: s, label: `${s}x` })) },
    })
    .addBooleanSwitch({ path: 'skipInactive', name: 'Skip inactivity', defaultValue: DEFAULT_OPTIONS.skipInactive })
    .addBooleanSwitch({ path: 'autoPlay', name: 'Autoplay', defaultValue: DEFAULT_OPTIONS.autoPlay })
    .addBooleanSwitch({ path: 'showEvents', name: 'Events list', defaultValue: DEFAULT_OPTIONS.showEvents })
    .addBooleanSwitch({ path: 'showPicker', name: 'Session picker', defaultValue: DEFAULT_OPTIONS.showPicker })
);
