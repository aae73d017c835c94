import {
  type AdHocVariableFilter,
  CoreApp,
  type DataFrame,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  type MetricFindValue,
  type ScopedVars,
  StandardVariableSupport,
  type StandardVariableQuery,
  type TimeRange,
  type DataSourceGetTagKeysOptions,
  type DataSourceGetTagValuesOptions,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv, type TemplateSrv } from '@grafana/runtime';
import { lastValueFrom, type Observable } from 'rxjs';

import { DEFAULT_QUERY, fromGrafanaFilters, isQueryRunnable, migrateQuery } from './query';
import type { AdHocFilter, SessionReplayOptions, SessionReplayQuery, TagResult } from './types';

/** Lets a dashboard variable (e.g. `$session`) be filled from any query type; defaults to a sessions query. */
export class SessionReplayVariableSupport extends StandardVariableSupport<DataSource> {
  toDataQuery(query: StandardVariableQuery): SessionReplayQuery {
    const q = query as unknown as SessionReplayQuery;
    return migrateQuery({ ...DEFAULT_QUERY, ...q, refId: q.refId ?? 'variable' });
  }
}

export class DataSource extends DataSourceWithBackend<SessionReplayQuery, SessionReplayOptions> {
  readonly tracesDatasourceUid: string;

  constructor(
    instanceSettings: DataSourceInstanceSettings<SessionReplayOptions>,
    private readonly templateSrv: TemplateSrv = getTemplateSrv()
  ) {
    super(instanceSettings);
    this.tracesDatasourceUid = instanceSettings.jsonData?.tracesDatasourceUid ?? '';
    this.variables = new SessionReplayVariableSupport();
  }

  getDefaultQuery(_app: CoreApp): Partial<SessionReplayQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(query: SessionReplayQuery): boolean {
    return isQueryRunnable(migrateQuery(query));
  }

  query(request: DataQueryRequest<SessionReplayQuery>): Observable<DataQueryResponse> {
    return super.query({ ...request, targets: request.targets.map((t) => migrateQuery(t)) });
  }

  /**
   * Replaces template variables in every text field (search, sessionId, traceId, filter keys and values) and puts
   * the dashboard's ad hoc filters into `adhocFilters`.
   */
  applyTemplateVariables(
    query: SessionReplayQuery,
    scopedVars: ScopedVars,
    filters?: AdHocVariableFilter[]
  ): SessionReplayQuery {
    const q = migrateQuery(query);
    const replace = (v: string | undefined, format?: string) =>
      v === undefined ? undefined : this.templateSrv.replace(v, scopedVars, format);

    const own: AdHocFilter[] = (q.adhocFilters ?? []).map((f) => ({
      key: replace(f.key) ?? '',
      operator: f.operator,
      value: replace(f.value, f.operator === '=~' || f.operator === '!~' ? 'regex' : undefined) ?? '',
    }));
    const dashboardFilters = fromGrafanaFilters(filters ?? this.legacyAdhocFilters());
    const adhocFilters = [...own, ...dashboardFilters].filter((f) => f.key);

    const out: SessionReplayQuery = { ...q };
    if (q.search !== undefined) {
      out.search = replace(q.search);
    }
    if (q.sessionId !== undefined) {
      out.sessionId = replace(q.sessionId);
    }
    if (q.traceId !== undefined) {
      out.traceId = replace(q.traceId);
    }
    if (adhocFilters.length > 0 || q.adhocFilters !== undefined) {
      out.adhocFilters = adhocFilters;
    }
    return out;
  }

  /** Older Grafana versions don't pass `filters` to applyTemplateVariables. */
  private legacyAdhocFilters(): AdHocVariableFilter[] {
    const srv = this.templateSrv as TemplateSrv & { getAdhocFilters?: (name: string) => AdHocVariableFilter[] };
    try {
      return srv.getAdhocFilters ? srv.getAdhocFilters(this.name) ?? [] : [];
    } catch {
      return [];
    }
  }

  /** Ad hoc filter keys from the backend resource `tag-keys`. */
  async getTagKeys(_options?: DataSourceGetTagKeysOptions<SessionReplayQuery>): Promise<MetricFindValue[]> {
    const res = await this.getResource<TagResult[]>('tag-keys');
    return (res ?? []).map((r) => ({ text: r.text }));
  }

  /** Ad hoc filter values for one key, in the dashboard's time range. */
  async getTagValues(options: DataSourceGetTagValuesOptions<SessionReplayQuery>): Promise<MetricFindValue[]> {
    const params: Record<string, string | number> = { key: options.key };
    const range = options.timeRange;
    if (range) {
      params.from = range.from.valueOf();
      params.to = range.to.valueOf();
    }
    const res = await this.getResource<TagResult[]>('tag-values', params);
    return (res ?? []).map((r) => ({ text: r.text }));
  }

  /**
   * Legacy variable support: `query` is a SessionReplayQuery (or a search string for a sessions query).
   * Returns the session ids (sessions / traceSession), marker names, or nothing for stats.
   */
  async metricFindQuery(
    query: SessionReplayQuery | string,
    options?: { range?: TimeRange; scopedVars?: ScopedVars }
  ): Promise<MetricFindValue[]> {
    const target = migrateQuery(
      typeof query === 'string'
        ? { ...DEFAULT_QUERY, refId: 'metricFind', search: query }
        : { ...DEFAULT_QUERY, ...query, refId: query.refId ?? 'metricFind' }
    );
    if (!isQueryRunnable(target)) {
      return [];
    }
    const request = {
      targets: [target],
      range: options?.range,
      scopedVars: options?.scopedVars ?? {},
    } as unknown as DataQueryRequest<SessionReplayQuery>;
    const response = await lastValueFrom(this.query(request));
    return framesToValues((response.data ?? []) as DataFrame[], target);
  }

  /** The URL of a backend resource (for native fetch, e.g. the NDJSON replay stream). */
  resourceUrl(path: string): string {
    return `/api/datasources/uid/${this.uid}/resources/${path}`;
  }
}

export function framesToValues(frames: DataFrame[], q: SessionReplayQuery): MetricFindValue[] {
  const out: MetricFindValue[] = [];
  const seen = new Set<string>();
  const fieldName = q.queryType === 'markers' ? 'name' : q.queryType === 'stats' ? '' : 'session_id';
  for (const frame of frames) {
    const field = frame.fields.find((f) => f.name === fieldName);
    if (!field) {
      continue;
    }
    for (let i = 0; i < frame.length; i++) {
      const v = field.values[i];
      if (v == null || v === '') {
        continue;
      }
      const text = String(v);
      if (!seen.has(text)) {
        seen.add(text);
        out.push({ text, value: text });
      }
    }
  }
  return out;
}
