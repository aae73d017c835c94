// Plays a stored session in Chromium with the real replay panel (the harness
// of tests/panel), served by the end-to-end test from the plugin backend, and
// compares the replay at given moments with the live screenshots taken while
// the session was recorded.
//
//   node tests/e2e/replay.mjs <base url> <session id> <dir> <name>=<unix ms> ... [<name>=trace:<trace id>]
//
// A `trace:` moment opens the panel from a trace instead (the $trace_id variable, as a correlation from a
// traces data source does): the panel finds the session and the span time itself; only its position is reported.
// For each name it writes <dir>/replay-<name>.png, compares it with
// <dir>/live-<name>.png (on a 96x72 grid) and prints one JSON object:
// { name: {meanDiff, badCells, currentMs, variance, text} } (text: what the replayed page shows).
import { chromium } from 'playwright-core';
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

async function openFromTrace(traceId) {
  const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/?${new URLSearchParams({ trace_id: traceId, skip: '0', w: '1220', h: '880' })}`);
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
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const q = new URLSearchParams({ session: sessionId, replay_time: ms, skip: '0', w: '1220', h: '880' });
    await page.goto(`${base}/?${q}`);
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
    result[name] = {
      ...compare(live, replay),
      currentMs,
      wantMs: Number(ms),
      variance: variance(replay),
      text,
      pageErrors: errors,
    };
    await page.close();
  }
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await browser.close();
}
