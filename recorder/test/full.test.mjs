// The full build: OTel web tracing with session.id on every span, traceparent + baggage on fetch/XHR.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, chunks, attrMap, waitFor } from './harness.mjs';

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

function spans(traces) {
  const out = [];
  for (const req of traces)
    for (const rs of req.json.resourceSpans || [])
      for (const ss of rs.scopeSpans || [])
        for (const s of ss.spans || []) out.push({ ...s, attrs: attrMap(s.attributes), resource: attrMap(rs.resource?.attributes), scope: ss.scope?.name });
  return out;
}

test('full build: spans carry session.id, fetch/XHR carry traceparent + baggage, replay still recorded', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.origin}/page1.html?build=full`);
  await page.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  const sid = await page.evaluate(() => window.SessionReplay.getSessionId());
  await page.click('#fail');
  await page.click('#xhr');
  await waitFor(() => server.api.length >= 2);
  await page.waitForTimeout(300);
  await page.evaluate(() => window.SessionReplay.flushAll());
  await waitFor(() => spans(server.traces).some((s) => s.scope?.includes('fetch')) && spans(server.traces).some((s) => s.scope?.includes('xml')), 10_000);
  await page.close();

  const all = spans(server.traces);
  assert.ok(all.length >= 3, 'spans exported to /v1/traces');
  for (const s of all) assert.equal(s.attrs['session.id'], sid, `span ${s.name} has session.id`);
  assert.ok(all.some((s) => s.scope?.includes('document-load')), 'document load spans');
  const fetchSpan = all.find((s) => s.scope?.includes('fetch'));
  assert.equal(fetchSpan.status?.code, 2, 'failed fetch span has status ERROR');
  assert.equal(all[0].resource['service.name'], 'recorder-test');

  for (const path of ['/api/fail', '/api/xhr']) {
    const req = server.api.find((a) => a.path === path);
    assert.match(req.headers.traceparent || '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/, `${path} traceparent`);
    const members = req.headers.baggage.split(',').map((m) => m.trim());
    assert.deepEqual(members.filter((m) => m.startsWith('session.id=')), [`session.id=${sid}`], `${path} baggage holds session.id once`);
    const traceId = req.headers.traceparent.split('-')[1];
    assert.ok(all.some((s) => s.traceId === traceId), `${path} span shares the propagated trace id`);
  }
  for (const r of server.traces) assert.ok(!r.headers.baggage && !r.headers.traceparent, 'exports are not traced');
  const c = chunks(server.logs);
  assert.ok(c.length >= 1 && c.every((x) => x.attrs['session.id'] === sid));
  assert.equal(c.sort((a, b) => a.attrs['session_replay.seq'] - b.attrs['session_replay.seq'])[0].events[1].type, 2);
});
