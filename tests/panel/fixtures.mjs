// Builds replay sessions for the panel test from real rrweb recordings in shared/fixtures/rrweb/, chunked the way
// the receiver stores them (a chunk per N seconds, flagged fullSnapshot when it holds a type-2 event).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURES = process.env.RRWEB_FIXTURES ?? path.resolve(here, '../../../shared/fixtures/rrweb');

export function loadRecording(name) {
  const raw = JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));
  const events = Array.isArray(raw) ? raw : raw.events;
  return events.slice().sort((a, b) => a.timestamp - b.timestamp);
}

/** Splits events in chunks of `seconds`; a full snapshot (with its meta event) always starts a new chunk. */
export function chunkEvents(events, seconds, windowId = 'w1') {
  const chunks = [];
  let cur = null;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const startsSnapshot = e.type === 4 && events[i + 1]?.type === 2;
    const isFull = e.type === 2 && !(events[i - 1]?.type === 4);
    if (!cur || startsSnapshot || isFull || e.timestamp - cur.start >= seconds * 1000) {
      cur = {
        type: 'chunk',
        windowId,
        seq: chunks.length,
        start: e.timestamp,
        end: e.timestamp,
        fullSnapshot: false,
        events: [],
      };
      chunks.push(cur);
    }
    cur.events.push(e);
    cur.end = e.timestamp;
    if (e.type === 2) {
      cur.fullSnapshot = true;
    }
  }
  return chunks;
}

/** A long synthetic session: the recording repeated `times`, timestamps shifted, so it has `times` full snapshots. */
export function repeatRecording(events, times, gapMs = 2000) {
  const first = events[0].timestamp;
  const span = events[events.length - 1].timestamp - first + gapMs;
  const out = [];
  for (let r = 0; r < times; r++) {
    for (const e of events) {
      out.push({ ...e, timestamp: e.timestamp + r * span });
    }
  }
  return out;
}

/** Timeline markers of a recording: navigations (meta events), clicks, plus an error and a traced request. */
export function markersOf(events, { maxClicks = 20 } = {}) {
  const start = events[0].timestamp;
  const end = events[events.length - 1].timestamp;
  const m = [];
  for (const e of events) {
    if (e.type === 4) {
      m.push({
        time: e.timestamp,
        kind: 'navigation',
        name: e.data.href,
        url: e.data.href,
        detail: '',
        trace_id: '',
        span_id: '',
      });
    }
  }
  const clicks = events.filter((e) => e.type === 3 && e.data?.source === 2 && e.data?.type === 2).slice(0, maxClicks);
  for (const e of clicks) {
    m.push({
      time: e.timestamp,
      kind: 'click',
      name: `click #${e.data.id}`,
      url: '',
      detail: '',
      trace_id: '',
      span_id: '',
    });
  }
  const t1 = Math.round(start + (end - start) * 0.35);
  const t2 = Math.round(start + (end - start) * 0.55);
  m.push({
    time: t1,
    kind: 'error',
    name: 'TypeError: x is undefined',
    url: '',
    detail: 'at app.js:1:1',
    trace_id: '',
    span_id: '',
  });
  m.push({
    time: t2,
    kind: 'request',
    name: 'GET /api/items',
    url: '/api/items',
    detail: '200',
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
  });
  m.sort((a, b) => a.time - b.time);
  return m.map((x) => ({ ...x, offset_ms: x.time - start }));
}

/** Grafana data plane JSON of a frame (what /api/ds/query returns). */
export function frameJSON(name, columns) {
  const fields = Object.entries(columns).map(([fname, { type }]) => ({
    name: fname,
    type,
    ...(type === 'time' ? { typeInfo: { frame: 'time.Time' } } : {}),
  }));
  return {
    schema: { name, refId: 'A', fields },
    data: { values: Object.values(columns).map((c) => c.values) },
  };
}
