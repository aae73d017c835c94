import type { AdHocVariableFilter } from '@grafana/data';

import {
  AD_HOC_OPERATORS,
  type AdHocFilter,
  type AdHocOperator,
  MARKER_KINDS,
  type MarkerKind,
  type OrderBy,
  type QueryType,
  type SessionReplayQuery,
} from './types';

export const DEFAULT_LIMIT = 100;
const QUERY_TYPE_VALUES: QueryType[] = ['sessions', 'stats', 'markers', 'traceSession'];
const ORDER_BY_VALUES: OrderBy[] = ['start', 'duration', 'errors', 'clicks', 'pages'];

export const DEFAULT_QUERY: Partial<SessionReplayQuery> = {
  queryType: 'sessions',
  orderBy: 'start',
  orderDir: 'desc',
  limit: DEFAULT_LIMIT,
  offset: 0,
};

/** Loose shape of queries saved by older versions or typed by hand. */
type LegacyQuery = Partial<SessionReplayQuery> & {
  refId?: string;
  type?: string;
  session_id?: string;
  trace_id?: string;
  filters?: unknown;
  errorsOnly?: boolean;
  query?: string;
};

function toNumber(v: unknown, fallback: number, min = 0): number {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : NaN;
  if (!Number.isFinite(n) || n < min) {
    return fallback;
  }
  return Math.floor(n);
}

function normaliseFilter(f: unknown): AdHocFilter | undefined {
  if (!f || typeof f !== 'object') {
    return undefined;
  }
  const o = f as Record<string, unknown>;
  const key = typeof o.key === 'string' ? o.key.trim() : '';
  if (!key) {
    return undefined;
  }
  const op = (typeof o.operator === 'string' ? o.operator : '=') as AdHocOperator;
  return {
    key,
    operator: AD_HOC_OPERATORS.includes(op) ? op : '=',
    value: o.value == null ? '' : String(o.value),
  };
}

/**
 * Fills defaults and migrates older/hand written query shapes to the contract's query model:
 * `type` -> `queryType`, `session_id`/`trace_id` -> `sessionId`/`traceId`, `filters` -> `adhocFilters`,
 * `errorsOnly` -> `hasErrors`, `query` -> `search`, numeric strings -> numbers.
 */
export function migrateQuery(input: SessionReplayQuery | LegacyQuery): SessionReplayQuery {
  const q = { ...(input as LegacyQuery) };
  const queryTypeRaw = q.queryType ?? q.type;
  const queryType: QueryType = QUERY_TYPE_VALUES.includes(queryTypeRaw as QueryType)
    ? (queryTypeRaw as QueryType)
    : 'sessions';

  const out: SessionReplayQuery = { ...(q as SessionReplayQuery), refId: q.refId ?? 'A', queryType };
  delete (out as LegacyQuery).type;

  if (out.sessionId === undefined && typeof q.session_id === 'string') {
    out.sessionId = q.session_id;
  }
  delete (out as LegacyQuery).session_id;
  if (out.traceId === undefined && typeof q.trace_id === 'string') {
    out.traceId = q.trace_id;
  }
  delete (out as LegacyQuery).trace_id;
  if (out.hasErrors === undefined && typeof q.errorsOnly === 'boolean') {
    out.hasErrors = q.errorsOnly;
  }
  delete (out as LegacyQuery).errorsOnly;
  if (out.search === undefined && typeof q.query === 'string') {
    out.search = q.query;
  }
  delete (out as LegacyQuery).query;

  const rawFilters = q.adhocFilters ?? (Array.isArray(q.filters) ? q.filters : undefined);
  delete (out as LegacyQuery).filters;
  if (Array.isArray(rawFilters)) {
    out.adhocFilters = rawFilters.map(normaliseFilter).filter((f): f is AdHocFilter => Boolean(f));
  }

  if (queryType === 'sessions') {
    out.orderBy = ORDER_BY_VALUES.includes(out.orderBy as OrderBy) ? out.orderBy : 'start';
    out.orderDir = out.orderDir === 'asc' ? 'asc' : 'desc';
    out.limit = toNumber(out.limit, DEFAULT_LIMIT, 1);
    out.offset = toNumber(out.offset, 0, 0);
  }
  if (queryType === 'markers' && Array.isArray(out.kinds)) {
    out.kinds = out.kinds.filter((k): k is MarkerKind => MARKER_KINDS.includes(k));
  }
  return out;
}

/** Maps Grafana's ad hoc filters (dashboard variable) to the contract's filters. */
export function fromGrafanaFilters(filters: AdHocVariableFilter[] | undefined): AdHocFilter[] {
  const out: AdHocFilter[] = [];
  for (const f of filters ?? []) {
    if (!f || !f.key) {
      continue;
    }
    const op = f.operator;
    const multi = (f as AdHocVariableFilter & { values?: string[] }).values;
    if ((op === '=|' || op === '!=|') && Array.isArray(multi) && multi.length > 0) {
      // one-of: expressed as an anchored regex alternation
      const re = `^(${multi.map(escapeRegex).join('|')})$`;
      out.push({ key: f.key, operator: op === '=|' ? '=~' : '!~', value: re });
      continue;
    }
    if (AD_HOC_OPERATORS.includes(op as AdHocOperator)) {
      out.push({ key: f.key, operator: op as AdHocOperator, value: String(f.value ?? '') });
    }
  }
  return out;
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** True when the query has what its type needs to be sent to the backend. */
export function isQueryRunnable(q: SessionReplayQuery): boolean {
  if (q.hide) {
    return false;
  }
  switch (q.queryType ?? 'sessions') {
    case 'markers':
      return Boolean(q.sessionId && q.sessionId.trim());
    case 'traceSession':
      return Boolean(q.traceId && q.traceId.trim());
    default:
      return true;
  }
}
