// Records tests/fidelity/testdata/chart-dashboard.events.json: the d3 dashboard of tests/fidelity/chart, bundled
// with esbuild, served on loopback, opened in Chromium and recorded by rrweb's record while this script uses it
// (hover, click, typing, data refresh, scroll, resize). Re-run it with `node tests/fidelity/record-chart.mjs`.
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'testdata/chart-dashboard.events.json');
const dir = mkdtempSync(path.join(os.tmpdir(), 'chart-page-'));

await build({
  entryPoints: [path.join(here, 'chart/record-page.mjs')],
  bundle: true,
  outfile: path.join(dir, 'record-page.js'),
  format: 'iife',
  target: 'es2020',
  logLevel: 'warning',
});
const files = {
  '/': ['text/html', readFileSync(path.join(here, 'chart/page.html'))],
  '/record-page.js': ['text/javascript', readFileSync(path.join(dir, 'record-page.js'))],
};
const server = http.createServer((req, res) => {
  const f = files[req.url];
  res.writeHead(f ? 200 : 404, { 'Content-Type': f ? f[0] : 'text/plain' });
  res.end(f ? f[1] : 'not found');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url);
  await page.waitForFunction(() => window.__recording === true);
  const pause = (ms) => page.waitForTimeout(ms);
  await pause(600);

  // Hover along the "Sessions per Day" chart: the guide line and tooltip follow the mouse.
  const sessions = page.locator('section.card svg').first();
  const box = await sessions.boundingBox();
  for (let i = 0; i <= 12; i++) {
    await page.mouse.move(box.x + 40 + (i * (box.width - 60)) / 12, box.y + box.height / 2, { steps: 3 });
    await pause(70);
  }
  await page.mouse.move(box.x + box.width / 2, box.y - 30);
  await pause(300);

  // Type into the filter (a plain search box), then clear it.
  await page.click('#filter');
  await page.keyboard.type('p95', { delay: 90 });
  await pause(400);
  await page.fill('#filter', '');
  await page.dispatchEvent('#filter', 'input');
  await pause(300);

  // Hide and show the errors chart, refresh the data.
  await page.click('#toggle-errors');
  await pause(400);
  await page.click('#toggle-errors');
  await pause(300);
  await page.click('#refresh');
  await pause(500);

  // Scroll down to the sparklines and back.
  await page.mouse.move(640, 500);
  await page.mouse.wheel(0, 320);
  await pause(500);
  await page.mouse.wheel(0, -320);
  await pause(400);

  // A narrower window: every chart is drawn again for the new width.
  await page.setViewportSize({ width: 1100, height: 760 });
  await pause(600);
  const box2 = await page.locator('section.card svg').nth(1).boundingBox();
  for (let i = 0; i <= 6; i++) {
    await page.mouse.move(box2.x + 50 + (i * (box2.width - 70)) / 6, box2.y + box2.height / 2, { steps: 2 });
    await pause(80);
  }
  await page.click('#refresh');
  await pause(700);

  const events = await page.evaluate(() => window.__events);
  writeFileSync(out, JSON.stringify(events));
  const fulls = events.filter((e) => e.type === 2).length;
  console.log(
    `recorded ${events.length} events (${fulls} full snapshots), ${(JSON.stringify(events).length / 1024).toFixed(0)} KB -> ${out}`
  );
} finally {
  await browser.close();
  server.close();
}
