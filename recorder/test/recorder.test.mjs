// End-to-end tests of the recorder in real Chromium (Debian /usr/bin/chromium driven by playwright-core).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, chunks, logRecords, allText, waitFor, SECRETS, FRAME_TEXT } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

function walk(node, fn) {
  fn(node);
  for (const c of node.childNodes || []) walk(c, fn);
}

test('core build: replayable chunks, masking, blocking, sessions across pages, errors, baggage, custom events', async () => {
  const ctx = await browser.newContext({ viewport: { width: 800, height: 600 } });
  const page = await ctx.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const q = `origins=${encodeURIComponent(server.otherOrigin)}`;
  await page.goto(`${server.origin}/page1.html?${q}`);
  await page.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  const sid = await page.evaluate(() => window.SessionReplay.getSessionId());
  assert.match(sid, /^[0-9a-f]{32}$/);

  await page.click('#name');
  await page.keyboard.type(SECRETS[0], { delay: 5 });
  await page.fill('#bio', SECRETS[1]);
  await page.selectOption('#color', 'SECRET-OPTION');
  await page.click('#pw');
  await page.keyboard.type(SECRETS[2]);
  await page.mouse.move(50, 50);
  await page.mouse.move(300, 200, { steps: 10 });
  await page.click('#fail');
  await page.click('#xhr');
  await page.evaluate((o) => (window.OTHER = o), server.otherOrigin);
  await page.click('#cors');
  await page.click('#throw');
  await page.click('#reject');
  await page.evaluate(() => {
    window.SessionReplay.identify('user-42', { 'user.plan': 'gold' });
    window.SessionReplay.track('checkout', { 'cart.items': 3 });
    console.error('console-err-marker');
  });
  await waitFor(() => server.api.length >= 3);
  await page.evaluate(() => window.SessionReplay.flush());
  const page1Chunks = chunks(server.logs).length;
  assert.ok(page1Chunks >= 1, 'chunks shipped from page 1');

  // navigate to page two in the same tab: pagehide sends the rest with keepalive
  await page.click('#next');
  await page.waitForURL(/page2/);
  await page.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  assert.equal(await page.evaluate(() => window.SessionReplay.getSessionId()), sid, 'same session on page 2');
  await page.mouse.move(100, 100);
  await page.evaluate(() => window.SessionReplay.flush());
  await waitFor(() => chunks(server.logs).some((c) => c.attrs['url.full'].includes('page2') && c.attrs['session_replay.full_snapshot']));

  // a second tab of the same site: same session, another window id
  const page2 = await ctx.newPage();
  await page2.goto(`${server.origin}/page2.html?${q}`);
  await page2.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  assert.equal(await page2.evaluate(() => window.SessionReplay.getSessionId()), sid, 'same session in a second tab');
  await page2.evaluate(() => window.SessionReplay.flush());
  await ctx.close();

  const all = chunks(server.logs);
  // request format
  for (const req of server.logs) assert.equal(req.headers['content-type'], 'application/json');
  for (const c of all) {
    assert.equal(c.eventName, 'session_replay.chunk');
    assert.equal(c.attrs['event.name'], 'session_replay.chunk');
    assert.equal(c.attrs['session.id'], sid);
    for (const k of ['session_replay.window_id', 'session_replay.seq', 'session_replay.start', 'session_replay.end', 'session_replay.event_count', 'session_replay.encoding', 'session_replay.rrweb_version', 'url.full'])
      assert.ok(c.attrs[k] !== undefined, `chunk attribute ${k}`);
    assert.equal(c.attrs['session_replay.event_count'], c.events.length);
    assert.equal(c.attrs['session_replay.full_snapshot'], c.events.some((e) => e.type === 2), 'full_snapshot flag matches content');
    assert.equal(c.attrs['session_replay.start'], Math.min(...c.events.map((e) => e.timestamp)));
    assert.equal(c.attrs['session_replay.end'], Math.max(...c.events.map((e) => e.timestamp)));
    assert.equal(typeof c.attrs['session_replay.dropped_events'], 'number');
    assert.equal(c.resource['service.name'], 'recorder-test');
    assert.equal(c.resource['service.version'], '1.2.3');
    assert.equal(c.resource['deployment.environment.name'], 'test');
    assert.match(c.resource['user_agent.original'], /Chrome/);
    assert.ok(c.resource['browser.language']);
    assert.equal(typeof c.resource['browser.mobile'], 'boolean');
  }
  assert.ok(all.some((c) => c.attrs['session_replay.encoding'] === 'gzip'), 'some chunks gzip-compressed');

  // windows: one per tab; seq monotonic per window, persisted across the pages of a tab
  const windows = [...new Set(all.map((c) => c.attrs['session_replay.window_id']))];
  assert.equal(windows.length, 2, 'two tabs -> two window ids');
  const tab1 = all.filter((c) => c.attrs['session_replay.window_id'] === all[0].attrs['session_replay.window_id']);
  assert.ok(tab1.some((c) => c.attrs['url.full'].includes('page1')) && tab1.some((c) => c.attrs['url.full'].includes('page2')), 'window id stable across pages of the tab');
  for (const w of windows) {
    const seqs = all.filter((c) => c.attrs['session_replay.window_id'] === w).map((c) => c.attrs['session_replay.seq']).sort((a, b) => a - b);
    assert.deepEqual(seqs, seqs.map((_, i) => i), `seq of window ${w} is 0..n-1 without gaps or repeats`);
  }
  const bySeq = [...tab1].sort((a, b) => a.attrs['session_replay.seq'] - b.attrs['session_replay.seq']);
  for (let i = 1; i < bySeq.length; i++)
    assert.ok(bySeq[i].attrs['session_replay.start'] >= bySeq[i - 1].attrs['session_replay.start'] - 5, 'seq order follows time');
  // replayable: first events of the tab are meta (4) then full snapshot (2); every page starts with them
  const events = bySeq.flatMap((c) => c.events);
  assert.equal(events[0].type, 4);
  assert.equal(events[1].type, 2);
  const metas = events.filter((e) => e.type === 4);
  assert.ok(metas.some((m) => m.data.href.includes('page1')) && metas.some((m) => m.data.href.includes('page2')));
  for (let i = 0; i < events.length; i++) if (events[i].type === 4) assert.equal(events[i + 1]?.type, 2, 'meta is followed by a full snapshot');
  // interaction recorded: input events (masked), mouse moves, clicks
  assert.ok(events.some((e) => e.type === 3 && e.data.source === 5), 'input events');
  assert.ok(events.some((e) => e.type === 3 && e.data.source === 1), 'mouse moves');
  assert.ok(events.some((e) => e.type === 3 && e.data.source === 2), 'mouse interactions');
  assert.ok(
    events.some((e) => e.type === 6 && e.data.plugin === 'rrweb/console@1' && e.data.payload.level === 'error' && e.data.payload.payload[0] === '"console-err-marker"'),
    'console.error recorded by default as a console plugin event'
  );

  // privacy: typed secrets never leave the browser, iframe content is never recorded
  const text = allText(server.logs);
  for (const s of SECRETS) assert.ok(!text.includes(s), `secret ${s} must not appear in any captured body`);
  // the <option> markup is static page content; which option the user picked must not be recorded
  assert.ok(!text.includes('"selected":true'), 'selected option not recorded');
  assert.ok(!text.includes(FRAME_TEXT), 'iframe content is not recorded');
  const snap = events[1].data.node;
  let iframe;
  walk(snap, (n) => {
    if (n.tagName === 'iframe') iframe = n;
  });
  assert.ok(iframe, 'iframe placeholder in snapshot');
  assert.ok(iframe.attributes.rr_width && iframe.attributes.rr_height, 'blocked iframe keeps its size');
  assert.equal(iframe.attributes.src, undefined, 'blocked iframe has no src');
  assert.ok(!events.some((e) => e.type === 2 && JSON.stringify(e).includes('frame.html')));
  const inputs = events.filter((e) => e.type === 3 && e.data.source === 5);
  // masked by a fixed-length placeholder: neither the value nor its length is recorded
  assert.ok(inputs.every((e) => e.data.text === '******'), 'every recorded input value is the placeholder: ' + JSON.stringify(inputs.map((e) => e.data.text)));
  assert.ok(inputs.length > 0);

  // errors, custom events, identify
  const recs = logRecords(server.logs);
  const exc = recs.filter((r) => r.eventName === 'exception');
  const uncaught = exc.find((r) => r.attrs['exception.message'] === 'boom-uncaught');
  assert.ok(uncaught, 'uncaught error log');
  assert.equal(uncaught.attrs['exception.type'], 'TypeError');
  assert.match(uncaught.attrs['exception.stacktrace'], /boom-uncaught/);
  assert.equal(uncaught.attrs['session.id'], sid);
  assert.match(uncaught.attrs['url.full'], /page1\.html/);
  assert.equal(uncaught.severityText, 'ERROR');
  const rejected = exc.find((r) => r.attrs['exception.message'] === 'boom-rejected');
  assert.ok(rejected, 'unhandled rejection log');
  assert.equal(rejected.attrs['session.id'], sid);
  const custom = recs.find((r) => r.eventName === 'checkout');
  assert.ok(custom, 'custom event log');
  assert.equal(custom.attrs['session.id'], sid);
  assert.equal(custom.attrs['cart.items'], 3);
  assert.equal(custom.attrs['user.id'], 'user-42');
  const after = all.filter((c) => c.attrs['url.full'].includes('page2'));
  assert.ok(after.every((c) => c.attrs['user.id'] === 'user-42'), 'user.id on later chunks (persisted across pages)');

  // baggage on fetch/XHR: same origin and listed origins, merged header format
  const fail = server.api.find((a) => a.path === '/api/fail');
  assert.equal(fail.headers.baggage, `session.id=${sid}`);
  assert.equal(server.api.find((a) => a.path === '/api/xhr').headers.baggage, `session.id=${sid}`);
  assert.equal(server.api.find((a) => a.path === '/api/cors').headers.baggage, `session.id=${sid}`, 'listed cross origin gets baggage');
  assert.ok(server.logs.every((r) => !r.headers.baggage), 'export requests carry no baggage');
  assert.deepEqual(pageErrors.sort(), ['boom-rejected', 'boom-uncaught'].sort());
});

test('idle timeout starts a new session with session.previous_id and a fresh full snapshot', async () => {
  server.logs.length = 0;
  const ctx = await browser.newContext({ viewport: { width: 800, height: 600 } });
  const page = await ctx.newPage();
  await page.goto(`${server.origin}/page1.html?idle=1200`);
  await page.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  const first = await page.evaluate(() => window.SessionReplay.getSessionId());
  await page.mouse.move(10, 10);
  await page.waitForTimeout(1800); // idle longer than idleTimeoutMs
  await page.mouse.move(200, 200, { steps: 5 });
  await page.click('#para');
  const second = await page.evaluate(() => window.SessionReplay.getSessionId());
  assert.notEqual(second, first, 'new session after idle timeout');
  await page.evaluate(() => window.SessionReplay.flush());
  await page.reload();
  await page.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  assert.equal(await page.evaluate(() => window.SessionReplay.getSessionId()), second, 'reload within the timeout keeps the session');
  await page.evaluate(() => window.SessionReplay.flush());
  await ctx.close();

  const all = chunks(server.logs);
  const old = all.filter((c) => c.attrs['session.id'] === first);
  const neu = all.filter((c) => c.attrs['session.id'] === second).sort((a, b) => a.attrs['session_replay.seq'] - b.attrs['session_replay.seq']);
  assert.ok(old.length >= 1 && neu.length >= 1);
  assert.ok(neu.every((c) => c.attrs['session.previous_id'] === first), 'session.previous_id set on the new session');
  assert.equal(neu[0].events[0].type, 4, 'new session starts with meta');
  assert.equal(neu[0].events[1].type, 2, 'then a full snapshot');
  assert.ok(neu[0].attrs['session_replay.seq'] > Math.max(...old.map((c) => c.attrs['session_replay.seq'])), 'seq keeps increasing in the window');
  const oldEnd = Math.max(...old.map((c) => c.attrs['session_replay.end']));
  assert.ok(neu[0].attrs['session_replay.start'] >= oldEnd - 5, 'new session after the old one');
});

test('retries with backoff on 503 honouring Retry-After, without losing chunks', async () => {
  server.logs.length = 0;
  server.state.failLogs = 2;
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${server.origin}/page2.html?flush=300`);
  await page.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  await page.mouse.move(20, 20, { steps: 3 });
  await waitFor(() => server.state.failLogs === 0 && chunks(server.logs).some((c) => c.attrs['session_replay.full_snapshot']), 15_000);
  const first = server.logs[0].at;
  await page.evaluate(() => window.SessionReplay.flush());
  const seqs = chunks(server.logs).map((c) => c.attrs['session_replay.seq']).sort((a, b) => a - b);
  assert.deepEqual(seqs, seqs.map((_, i) => i), 'no chunk lost or duplicated');
  assert.ok(first > 0);
  await ctx.close();
});

test('bounded memory: oldest mouse moves dropped first, snapshots kept, dropped count reported', async () => {
  server.logs.length = 0;
  const page = await browser.newPage();
  await page.goto(`${server.origin}/page2.html?maxbuf=40&flush=60000`);
  await page.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  await page.evaluate(() => window.SessionReplay.flush());
  const before = chunks(server.logs).length;
  await page.evaluate(() => {
    const r = window.SessionReplay.getRecorder();
    const t = Date.now();
    r.onEvent({ type: 4, data: { href: location.href, width: 800, height: 600 }, timestamp: t });
    r.onEvent({ type: 2, data: { node: { type: 0, childNodes: [], id: 1 }, initialOffset: { left: 0, top: 0 } }, timestamp: t });
    for (let i = 0; i < 60; i++) r.onEvent({ type: 3, data: { source: 1, positions: [{ x: i, y: i, id: 1, timeOffset: 0 }] }, timestamp: t + i });
    for (let i = 0; i < 20; i++) r.onEvent({ type: 3, data: { source: 0, adds: [], removes: [], texts: [{ id: 1, value: 'm' + i }], attributes: [] }, timestamp: t + 100 + i });
  });
  await page.evaluate(() => window.SessionReplay.flush());
  await page.close();
  const c = chunks(server.logs).slice(before);
  const evs = c.flatMap((x) => x.events);
  assert.ok(evs.length <= 40, `buffer bounded (${evs.length} events)`);
  assert.ok(evs.some((e) => e.type === 2) && evs.some((e) => e.type === 4), 'snapshot and meta kept');
  assert.equal(evs.filter((e) => e.type === 3 && e.data.source === 0).length, 20, 'mutations kept while mouse moves remain to drop');
  const dropped = Math.max(...c.map((x) => x.attrs['session_replay.dropped_events']));
  assert.equal(dropped, 62 - evs.length + 20, 'dropped_events counts every dropped event');
});

test('compression runs in a Blob worker, and on the main thread when CSP forbids workers', async () => {
  for (const csp of [false, true]) {
    server.logs.length = 0;
    const page = await browser.newPage();
    await page.goto(`${server.origin}/page2.html${csp ? '?csp=1' : ''}`);
    await page.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
    await page.mouse.move(30, 30, { steps: 4 });
    await page.evaluate(() => window.SessionReplay.flush());
    const worker = await page.evaluate(() => window.SessionReplay.getRecorder().stats.worker);
    await page.close();
    assert.equal(worker, !csp, csp ? 'worker refused by CSP' : 'worker in use');
    const c = chunks(server.logs);
    assert.ok(c.length >= 1 && c.every((x) => x.attrs['session_replay.encoding'] === 'gzip'), 'gzip either way');
    assert.equal(c.sort((a, b) => a.attrs['session_replay.seq'] - b.attrs['session_replay.seq'])[0].events[1].type, 2);
  }
});

test('a configured mask placeholder replaces every masked value, whatever its length', async () => {
  server.logs.length = 0;
  const ctx = await browser.newContext({ viewport: { width: 800, height: 600 } });
  const page = await ctx.newPage();
  await page.goto(`${server.origin}/page1.html?placeholder=${encodeURIComponent('[hidden]')}`);
  await page.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  await page.click('#name');
  await page.keyboard.type('a');
  await page.click('#bio');
  await page.keyboard.type(SECRETS[1] + ' and then a much longer text');
  await page.click('#para'); // blur: rrweb (sampling input 'last') records the change
  await page.evaluate(() => window.SessionReplay.flush());
  await ctx.close();
  const events = chunks(server.logs).flatMap((c) => c.events);
  const inputs = events.filter((e) => e.type === 3 && e.data.source === 5).map((e) => e.data.text);
  assert.ok(inputs.length >= 2, 'input events recorded');
  assert.deepEqual([...new Set(inputs)], ['[hidden]'], 'every typed value is the placeholder: ' + JSON.stringify(inputs));
  assert.ok(!allText(server.logs).includes(SECRETS[1]), 'the typed text is not recorded');
});

test('console: error and warn recorded by default as rrweb console plugin events, masked in mask-all-text mode; levels chosen, or off', async () => {
  const card = '4111 1111 1111 1111';
  const run = async (params) => {
    const before = server.logs.length;
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${server.origin}/page2.html?${params}`);
    await page.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
    await page.evaluate((card) => {
      console.error('payment failed for card', card, { status: 502 });
      console.warn('cart is stale');
      console.log('plain log line');
      console.info('info line');
    }, card);
    await page.evaluate(() => window.SessionReplay.flush());
    await ctx.close();
    return chunks(server.logs.slice(before))
      .flatMap((c) => c.events)
      .filter((e) => e.type === 6 && e.data.plugin === 'rrweb/console@1')
      .map((e) => e.data.payload);
  };

  const byDefault = await run('');
  assert.deepEqual(byDefault.map((p) => p.level), ['error', 'warn'], 'error and warn by default, not log or info');
  // card numbers are masked by the receiver, as in the page's text (collector-receiver signals_test.go)
  assert.deepEqual(byDefault[0].payload, ['"payment failed for card"', `"${card}"`, '{"status":502}'], 'arguments serialised as rrweb\'s plugin does');
  assert.deepEqual(byDefault[1].payload, ['"cart is stale"']);

  const chosen = await run('console=error,log');
  assert.deepEqual(chosen.map((p) => p.level), ['error', 'log'], 'the levels asked for');

  const masked = await run('masktext=true');
  assert.deepEqual(masked[1].payload, ['"**** ** *****"'], 'mask-all-text masks console text too');
  assert.ok(!JSON.stringify(masked).includes('4111'), 'in mask-all-text mode no digit of the card leaves the page');

  const on = await run('console=true');
  assert.deepEqual(on.map((p) => p.level), ['error', 'warn'], 'recordConsole true: error and warn');

  const off = await run('console=false');
  assert.equal(off.length, 0, 'recordConsole false records nothing');
});
