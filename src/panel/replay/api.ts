import type { DataFrame, PanelData } from '@grafana/data';
import { getBackendSrv, getDataSourceSrv, toDataQueryResponse, type BackendDataSourceResponse } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';

import { DATASOURCE_TYPE } from '../types';

export interface Range {
  from: number;
  to: number;
}

/** Runs one query of our data source through Grafana's query API and returns its frames. */
export async function runQuery(dsUid: string, query: Record<string, unknown>, range: Range): Promise<DataFrame[]> {
  const res = await lastValueFrom(
    getBackendSrv().fetch<BackendDataSourceResponse>({
      url: '/api/ds/query',
      method: 'POST',
      data: {
        queries: [{ refId: 'A', datasource: { uid: dsUid, type: DATASOURCE_TYPE }, ...query }],
        from: String(range.from),
        to: String(range.to),
      },
      showErrorAlert: false,
    })
  );
  const response = toDataQueryResponse(res);
  if (response.error) {
    throw new Error(response.error.message || 'query failed');
  }
  return response.data as DataFrame[];
}

/** Which session replay data source the panel talks to. */
export function resolveDatasourceUid(option: string | undefined, data?: PanelData): string | undefined {
  if (option) {
    return option;
  }
  const fromQuery = data?.request?.targets?.find((t) => t.datasource?.type === DATASOURCE_TYPE)?.datasource?.uid;
  if (fromQuery && !fromQuery.startsWith('$')) {
    return fromQuery;
  }
  try {
    return getDataSourceSrv().getList({ pluginId: DATASOURCE_TYPE })[0]?.uid;
  } catch {
    return undefined;
  }
}

export function tracesDatasourceUid(dsUid: string | undefined): string {
  if (!dsUid) {
    return '';
  }
  try {
    const settings = getDataSourceSrv().getInstanceSettings(dsUid);
    return (settings?.jsonData as { tracesDatasourceUid?: string } | undefined)?.tracesDatasourceUid ?? '';
  } catch {
    return '';
  }
}

/** First non-empty value of a string field in the panel's data (e.g. `session_id`). */
export function firstFieldValue(data: PanelData | undefined, name: string): string | undefined {
  for (const frame of data?.series ?? []) {
    const field = frame.fields.find((f) => f.name === name);
    if (!field) {
      continue;
    }
    for (let i = 0; i < frame.length; i++) {
      const v = field.values[i];
      if (v != null && v !== '') {
        return String(v);
      }
    }
  }
  return undefined;
}

/** Value of a template variable, or undefined when it is not set (Grafana leaves unknown variables as is). */
export function variableValue(replace: (s: string) => string, expr: string | undefined): string | undefined {
  if (!expr) {
    return undefined;
  }
  const v = replace(expr).trim();
  if (!v || v.startsWith('$') || (v === expr.trim() && expr.includes('$'))) {
    return undefined;
  }
  return v;
}
