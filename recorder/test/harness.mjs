// Test harness: a local HTTP server (test pages + OTLP endpoint that captures requests) and Chromium via playwright-core.
import http from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..');
const require = createRequire(import.meta.url);
const rrwebDir = dirname(require.resolve('rrweb')); // the rrweb the Grafana panel replays with

export const SECRETS = ['SECRET-TEXT-4711', 'SECRET-BIO-0815', 'hunter2-PASS-99'];
export const FRAME_TEXT = 'FRAME-CONTENT-XYZ';

const TYPES = { '.js': 'text/javascript', '.cjs': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.map': 'application/json' };

function scriptTag(q) {
  const build = q.get('build') === 'full' ? 'sessionreplay-full.min.js' : 'sessionreplay.min.js';
  const attrs = {
    'data-endpoint': q.get('endpoint') || '',
    'data-service-name': 'recorder-test',
    'data-service-version': '1.2.3',
    'data-environment': 'test',
    'data-flush-interval-ms': q.get('flush') || '1000',
    'data-idle-timeout-ms': q.get('idle') || '',
    'data-checkout-every-ms': q.get('checkout') || '',
    'data-propagate-to-origins': q.get('origins') || '',
    'data-strip-query-string': q.get('strip') || '',
    'data-record-console': q.get('console') || '',
    'data-mask-all-text': q.get('masktext') || '',
    'data-max-buffered-events': q.get('maxbuf') || '',
    'data-mask-placeholder': q.get('placeholder') || '',
  };
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}="${v}"`)
    .join(' ');
  return `<script src="/dist/${build}" ${a}></script>`;
}

const STYLE = `<style>
  html,body{margin:0;padding:0;background:#fff;font:16px/1.3 sans-serif;color:#222}
  main{padding:16px}
  h1{margin:0 0 8px;font-size:24px;color:#1a5fb4}
  .box{display:inline-block;width:120px;height:60px;background:#e66100;margin-right:8px}
  label{display:block;margin:6px 0}
  input,textarea,select{font:14px monospace;width:240px}
  iframe{width:300px;height:100px;border:2px solid #333;display:block;margin-top:8px}
</style>`;

function page1(q) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Page one</title>${STYLE}${scriptTag(q)}</head>
<body><main>
<h1>Recorder test page</h1>
<p id="para">Some visible text on page one.</p>
<div><span class="box"></span><span class="box" style="background:#26a269"></span></div>
<form onsubmit="return false">
  <label>Name <input id="name" type="text" autocomplete="off"></label>
  <label>Bio <textarea id="bio" rows="2"></textarea></label>
  <label>Colour <select id="color"><option value="red">red</option><option value="green">green</option><option value="SECRET-OPTION">secret option</option></select></label>
  <label>Password <input id="pw" type="password"></label>
</form>
<button id="fail" onclick="fetch('/api/fail').catch(()=>{})">fetch failing</button>
<button id="xhr" onclick="var x=new XMLHttpRequest();x.open('GET','/api/xhr');x.send()">xhr</button>
<button id="cors" onclick="fetch(window.OTHER+'/api/cors').catch(()=>{})">cross origin</button>
<button id="throw" onclick="throw new TypeError('boom-uncaught')">throw</button>
<button id="reject" onclick="Promise.reject(new Error('boom-rejected'))">reject</button>
<a id="next" href="/page2.html?${q.toString()}">to page two</a>
<iframe id="frame" src="/frame.html"></iframe>
</main></body></html>`;
}

function page2(q) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Page two</title>${STYLE}${scriptTag(q)}</head>
<body><main><h1>Second page</h1><p>Welcome to page two.</p><a id="back" href="/page1.html?${q.toString()}">back</a></main></body></html>`;
}

/** Starts the server on 127.0.0.1 (random port). Captured requests: server.logs, server.traces, server.api. */
export async function startServer() {
  const state = { logs: [], traces: [], api: [], failLogs: 0 };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const cors = {
        'Access-Control-Allow-Origin': req.headers.origin || '*',
        'Access-Control-Allow-Headers': 'content-type, baggage, traceparent, tracestate',
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
      };
      if (req.method === 'OPTIONS') {
        res.writeHead(204, cors);
        return res.end();
      }
      const p = url.pathname;
      if (p === '/v1/logs' || p === '/v1/traces') {
        if (p === '/v1/logs' && state.failLogs > 0) {
          state.failLogs--;
          res.writeHead(503, { ...cors, 'Retry-After': '1' });
          return res.end();
        }
        const entry = { path: p, headers: req.headers, raw: body, json: JSON.parse(body.toString('utf8')), at: Date.now() };
        (p === '/v1/logs' ? state.logs : state.traces).push(entry);
        res.writeHead(200, { ...cors, 'Content-Type': 'application/json' });
        return res.end('{}');
      }
      if (p.startsWith('/api/')) {
        state.api.push({ path: p, headers: req.headers, host: req.headers.host });
        res.writeHead(p === '/api/fail' ? 500 : 200, { ...cors, 'Content-Type': 'application/json' });
        return res.end(p === '/api/fail' ? '{"error":"boom"}' : '{"ok":true}');
      }
      const q = url.searchParams;
      if (!q.get('endpoint')) q.set('endpoint', `http://${req.headers.host}`);
      const html = (s) => {
        const h = { 'Content-Type': 'text/html; charset=utf-8' };
        if (q.get('csp')) h['Content-Security-Policy'] = "worker-src 'none'";
        res.writeHead(200, h);
        res.end(s);
      };
      if (p === '/page1.html') return html(page1(q));
      if (p === '/page2.html') return html(page2(q));
      if (p === '/frame.html') return html(`<!doctype html><body style="margin:0;background:#ffd"><p>${FRAME_TEXT}</p></body>`);
      if (p === '/replay.html')
        return html(`<!doctype html><html><head><link rel="stylesheet" href="/vendor/style.css">
<style>html,body{margin:0;padding:0;background:#fff}.replayer-mouse,.replayer-mouse-tail{display:none!important}
.replayer-wrapper{position:relative}.replayer-wrapper iframe{border:0}</style>
<script src="/vendor/rrweb.umd.min.cjs"></script></head><body><div id="root"></div></body></html>`);
      if (p === '/blank.html') return html('<!doctype html><html><head></head><body></body></html>');
      let file;
      if (p.startsWith('/dist/')) file = join(root, p);
      else if (p.startsWith('/vendor/')) file = join(rrwebDir, p.slice('/vendor/'.length));
      else if (p.startsWith('/bench/')) file = join(root, 'dist', p);
      if (file && existsSync(file)) {
        res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream' });
        return res.end(readFileSync(file));
      }
      res.writeHead(404);
      res.end('not found');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    ...state,
    state,
    port,
    origin: `http://127.0.0.1:${port}`,
    otherOrigin: `http://localhost:${port}`,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

export async function launch() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

// ---------------------------------------------------------------- OTLP decoding

export function attrMap(list = []) {
  const out = {};
  for (const { key, value } of list) out[key] = anyValue(value);
  return out;
}

export function anyValue(v) {
  if (!v) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('bytesValue' in v) return v.bytesValue;
  if ('arrayValue' in v) return (v.arrayValue.values || []).map(anyValue);
  return undefined;
}

/** All log records of the captured /v1/logs requests, with decoded attributes and resource. */
export function logRecords(logs) {
  const out = [];
  for (const req of logs)
    for (const rl of req.json.resourceLogs || [])
      for (const sl of rl.scopeLogs || [])
        for (const lr of sl.logRecords || [])
          out.push({ ...lr, attrs: attrMap(lr.attributes), resource: attrMap(rl.resource?.attributes), request: req });
  return out;
}

/** Decodes a session_replay.chunk record's body into its rrweb events. */
export function chunkEvents(rec) {
  const enc = rec.attrs['session_replay.encoding'];
  if (enc === 'gzip') return JSON.parse(gunzipSync(Buffer.from(rec.body.bytesValue, 'base64')).toString('utf8'));
  return JSON.parse(rec.body.stringValue);
}

export function chunks(logs) {
  return logRecords(logs)
    .filter((r) => r.eventName === 'session_replay.chunk')
    .map((r) => ({ ...r, events: chunkEvents(r) }));
}

/** Every captured body, decompressed, as one string (to search for leaked secrets). */
export function allText(logs) {
  let s = '';
  for (const req of logs) {
    s += req.raw.toString('utf8');
    for (const r of logRecords([req]))
      if (r.eventName === 'session_replay.chunk') s += JSON.stringify(chunkEvents(r));
  }
  return s;
}

export async function waitFor(fn, timeoutMs = 10_000, stepMs = 100) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting for condition: ' + fn.toString().slice(0, 200));
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
