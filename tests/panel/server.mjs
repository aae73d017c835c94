// Small local server for the panel test: serves the harness pages, the data source's resource API
// (`sessions/<id>/replay?from=` as streamed NDJSON) and `/api/ds/query` (markers, sessions, traceSession) from real
// rrweb recordings. It honours `from` by starting at the nearest full snapshot chunk at or before it, and records
// which chunks it sent for every replay request. A session with `tracks` (several windows recording at once, as an
// iframe that loads the SDK does) lists them in the meta line and streams only the track of `?track=` (default 0).
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { fileURLToPath } from 'node:url';

import { chunkEvents, frameJSON, loadRecording, markersOf, repeatRecording } from './fixtures.mjs';

const uiIcons = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../node_modules/@grafana/ui/dist/public/img/icons'
);

export function buildSessions() {
  const demo = loadRecording('rrweb-player-demo-demoit.events.json');
  const long = repeatRecording(demo, 6);
  // the top page (demoit) and, from 0.5 s on, a second document recording at the same time (a codesandbox page, as
  // a same-origin iframe with the SDK would): two windows whose node ids collide, so two tracks
  const steel = loadRecording('steel-codesandbox.events.json');
  const shift = demo[0].timestamp + 500 - steel[0].timestamp;
  const frame = steel.map((e) => ({ ...e, timestamp: e.timestamp + shift }));
  const sessions = {
    demoit: { events: demo, chunks: chunkEvents(demo, 5), markers: markersOf(demo) },
    long: { events: long, chunks: chunkEvents(long, 10), markers: markersOf(long, { maxClicks: 5 }) },
    // the frame's recording alone, for the reference page
    framedoc: { events: frame, chunks: chunkEvents(frame, 5, 'frame'), markers: [] },
    twodocs: {
      events: demo,
      markers: markersOf(demo),
      tracks: [
        { windowIds: ['top'], chunks: chunkEvents(demo, 5, 'top') },
        { windowIds: ['frame'], chunks: chunkEvents(frame, 5, 'frame') },
      ],
    },
  };
  // the same recording with what the receiver stores once the ingest side names things: clicks by their target,
  // a dead click, console messages, requests from client spans (one failing) linked to their traces
  sessions.signals = { events: demo, chunks: chunkEvents(demo, 5), markers: signalMarkers(demo) };
  // a session still being recorded: shifted so that a quarter of it lies in the past when the server starts; a chunk
  // is served once its recorded end has passed on the wall clock, as chunks land in ClickHouse
  const liveShift = Date.now() - (demo[0].timestamp + (demo.at(-1).timestamp - demo[0].timestamp) / 4);
  const liveEvents = demo.map((e) => ({ ...e, timestamp: e.timestamp + liveShift }));
  // the same recording with 30 s of nobody doing anything in the middle (an inactive stretch on the timeline)
  const mid = demo[Math.floor(demo.length / 2)].timestamp;
  const idle = demo.map((e) => (e.timestamp > mid ? { ...e, timestamp: e.timestamp + 30_000 } : e));
  sessions.idle = { events: idle, chunks: chunkEvents(idle, 5), markers: [] };
  sessions.live = { events: liveEvents, chunks: chunkEvents(liveEvents, 5), markers: [], live: true };
  for (const [id, s] of Object.entries(sessions)) {
    s.id = id;
    s.start = Math.min(s.events[0].timestamp, ...(s.tracks ?? []).map((t) => t.chunks[0].start));
    s.end = Math.max(s.events[s.events.length - 1].timestamp, ...(s.tracks ?? []).map((t) => t.chunks.at(-1).end));
    s.chunks ??= s.tracks[0].chunks;
  }
  return sessions;
}

/** The meta line's track list of a session with tracks (docs/plugin-api.md). */
function tracksMeta(s) {
  return s.tracks.map((t, index) => ({
    index,
    windowIds: t.windowIds,
    start: t.chunks[0].start,
    end: t.chunks.at(-1).end,
    url: t.chunks[0].events.find((e) => e.type === 4)?.data?.href,
  }));
}

/** Index of the chunk to start at: the last full-snapshot chunk starting at or before `from`. */
export function startChunk(chunks, from) {
  if (from === undefined) {
    return 0;
  }
  let idx = chunks.findIndex((c) => c.fullSnapshot);
  for (let i = 0; i < chunks.length; i++) {
    if (chunks[i].fullSnapshot && chunks[i].start <= from) {
      idx = i;
    }
  }
  return Math.max(0, idx);
}

/** Sessions of the test server, by id, from events: chunked like the receiver stores them. */
export function sessionsFrom(byId, chunkSeconds = 5) {
  const out = {};
  for (const [id, events] of Object.entries(byId)) {
    out[id] = { id, events, chunks: chunkEvents(events, chunkSeconds), markers: markersOf(events, { maxClicks: 5 }) };
    out[id].start = events[0].timestamp;
    out[id].end = events[events.length - 1].timestamp;
  }
  return out;
}

export async function startServer({ bundleDir, chunkDelayMs = 15, extraSessions = {} }) {
  const sessions = { ...buildSessions(), ...extraSessions };
  // For the replay benchmark: answer as a store without seek support would, from the session's start.
  let ignoreFrom = false;
  const log = [];
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const page = (script) =>
    `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/${script}.css"></head>` +
    `<body style="margin:0"><div id="root"></div><script type="module" src="/${script}.js"></script></body></html>`;

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (url.pathname === '/' || url.pathname === '/harness.html') {
        res.writeHead(200, { 'Content-Type': 'text/html' }).end(page('harness'));
        return;
      }
      if (url.pathname === '/reference.html') {
        res.writeHead(200, { 'Content-Type': 'text/html' }).end(page('reference'));
        return;
      }
      const asset = url.pathname.match(/^\/(harness|reference)\.(js|css)$/);
      if (asset) {
        const type = asset[2] === 'js' ? 'text/javascript' : 'text/css';
        res.writeHead(200, { 'Content-Type': type }).end(readFileSync(path.join(bundleDir, `${asset[1]}.${asset[2]}`)));
        return;
      }
      const icon = url.pathname.match(/^\/public\/build\/img\/icons\/([\w-]+)\/([\w-]+)\.svg$/);
      if (icon) {
        try {
          const file = path.join(uiIcons, icon[1], `${icon[2]}.svg`);
          res.writeHead(200, { 'Content-Type': 'image/svg+xml' }).end(readFileSync(file));
        } catch {
          res.writeHead(404).end();
        }
        return;
      }
      const rec = url.pathname.match(/^\/recording\/(\w+)$/);
      if (rec && sessions[rec[1]]) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(sessions[rec[1]].events));
        return;
      }
      if (url.pathname === '/__ignore-from') {
        ignoreFrom = url.searchParams.get('on') === '1';
        res.writeHead(204).end();
        return;
      }
      if (url.pathname === '/__log') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(log));
        return;
      }
      const replay = url.pathname.match(/^\/api\/datasources\/uid\/([^/]+)\/resources\/sessions\/([^/]+)\/replay$/);
      if (replay) {
        const s = sessions[decodeURIComponent(replay[2])];
        if (!s) {
          res
            .writeHead(404, { 'Content-Type': 'application/json' })
            .end(JSON.stringify({ message: 'session not found' }));
          return;
        }
        const fromParam = url.searchParams.get('from');
        const from = fromParam === null || ignoreFrom ? undefined : Number(fromParam);
        const track = Number(url.searchParams.get('track') ?? 0);
        const chunks = s.tracks ? s.tracks[track]?.chunks : track === 0 ? s.chunks : undefined;
        if (!chunks) {
          res
            .writeHead(404, { 'Content-Type': 'application/json' })
            .end(JSON.stringify({ error: `no track ${track}` }));
          return;
        }
        const afterParam = url.searchParams.get('after');
        const after = afterParam === null ? undefined : Number(afterParam);
        // a live session serves the chunks that have landed; `after`: those starting at or after it (no snapshot)
        const landed = s.live ? chunks.filter((c) => c.end <= Date.now()) : chunks;
        const first = after !== undefined ? landed.findIndex((c) => c.start >= after) : startChunk(landed, from);
        const entry = { session: s.id, from: from ?? null, after: after ?? null, track, sent: [] };
        log.push(entry);
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
        const end = s.live ? (landed.at(-1)?.end ?? s.start) : s.end;
        const streamFrom = first >= 0 ? landed[first].start : after;
        const meta = { type: 'meta', sessionId: s.id, start: s.start, end, from: streamFrom };
        if (s.tracks) {
          Object.assign(meta, { track, tracks: tracksMeta(s) });
        }
        res.write(JSON.stringify(meta) + '\n');
        let closed = false;
        req.on('close', () => (closed = true));
        for (let i = Math.max(first, 0); first >= 0 && i < landed.length && !closed; i++) {
          const c = landed[i];
          const line = JSON.stringify(c) + '\n';
          entry.sent.push({
            windowId: c.windowId,
            seq: c.seq,
            start: c.start,
            end: c.end,
            fullSnapshot: c.fullSnapshot,
            bytes: Buffer.byteLength(line),
          });
          // wait for the socket to drain: the client reads progressively, so does the server
          if (!res.write(line)) {
            await new Promise((r) => res.once('drain', r));
          }
          await sleep(chunkDelayMs);
        }
        res.end();
        return;
      }
      if (url.pathname === '/api/ds/query' && req.method === 'POST') {
        let body = '';
        for await (const piece of req) {
          body += piece;
        }
        const { queries } = JSON.parse(body);
        const results = {};
        for (const q of queries) {
          results[q.refId] = { status: 200, frames: [queryFrame(sessions, q)] };
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ results }));
        return;
      }
      res.writeHead(404).end('not found');
    } catch (e) {
      if (!res.headersSent) {
        res.writeHead(500).end(String(e));
      } else {
        res.end();
      }
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    sessions,
    log,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(r);
      }),
  };
}

/** Markers as the receiver stores them for the ingest side of issue 17 (pkg/store/model.go kinds). */
function signalMarkers(events) {
  const start = events[0].timestamp;
  const end = events[events.length - 1].timestamp;
  const at = (f) => Math.round(start + (end - start) * f);
  const m = [
    {
      time: at(0.1),
      kind: 'click',
      name: 'button#pay.btn "Pay"',
      detail: JSON.stringify({
        id: 12,
        x: 40,
        y: 30,
        target: { tag: 'button', id: 'pay', classes: ['btn'], text: 'Pay' },
      }),
    },
    {
      time: at(0.12),
      kind: 'request',
      name: 'HTTP POST',
      url: 'http://127.0.0.1:8080/api/checkout',
      detail: '{"method":"POST","status":"502","duration_ms":131}',
      trace_id: '5b8efff798038103d269b633813fc60c',
      span_id: 'eee19b7ec3c1b174',
    },
    {
      time: at(0.13),
      kind: 'console',
      name: 'error',
      detail: '{"level":"error","message":"checkout failed: 502 Bad Gateway"}',
    },
    { time: at(0.14), kind: 'error', name: 'Error', detail: 'checkout failed: 502\n    at pay (shop.js:10:5)' },
    {
      time: at(0.3),
      kind: 'dead_click',
      name: 'span.badge "Free shipping"',
      detail: JSON.stringify({
        id: 30,
        x: 5,
        y: 6,
        target: { tag: 'span', id: '', classes: ['badge'], text: 'Free shipping' },
      }),
    },
    {
      time: at(0.35),
      kind: 'console',
      name: 'warn',
      detail: '{"level":"warn","message":"card ****** is about to expire"}',
    },
    {
      time: at(0.5),
      kind: 'request',
      name: 'HTTP GET',
      url: 'http://127.0.0.1:8080/api/items?page=2',
      detail: '{"method":"GET","status":"200","duration_ms":12}',
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
    },
    { time: at(0.6), kind: 'error', name: 'TypeError', detail: 'x is undefined' },
  ];
  for (const e of events) {
    if (e.type === 4) {
      m.push({ time: e.timestamp, kind: 'navigation', name: 'navigation', url: e.data.href });
    }
  }
  return m
    .map((x) => ({ url: '', detail: '', trace_id: '', span_id: '', ...x, offset_ms: x.time - start }))
    .sort((a, b) => a.time - b.time);
}

function queryFrame(sessions, q) {
  if (q.queryType === 'session') {
    const s = sessions[q.sessionId];
    const row = (v) => (s ? [v] : []);
    const urls = s ? [...new Set(s.events.filter((e) => e.type === 4).map((e) => e.data.href))] : [];
    return frameJSON('session', {
      session_id: { type: 'string', values: row(q.sessionId) },
      start: { type: 'time', values: row(s?.start) },
      end: { type: 'time', values: row(s?.end) },
      user_id: { type: 'string', values: row('alice@example.com') },
      device: { type: 'string', values: row('desktop') },
      os: { type: 'string', values: row('Linux') },
      browser: { type: 'string', values: row('Chromium') },
      country: { type: 'string', values: row('FR') },
      entry_url: { type: 'string', values: row(urls[0] ?? '') },
      urls: { type: 'string', values: row(urls.join('\n')) },
    });
  }
  if (q.queryType === 'markers') {
    const m = sessions[q.sessionId]?.markers ?? [];
    const col = (k, type) => ({ type, values: m.map((x) => x[k]) });
    return frameJSON('markers', {
      time: col('time', 'time'),
      offset_ms: col('offset_ms', 'number'),
      kind: col('kind', 'string'),
      name: col('name', 'string'),
      url: col('url', 'string'),
      detail: col('detail', 'string'),
      trace_id: col('trace_id', 'string'),
      span_id: col('span_id', 'string'),
    });
  }
  if (q.queryType === 'traceSession') {
    const s = sessions.long;
    const span = s.start + Math.round((s.end - s.start) * 0.7);
    return frameJSON('trace_session', {
      trace_id: { type: 'string', values: [q.traceId] },
      session_id: { type: 'string', values: [s.id] },
      session_start: { type: 'time', values: [s.start] },
      session_end: { type: 'time', values: [s.end] },
      span_time: { type: 'time', values: [span] },
      offset_ms: { type: 'number', values: [span - s.start] },
    });
  }
  const list = Object.values(sessions);
  return frameJSON('sessions', {
    session_id: { type: 'string', values: list.map((s) => s.id) },
    start: { type: 'time', values: list.map((s) => s.start) },
    end: { type: 'time', values: list.map((s) => s.end) },
    entry_url: { type: 'string', values: list.map(() => 'https://demoit.app/') },
  });
}
