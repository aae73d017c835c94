// Drives Debian's Chromium (playwright-core) against the plugin host (pkg/pluginhost.Host) that serves dist/ the way
// Grafana loads it, for tests/pluginhost/host_test.go. One check per run; prints one JSON object.
//
//   node tests/pluginhost/drive.mjs <base url> app
//   node tests/pluginhost/drive.mjs <base url> panel <session id> <replay time ms>
//   node tests/pluginhost/drive.mjs <base url> config <database>
//   node tests/pluginhost/drive.mjs <base url> query <session id> <trace id>
//   node tests/pluginhost/drive.mjs <base url> sessions <from ms> <to ms> <key>=<value> ...
//   node tests/pluginhost/drive.mjs <base url> error <view>
import { chromium } from 'playwright-core';
import { loopbackOnly } from '../internal/loopback.mjs';

const [base, check, ...args] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
await loopbackOnly(page);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
const consoleLines = [];
page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
page.on('response', (r) => r.status() >= 400 && consoleLines.push(`HTTP ${r.status()} ${r.url()}`));
const requests = [];
page.on('request', (r) => requests.push(new URL(r.url()).pathname));
const hostState = () => page.evaluate(() => ({ loaded: window.pluginHost.loaded, error: window.pluginHost.error }));

async function app() {
  await page.goto(`${base}/a/seed-sessionreplay-app`);
  await page.locator('[data-testid=host-app] h2, [data-testid=host-error]').first().waitFor({ timeout: 30_000 });
  const text = await page.locator('#root').innerText();
  const links = await page
    .locator('[data-testid=host-app] a')
    .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  return { text, links };
}

async function panel(sessionId, at) {
  const q = new URLSearchParams({
    'var-session': sessionId,
    'var-replay_time': at,
    options: '{"skipInactive":false}',
    w: '1220',
    h: '860',
  });
  await page.goto(`${base}/host/panel?${q}`, { waitUntil: 'domcontentloaded' });
  await page
    .locator('[data-testid=replay-frame] iframe, [data-testid=host-error]')
    .first()
    .waitFor({ timeout: 30_000 });
  await page.waitForFunction(
    (want) => {
      const el = document.querySelector('[data-testid=replay-current-time]');
      const v = el && el.getAttribute('data-ms');
      return document.querySelector('[data-testid=host-error]') || (v && Math.abs(Number(v) - want) < 1500);
    },
    Number(at),
    { timeout: 30_000 }
  );
  if (await page.locator('[data-testid=host-error]').count()) {
    return {};
  }
  await page.waitForTimeout(500);
  const currentMs = Number(await page.locator('[data-testid=replay-current-time]').getAttribute('data-ms'));
  const frame = page.locator('[data-testid=replay-frame] iframe');
  const replayedText = (await frame.contentFrame().locator('body').innerText()).replace(/\s+/g, ' ').trim();
  const markers = await page.locator('[data-testid=replay-marker]').count();
  const traceLinks = await page
    .locator('[data-testid=replay-trace-link]')
    .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  // Play for a moment: the player's clock must move.
  await page.locator('[data-testid=replay-play]').click();
  await page.waitForTimeout(1500);
  const afterPlayMs = Number(await page.locator('[data-testid=replay-current-time]').getAttribute('data-ms'));
  return { currentMs, afterPlayMs, replayedText: replayedText.slice(0, 2000), markers, traceLinks };
}

async function config(database) {
  await page.goto(`${base}/host/config`);
  await page.locator('#sr-database').waitFor({ timeout: 30_000 });
  // Save what is there first (a database that does not exist), then the right one: the backend says which works.
  await page.locator('[data-testid=host-save]').click();
  await page.locator('[data-testid=host-health]').waitFor({ timeout: 30_000 });
  const before = {
    status: await page.locator('[data-testid=host-health]').getAttribute('data-status'),
    message: await page.locator('[data-testid=host-health]').innerText(),
  };
  await page.locator('#sr-database').fill(database);
  await page.locator('[data-testid=host-save]').click();
  await page.waitForFunction(() => window.pluginHost.saved.length === 2, null, { timeout: 30_000 });
  const after = await page.evaluate(() => window.pluginHost.saved[1]);
  const stored = await page.evaluate(
    (u) => fetch(u).then((r) => r.json()),
    `${base}/api/datasources/uid/sessionreplay`
  );
  const sessions = await page.evaluate(() => window.pluginHost.run({ refId: 'A', queryType: 'sessions' }));
  return { before, after, stored, sessions };
}

async function query(sessionId, traceId) {
  await page.goto(`${base}/host/query`);
  await page.getByText('Query type').first().waitFor({ timeout: 30_000 });
  const built = {};
  const results = {};
  const inputs = { markers: ['Session id', sessionId], traceSession: ['Trace id', traceId] };
  // Sessions is the editor's default: start elsewhere so that every type is chosen by a click.
  for (const [type, label] of [
    ['stats', 'Stats'],
    ['markers', 'Markers'],
    ['traceSession', 'Trace → session'],
    ['sessions', 'Sessions'],
  ]) {
    await page
      .getByLabel(label, { exact: true })
      .check({ force: true })
      .catch(() => page.getByText(label, { exact: true }).click());
    if (inputs[type]) {
      const [field, value] = inputs[type];
      const input = page.locator(`xpath=//label[normalize-space()="${field}"]/following::input[1]`).first();
      await input.fill(value);
      await input.blur();
    }
    const q = JSON.parse(await page.locator('[data-testid=host-query-json]').innerText());
    built[type] = q;
    results[type] = await page.evaluate((qq) => window.pluginHost.run(qq), q);
  }
  return { built, results };
}

/** The session list as a dashboard asks the built data source for it: ad hoc filter keys/values, then sessions. */
async function sessions(from, to, ...filters) {
  await page.goto(`${base}/host/query?${new URLSearchParams({ from, to })}`);
  await page.getByText('Query type').first().waitFor({ timeout: 30_000 });
  const adhoc = filters.map((f) => {
    const [key, value] = f.split('=');
    return { key, operator: '=', value };
  });
  return page.evaluate(
    async ({ adhoc }) => {
      const keys = await window.pluginHost.tagKeys();
      const values = {};
      for (const f of adhoc) {
        values[f.key] = await window.pluginHost.tagValues(f.key);
      }
      const filtered = await window.pluginHost.run({ refId: 'A', queryType: 'sessions', retainedOnly: true }, adhoc);
      const all = await window.pluginHost.run({ refId: 'A', queryType: 'sessions' });
      return { keys, values, filtered, all };
    },
    { adhoc }
  );
}

async function error(view) {
  await page.goto(`${base}/host/${view}`);
  await page.locator('[data-testid=host-error]').waitFor({ timeout: 30_000 });
  return { message: await page.locator('[data-testid=host-error]').innerText() };
}

try {
  const fn = { app, panel, config, query, sessions, error }[check];
  if (!fn) {
    throw new Error(`unknown check ${check}`);
  }
  const result = await fn(...args);
  const modules = [...new Set(requests.filter((p) => p.endsWith('/module.js')))];
  process.stdout.write(JSON.stringify({ ...result, ...(await hostState()), modules, pageErrors }) + '\n');
} catch (e) {
  // What the page said helps more than the timeout alone.
  console.error(`check ${check} failed; page errors:`, pageErrors, '\nconsole:', consoleLines.join('\n'));
  throw e;
} finally {
  await browser.close();
}
