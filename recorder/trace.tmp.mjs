import http from 'node:http';
import { readFileSync } from 'node:fs';
import { launch } from './test/harness.mjs';
import { startupPage } from './scripts/bench-startup.mjs';
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname.startsWith('/v1/')) { req.resume(); req.on('end', () => { res.writeHead(200); res.end('{}'); }); return; }
  if (u.pathname === '/startup.html') { res.writeHead(200, { 'Content-Type': 'text/html' }); return res.end(startupPage('core', Number(u.searchParams.get('n')))); }
  try { const b = readFileSync('dist' + u.pathname); res.writeHead(200, { 'Content-Type': 'text/javascript' }); res.end(b); } catch { res.writeHead(404); res.end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await launch();
const page = await browser.newPage();
await page.goto(`http://127.0.0.1:${server.address().port}/startup.html?n=100000`);
await page.waitForTimeout(1500);
await browser.startTracing(page, { path: '/tmp/trace.json', categories: ['devtools.timeline', 'v8', 'disabled-by-default-devtools.timeline', 'toplevel'] });
await page.evaluate(() => new Promise((r) => setTimeout(() => { SessionReplay.init({ endpoint: location.origin, serviceName: 'b' }); r(); }, 0)));
await page.waitForFunction(() => !SessionReplay.getRecorder().stats.snapshotting, null, { timeout: 60000 });
await page.waitForTimeout(2500);
await browser.stopTracing();
await browser.close(); server.close();
const t = JSON.parse(readFileSync('/tmp/trace.json', 'utf8'));
const ev = t.traceEvents || t;
// main thread of renderer: thread with most RunTask durations
const tasks = ev.filter((e) => e.ph === 'X' && (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') && e.dur > 50000);
const byTid = {};
for (const e of tasks) byTid[e.tid] = (byTid[e.tid] || 0) + 1;
console.log('long tasks per tid', byTid);
for (const lt of tasks.slice(0, 25)) {
  const kids = ev.filter((e) => e.tid === lt.tid && e.ph === 'X' && e.ts >= lt.ts && e.ts + (e.dur||0) <= lt.ts + lt.dur && e.dur > 5000 && e !== lt);
  console.log(Math.round(lt.dur / 1000), 'ms:', kids.slice(0, 8).map((k) => `${k.name}${k.args?.data?.functionName ? '(' + k.args.data.functionName + ')' : ''}${k.args?.data?.url ? '[' + String(k.args.data.url).slice(-20) + ']' : ''}:${Math.round(k.dur / 1000)}`).join(' | '));
}
