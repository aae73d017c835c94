export interface ReplayOptions {
  /** uid of the session replay data source; empty: the panel's query data source, else the first one installed. */
  datasourceUid?: string;
  /** Variable (or literal) holding the session id. */
  sessionVariable: string;
  /** Variable holding a trace id: the replay opens the trace's session at the span time. */
  traceVariable: string;
  /** Variable (or URL parameter var-replay_time) holding the time to open the replay at. */
  timeVariable: string;
  autoPlay: boolean;
  skipInactive: boolean;
  speed: number;
  showEvents: boolean;
  showPicker: boolean;
}

export const DEFAULT_OPTIONS: ReplayOptions = {
  datasourceUid: '',
  sessionVariable: '$session',
  traceVariable: '$trace_id',
  timeVariable: '$replay_time',
  autoPlay: false,
  skipInactive: true,
  speed: 1,
  showEvents: true,
  showPicker: true,
};

export const SPEEDS = [1, 2, 4, 8];

export const DATASOURCE_TYPE = 'seed-sessionreplay-datasource';
