import type { DataFrame, Field } from '@grafana/data';

import type { Marker } from './types';

function fieldValues(frame: DataFrame, name: string): unknown[] | undefined {
  const f: Field | undefined = frame.fields.find((x) => x.name === name);
  return f ? (f.values as unknown[]) : undefined;
}

function toMs(v: unknown): number {
  if (typeof v === 'number') {
    return v;
  }
  if (v instanceof Date) {
    return v.getTime();
  }
  if (typeof v === 'string') {
    const n = Number(v);
    return Number.isFinite(n) ? n : Date.parse(v);
  }
  return NaN;
}

/** Converts the `markers` frame(s) of the data source into markers sorted by time. */
export function framesToMarkers(frames: DataFrame[]): Marker[] {
  const out: Marker[] = [];
  for (const frame of frames) {
    const time = fieldValues(frame, 'time');
    const kind = fieldValues(frame, 'kind');
    if (!time || !kind) {
      continue;
    }
    const offset = fieldValues(frame, 'offset_ms');
    const name = fieldValues(frame, 'name');
    const url = fieldValues(frame, 'url');
    const detail = fieldValues(frame, 'detail');
    const traceId = fieldValues(frame, 'trace_id');
    const spanId = fieldValues(frame, 'span_id');
    for (let i = 0; i < frame.length; i++) {
      const t = toMs(time[i]);
      if (!Number.isFinite(t)) {
        continue;
      }
      out.push({
        time: t,
        offsetMs: Number(offset?.[i] ?? 0),
        kind: String(kind[i] ?? ''),
        name: String(name?.[i] ?? ''),
        url: String(url?.[i] ?? ''),
        detail: String(detail?.[i] ?? ''),
        traceId: String(traceId?.[i] ?? ''),
        spanId: String(spanId?.[i] ?? ''),
      });
    }
  }
  return out.sort((a, b) => a.time - b.time);
}

/** Marker colour per kind: errors red, clicks blue, navigations green, requests purple. */
export function markerColor(
  kind: string,
  theme: {
    colors: { error: { main: string }; text: { secondary: string } };
    visualization: { getColorByName(n: string): string };
  }
): string {
  switch (kind) {
    case 'error':
      return theme.colors.error.main;
    case 'click':
    case 'rage_click':
      return theme.visualization.getColorByName(kind === 'rage_click' ? 'orange' : 'blue');
    case 'navigation':
      return theme.visualization.getColorByName('green');
    case 'request':
      return theme.visualization.getColorByName('purple');
    case 'input':
      return theme.visualization.getColorByName('yellow');
    case 'dead_click':
      return theme.visualization.getColorByName('dark-orange');
    case 'console':
      return theme.visualization.getColorByName('semi-dark-yellow');
    default:
      return theme.colors.text.secondary;
  }
}

/** Parses a time given as unix ms, unix seconds, or an ISO date; undefined when empty or unparsable. */
export function parseTime(v: string | null | undefined): number | undefined {
  if (v == null) {
    return undefined;
  }
  const s = v.trim();
  if (!s || s.startsWith('$')) {
    return undefined;
  }
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    return n < 1e11 ? Math.round(n * 1000) : Math.round(n);
  }
  const d = Date.parse(s);
  return Number.isFinite(d) ? d : undefined;
}

/** Explore URL that opens a trace in the traces data source. */
export function traceExploreUrl(tracesUid: string, traceId: string, range?: { from: number; to: number }): string {
  const pane = {
    datasource: tracesUid,
    queries: [{ refId: 'A', datasource: { uid: tracesUid }, queryType: 'traceql', query: traceId }],
    range: range ? { from: String(range.from), to: String(range.to) } : { from: 'now-1h', to: 'now' },
  };
  return `/explore?schemaVersion=1&panes=${encodeURIComponent(JSON.stringify({ replay: pane }))}&orgId=1`;
}

export function formatOffset(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    ms = 0;
  }
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
