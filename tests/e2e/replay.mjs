// Plays a stored session in Chromium with the replay panel of the built plugin
// (dist/panel/module.js, loaded by the Grafana-compatible host of
// pkg/pluginhost with SystemJS as Grafana loads it, its variables in the URL as
// Grafana's var-<name>), served by the end-to-end test from the plugin backend, and
// compares the replay at given moments with the live screenshots taken while
// the session was recorded.
//
//   node tests/e2e/replay.mjs <base url> <session id> <dir> <name>=<unix ms> ... [<name>=trace:<trace id>]
//
// A `trace:` moment opens the panel from a trace instead (the $trace_id variable, as a correlation from a
// traces data source does): the panel finds the session and the span time itself; only its position is reported.
// For each name it writes <dir>/replay-<name>.png, compares it with
// <dir>/live-<name>.png (on a 96x72 grid) and prints one JSON object:
// { name: {meanDiff, badCells, currentMs, variance, text, traceLinks} } (text: what the replayed page shows,
// traceLinks: the hrefs of the timeline's trace links).
import { chromium } from 'playwright-core';
import { loopbackOnly } from '../internal/loopback.mjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { compare, grid, variance } from '../panel/imagediff.mjs';

const [base, sessionId, dir, ...moments] = process.argv.slice(2);
if (!base || !sessionId || !dir || moments.length === 0) {
  console.error('usage: replay.mjs <base url> <session id> <dir> <name>=<unix ms> ...');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const result = {};
// The panel's options: its defaults from the plugin, without skipping inactivity (the moments are wall-clock times).
const panelSize = { options: JSON.stringify({ skipInactive: false }), w: '1220', h: '880' };

async function openFromTrace(traceId) {
  const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
  await loopbackOnly(page);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/host/panel?${new URLSearchParams({ 'var-trace_id': traceId, ...panelSize })}`, {
    waitUntil: 'domcontentloaded',
  });
  await page.locator('[data-testid=replay-frame] iframe').waitFor({ timeout: 30_000 });
  await page.waitForFunction(
    () => {
      const el = document.querySelector('[data-testid=replay-current-time]');
      return el && el.getAttribute('data-ms');
    },
    null,
    { timeout: 30_000 }
  );
  await page.waitForTimeout(1000);
  const currentMs = Number(await page.locator('[data-testid=replay-current-time]').getAttribute('data-ms'));
  await page.close();
  return { currentMs, pageErrors: errors };
}

try {
  for (const moment of moments) {
    const [name, ms] = moment.split('=');
    if (ms.startsWith('trace:')) {
      result[name] = await openFromTrace(ms.slice('trace:'.length));
      continue;
    }
    const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
    await loopbackOnly(page);
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const q = new URLSearchParams({ 'var-session': sessionId, 'var-replay_time': ms, ...panelSize });
    await page.goto(`${base}/host/panel?${q}`, { waitUntil: 'domcontentloaded' });
    const frame = page.locator('[data-testid=replay-frame] iframe');
    await frame.waitFor({ timeout: 30_000 });
    // Wait until the player stands at the wanted moment (it opens paused there).
    await page.waitForFunction(
      (want) => {
        const el = document.querySelector('[data-testid=replay-current-time]');
        const v = el && el.getAttribute('data-ms');
        return v !== null && v !== '' && Math.abs(Number(v) - want) < 1500;
      },
      Number(ms),
      { timeout: 30_000 }
    );
    await page.waitForTimeout(1000);
    const currentMs = Number(await page.locator('[data-testid=replay-current-time]').getAttribute('data-ms'));
    const shot = await frame.screenshot();
    writeFileSync(join(dir, `replay-${name}.png`), shot);
    const live = grid(readFileSync(join(dir, `live-${name}.png`)), 96, 72);
    const replay = grid(shot, 96, 72);
    const text = (await frame.contentFrame().locator('body').innerText()).replace(/\s+/g, ' ').trim();
    const traceLinks = await page
      .locator('[data-testid=replay-trace-link]')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    result[name] = {
      ...compare(live, replay),
      currentMs,
      wantMs: Number(ms),
      variance: variance(replay),
      text,
      traceLinks,
      pageErrors: errors,
    };
    await page.close();
  }
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await browser.close();
}
