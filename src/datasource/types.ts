import type { DataQuery, DataSourceJsonData } from '@grafana/schema';

/** Query types served by the Go backend (docs/plugin-api.md). */
export type QueryType = 'sessions' | 'stats' | 'markers' | 'traceSession';

export const QUERY_TYPES: Array<{ value: QueryType; label: string; description: string }> = [
  { value: 'sessions', label: 'Sessions', description: 'Table of sessions in the time range' },
  { value: 'stats', label: 'Stats', description: 'Sessions, retained and error sessions over time' },
  { value: 'markers', label: 'Markers', description: 'Timeline of one session: errors, clicks, navigations, requests' },
  { value: 'traceSession', label: 'Trace → session', description: 'The session (and offset) a trace belongs to' },
];

export type AdHocOperator = '=' | '!=' | '=~' | '!~' | '<' | '>';
export const AD_HOC_OPERATORS: AdHocOperator[] = ['=', '!=', '=~', '!~', '<', '>'];

export interface AdHocFilter {
  key: string;
  operator: AdHocOperator;
  value: string;
}

export type OrderBy = 'start' | 'duration' | 'errors' | 'clicks' | 'pages';
export type OrderDir = 'asc' | 'desc';
export type MarkerKind =
  'error' | 'click' | 'navigation' | 'request' | 'custom' | 'rage_click' | 'dead_click' | 'console' | 'input';
export const MARKER_KINDS: MarkerKind[] = [
  'error',
  'click',
  'navigation',
  'request',
  'custom',
  'rage_click',
  'dead_click',
  'console',
  'input',
];

export interface SessionReplayQuery extends DataQuery {
  queryType?: QueryType;
  // sessions + stats
  search?: string;
  hasErrors?: boolean;
  retainedOnly?: boolean;
  adhocFilters?: AdHocFilter[];
  // sessions
  orderBy?: OrderBy;
  orderDir?: OrderDir;
  limit?: number;
  offset?: number;
  // markers
  sessionId?: string;
  kinds?: MarkerKind[];
  // traceSession
  traceId?: string;
}

/** Ad hoc filter keys the backend whitelists; `attributes.<name>` is accepted for any session attribute. */
export const AD_HOC_KEYS = [
  'device',
  'os',
  'browser',
  'country',
  'url',
  'entry_url',
  'user_id',
  'service',
  'duration_ms',
  'clicks',
  'rage_clicks',
  'dead_clicks',
  'errors',
  'pages',
];

export type Protocol = 'native' | 'http';

export interface SessionReplayOptions extends DataSourceJsonData {
  addresses?: string[];
  protocol?: Protocol;
  database?: string;
  username?: string;
  tlsEnabled?: boolean;
  tlsSkipVerify?: boolean;
  dialTimeoutSeconds?: number;
  queryTimeoutSeconds?: number;
  maxRows?: number;
  tracesDatasourceUid?: string;
}

export interface SessionReplaySecureJsonData {
  password?: string;
  tlsCACert?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
}

export const DEFAULT_SETTINGS: Required<
  Pick<
    SessionReplayOptions,
    | 'addresses'
    | 'protocol'
    | 'database'
    | 'username'
    | 'tlsEnabled'
    | 'tlsSkipVerify'
    | 'dialTimeoutSeconds'
    | 'queryTimeoutSeconds'
    | 'maxRows'
    | 'tracesDatasourceUid'
  >
> = {
  addresses: ['127.0.0.1:9000'],
  protocol: 'native',
  database: 'sessionreplay',
  username: 'default',
  tlsEnabled: false,
  tlsSkipVerify: false,
  dialTimeoutSeconds: 10,
  queryTimeoutSeconds: 60,
  maxRows: 10000,
  tracesDatasourceUid: '',
};

export interface TagResult {
  text: string;
}
