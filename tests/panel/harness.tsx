// Test harness page: mounts the REAL replay panel component with Grafana's theme. The Grafana services the panel
// uses (@grafana/runtime singletons) are set to small implementations talking to the test server.
import React from 'react';
import { createRoot } from 'react-dom/client';
import { createTheme, dateTime, EventBusSrv, LoadingState, type PanelProps, type TimeRange } from '@grafana/data';
import { setBackendSrv, setDataSourceSrv, type BackendSrv, type DataSourceSrv } from '@grafana/runtime';
import { GlobalStyles, ThemeContext } from '@grafana/ui';
import { from } from 'rxjs';

import { ReplayPanel } from '../../src/panel/components/ReplayPanel';
import { DEFAULT_OPTIONS, type ReplayOptions } from '../../src/panel/types';

const params = new URLSearchParams(window.location.search);
const theme = createTheme({ colors: { mode: params.get('theme') === 'light' ? 'light' : 'dark' } });
const width = Number(params.get('w') ?? 1000);
const height = Number(params.get('h') ?? 560);

const backendSrv = {
  fetch: (options: { url: string; method?: string; data?: unknown }) =>
    from(
      fetch(options.url, {
        method: options.method ?? 'GET',
        body: options.data ? JSON.stringify(options.data) : undefined,
        headers: { 'Content-Type': 'application/json' },
      }).then(async (r) => ({
        data: await r.json(),
        status: r.status,
        statusText: r.statusText,
        ok: r.ok,
        headers: r.headers,
        redirected: false,
        type: r.type,
        url: r.url,
        config: options,
      }))
    ),
} as unknown as BackendSrv;
setBackendSrv(backendSrv);

const dsSettings = {
  uid: 'sessionreplay',
  type: 'seed-sessionreplay-datasource',
  name: 'Session Replay',
  jsonData: { tracesDatasourceUid: 'tempo' },
};
setDataSourceSrv({
  getList: () => [dsSettings],
  getInstanceSettings: () => dsSettings,
} as unknown as DataSourceSrv);

const vars: Record<string, string | undefined> = {
  // `var-session` too: what the panel's "copy link at this moment" sets, as on a Grafana dashboard URL
  session: params.get('session') ?? params.get('var-session') ?? undefined,
  trace_id: params.get('trace_id') ?? undefined,
  replay_time: params.get('replay_time') ?? undefined,
};
const replaceVariables = (s: string) =>
  s.replace(/\$\{?(\w+)\}?/g, (m, name: string) => (vars[name] !== undefined ? String(vars[name]) : m));

const now = Date.now();
const timeRange: TimeRange = {
  from: dateTime(now - 7 * 24 * 3600 * 1000),
  to: dateTime(now),
  raw: { from: 'now-7d', to: 'now' },
};
const options: ReplayOptions = { ...DEFAULT_OPTIONS, skipInactive: params.get('skip') !== '0' };

const props = {
  id: 1,
  data: { state: LoadingState.Done, series: [], timeRange },
  timeRange,
  timeZone: 'utc',
  options,
  fieldConfig: { defaults: {}, overrides: [] },
  transparent: false,
  width,
  height,
  renderCounter: 0,
  title: 'Replay',
  eventBus: new EventBusSrv(),
  replaceVariables,
  onOptionsChange: () => {},
  onFieldConfigChange: () => {},
  onChangeTimeRange: () => {},
} as unknown as PanelProps<ReplayOptions>;

function Harness() {
  return (
    <ThemeContext.Provider value={theme}>
      <GlobalStyles />
      <div style={{ padding: 8, background: theme.colors.background.primary, width, height }}>
        <ReplayPanel {...props} />
      </div>
    </ThemeContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(<Harness />);
