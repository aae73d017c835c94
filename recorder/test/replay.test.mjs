// Replay check: events recorded by the core build, replayed with rrweb's Replayer (the version the Grafana
// panel uses), must render like the live page. Screenshots compared with pixelmatch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import pixelmatch from 'pixelmatch';
import { startServer, launch, chunks, waitFor } from './harness.mjs';

// Threshold: at most 1% of the pixels may differ (pixelmatch colour threshold 0.1), outside the blocked
// iframe (replayed as an empty same-size placeholder on purpose).
const MAX_DIFF_RATIO = 0.01;
const W = 800;
const H = 600;

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

function blank(png, r) {
  for (let y = Math.floor(r.y); y < Math.ceil(r.y + r.height) && y < png.height; y++)
    for (let x = Math.floor(r.x); x < Math.ceil(r.x + r.width) && x < png.width; x++) {
      const i = (y * png.width + x) * 4;
      png.data[i] = png.data[i + 1] = png.data[i + 2] = png.data[i + 3] = 255;
    }
}

test('replayed events render the recorded page (pixel diff against the live page)', async () => {
  const ctx = await browser.newContext({ viewport: { width: W, height: H }, deviceScaleFactor: 1 });
  const live = await ctx.newPage();
  await live.goto(`${server.origin}/page1.html`);
  await live.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  await live.waitForLoadState('load');
  // a DOM change after the snapshot, so the replay must apply incremental mutations too
  await live.evaluate(() => {
    const p = document.createElement('p');
    p.id = 'added';
    p.textContent = 'Added after the snapshot';
    p.style.color = '#a51d2d';
    document.querySelector('h1').after(p);
    document.getElementById('para').style.background = '#dcf';
  });
  await live.waitForTimeout(200);
  const frameBox = await live.locator('#frame').boundingBox();
  const liveShot = PNG.sync.read(await live.screenshot());
  await live.evaluate(() => window.SessionReplay.flush());
  await live.close();
  const events = chunks(server.logs)
    .sort((a, b) => a.attrs['session_replay.seq'] - b.attrs['session_replay.seq'])
    .flatMap((c) => c.events);
  assert.equal(events[0].type, 4);
  assert.equal(events[1].type, 2);
  assert.ok(events.some((e) => e.type === 3 && e.data.source === 0), 'incremental mutations recorded');

  const rp = await ctx.newPage();
  await rp.goto(`${server.origin}/replay.html`);
  await rp.evaluate(async (evs) => {
    const r = new window.rrweb.Replayer(evs, {
      root: document.getElementById('root'),
      mouseTail: false,
      showWarning: false,
      triggerFocus: false,
    });
    r.pause(r.getMetaData().totalTime + 1);
    window.replayer = r;
  }, events);
  await waitFor(() => rp.evaluate(() => !!document.querySelector('.replayer-wrapper iframe')?.contentDocument?.getElementById('added')));
  await rp.waitForTimeout(300);
  const frame = rp.locator('.replayer-wrapper iframe');
  const box = await frame.boundingBox();
  assert.equal(Math.round(box.width), W);
  assert.equal(Math.round(box.height), H);
  const replayShot = PNG.sync.read(await frame.screenshot());
  await ctx.close();

  assert.equal(replayShot.width, liveShot.width);
  assert.equal(replayShot.height, liveShot.height);
  blank(liveShot, frameBox);
  blank(replayShot, frameBox);
  const diff = new PNG({ width: W, height: H });
  const n = pixelmatch(liveShot.data, replayShot.data, diff.data, W, H, { threshold: 0.1 });
  const ratio = n / (W * H);
  console.log(`replay pixel diff: ${n} px (${(ratio * 100).toFixed(3)}%), threshold ${MAX_DIFF_RATIO * 100}%`);
  if (ratio > MAX_DIFF_RATIO) {
    const { writeFileSync, mkdirSync } = await import('node:fs');
    mkdirSync('test-output', { recursive: true });
    writeFileSync('test-output/live.png', PNG.sync.write(liveShot));
    writeFileSync('test-output/replay.png', PNG.sync.write(replayShot));
    writeFileSync('test-output/diff.png', PNG.sync.write(diff));
  }
  assert.ok(ratio <= MAX_DIFF_RATIO, `replay differs from live page in ${(ratio * 100).toFixed(3)}% of pixels`);
  // sanity: the comparison is not trivially blank
  const nonWhite = replayShot.data.filter((v, i) => i % 4 === 0 && v < 200).length;
  assert.ok(nonWhite > 1000, 'replay screenshot shows content');
});
