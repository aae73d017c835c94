import type { Marker } from './types';

/** What the event list, the console and the network panels show for one marker. Text is shown as stored: the
 * recorder and the receiver mask it before it reaches ClickHouse, the panel never unmasks or re-derives it. */
export interface MarkerText {
  /** The one line of the event list, e.g. `button#pay.btn "Pay"`, `POST /api/checkout 502 · 130 ms`. */
  label: string;
  /** Longer text for a tooltip (a stack, a full URL). */
  title: string;
}

export interface RequestInfo {
  method: string;
  path: string;
  status: string;
  durationMs?: number;
  /** A 4xx/5xx status, or no status at all (a network failure). */
  failed: boolean;
}

export interface ConsoleInfo {
  level: string;
  message: string;
}

const CLICK_KINDS = new Set(['click', 'rage_click', 'dead_click']);

function parseDetail(detail: string): Record<string, unknown> | undefined {
  if (!detail || detail[0] !== '{') {
    return undefined;
  }
  try {
    const v = JSON.parse(detail);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Path (and query) of a URL; the input as is when it is not an absolute URL. */
export function urlPath(url: string): string {
  if (!url) {
    return '';
  }
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}

/** Target label of a click from its detail's `target` (tag#id.class "text"), for backends that store no name. */
function targetLabel(detail: Record<string, unknown> | undefined): string {
  const t = detail?.target as { tag?: string; id?: string; classes?: string[]; text?: string } | undefined;
  if (!t || !t.tag) {
    return '';
  }
  let s = t.tag;
  if (t.id) {
    s += `#${t.id}`;
  }
  for (const c of t.classes ?? []) {
    s += `.${c}`;
  }
  if (t.text) {
    s += ` "${t.text}"`;
  }
  return s;
}

export function requestInfo(m: Marker): RequestInfo {
  const d = parseDetail(m.detail);
  const method = String(d?.method ?? '') || m.name.split(' ')[0] || '';
  const status = d?.status !== undefined && d.status !== null ? String(d.status) : '';
  const duration = Number(d?.duration_ms);
  const path = urlPath(m.url) || m.name.replace(/^[A-Z]+\s+/, '');
  const code = Number(status);
  return {
    method: method.toUpperCase(),
    path,
    status,
    durationMs: Number.isFinite(duration) ? duration : undefined,
    failed: status === '' || status === '0' || (Number.isFinite(code) && code >= 400),
  };
}

export function consoleInfo(m: Marker): ConsoleInfo {
  const d = parseDetail(m.detail);
  return { level: String(d?.level ?? m.name ?? 'log'), message: String(d?.message ?? (d ? '' : m.detail)) };
}

/** The text of a marker, by kind. */
export function describeMarker(m: Marker): MarkerText {
  const d = parseDetail(m.detail);
  if (CLICK_KINDS.has(m.kind)) {
    const name = m.name && m.name !== 'click' && m.name !== m.kind ? m.name : '';
    const label = name || targetLabel(d) || 'click';
    return { label, title: label };
  }
  switch (m.kind) {
    case 'navigation':
      return { label: urlPath(m.url || m.name) || m.name, title: m.url || m.name };
    case 'error': {
      const message = String(d?.message ?? m.detail ?? '');
      const firstLine = message.split('\n')[0];
      // a failed request's error span is named by its method alone ("POST"): say which request
      const name = /^[A-Z]+$/.test(m.name) && m.url ? `${m.name} ${urlPath(m.url)}` : m.name;
      const label = firstLine && !name.includes(firstLine) ? `${name}: ${firstLine}` : name || firstLine;
      return { label, title: [m.name, message].filter(Boolean).join('\n') };
    }
    case 'request': {
      const r = requestInfo(m);
      const parts = [`${r.method} ${r.path}`.trim(), r.status || 'failed'];
      if (r.durationMs !== undefined) {
        parts.push(`${r.durationMs} ms`);
      }
      return { label: parts.join(' · '), title: `${r.method} ${m.url || r.path}` };
    }
    case 'console': {
      const c = consoleInfo(m);
      return { label: `${c.level}: ${c.message}`, title: c.message };
    }
    default:
      return { label: m.name || m.url || m.kind, title: m.detail || m.name || m.url };
  }
}
