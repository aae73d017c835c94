// Opens a stored session in the replay panel of the built plugin (dist/panel/module.js in the Grafana-compatible
// host, as replay.mjs does) and reports what its lists show: the event list's labels, the console panel's entries,
// the network panel's rows with their trace links, and the timeline's marker kinds. Screenshots of each list go to
// <dir>/panel-<list>.png.
//
//   node tests/e2e/player.mjs <base url> <session id> <dir> <unix ms to open at>
//
// Prints one JSON object: {events: [{kind, label}], console: [{level, text}], network: [{text, failed, status,
// trace}], markerKinds: [..], details: {device, os, browser, entryUrl, pages}, pageErrors: [..]}.
import { chromium } from 'playwright-core';
import { join } from 'node:path';

import { loopbackOnly } from '../internal/loopback.mjs';

const [base, sessionId, dir, at] = process.argv.slice(2);
if (!base || !sessionId || !dir || !at) {
  console.error('usage: player.mjs <base url> <session id> <dir> <unix ms>');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
  await loopbackOnly(page);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const q = new URLSearchParams({
    'var-session': sessionId,
    'var-replay_time': at,
    options: JSON.stringify({ skipInactive: false }),
    w: '1220',
    h: '880',
  });
  await page.goto(`${base}/host/panel?${q}`, { waitUntil: 'domcontentloaded' });
  await page.locator('[data-testid=replay-frame] iframe').waitFor({ timeout: 30_000 });
  await page.locator('[data-testid=replay-event]').first().waitFor({ timeout: 30_000 });

  const events = await page
    .locator('[data-testid=replay-events] li')
    .evaluateAll((lis) =>
      lis.map((li) => ({
        kind: li.dataset.kind,
        label: li.querySelector('[data-testid=replay-event-label]')?.textContent ?? '',
      }))
    );
  const markerKinds = await page
    .locator('[data-testid=replay-marker]')
    .evaluateAll((els) => els.map((e) => e.dataset.kind));
  await page.screenshot({ path: join(dir, 'panel-events.png') });

  await page.locator('[data-testid=replay-tab-console]').click();
  await page.waitForTimeout(300);
  const consoleEntries = await page
    .locator('[data-testid=replay-console] li')
    .evaluateAll((lis) => lis.map((li) => ({ level: li.dataset.level, text: li.textContent })));
  await page.screenshot({ path: join(dir, 'panel-console.png') });

  await page.locator('[data-testid=replay-tab-network]').click();
  await page.waitForTimeout(300);
  const network = await page.locator('[data-testid=replay-request]').evaluateAll((rows) =>
    rows.map((r) => ({
      text: r.textContent,
      failed: r.dataset.failed === 'true',
      status: r.querySelector('[data-testid=replay-request-status]')?.textContent ?? '',
      trace: r.querySelector('[data-testid=replay-request-trace]')?.getAttribute('href') ?? '',
    }))
  );
  await page.screenshot({ path: join(dir, 'panel-network.png') });

  await page.locator('[data-testid=replay-details-toggle]').click();
  await page.locator('[data-testid=replay-details-os]').waitFor({ timeout: 15_000 });
  const field = (id) => page.locator(`[data-testid=replay-details-${id}]`).textContent();
  const details = {
    device: await field('device'),
    os: await field('os'),
    browser: await field('browser'),
    entryUrl: await field('entry-url'),
    pages: await page.locator('[data-testid=replay-details-pages] li').allTextContents(),
  };
  await page.screenshot({ path: join(dir, 'panel-details.png') });

  process.stdout.write(
    JSON.stringify({ events, console: consoleEntries, network, markerKinds, details, pageErrors }) + '\n'
  );
} finally {
  await browser.close();
}
