// Drives Chromium through the test shop of one browser SDK the way a person
// would: three page loads (home, pricing, checkout with a same-origin iframe
// that loads the SDK too), typed secrets, a click in the iframe, "Pay" (a
// fetch that fails in the backend, then an uncaught exception), and a fourth
// page load. Reports the session id, the failing trace id, the click and
// error times, and writes a live screenshot at the click on "Pay".
//
//   node tests/sdks/drive.mjs <pages url> <sdk> <output dir> <settle ms>
//
// <settle ms> is how long each page stays open before the next one: at least
// the SDK's export interval, so what a page recorded leaves it (HyperDX
// batches replay events for 5 s). Prints one JSON object on stdout.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [pages, sdk, outDir, settleArg] = process.argv.slice(2);
if (!pages || !sdk || !outDir) {
  console.error('usage: drive.mjs <pages url> <sdk> <output dir> <settle ms>');
  process.exit(2);
}
const settle = Number(settleArg || '1500');
mkdirSync(outDir, { recursive: true });

const VIEWPORT = { width: 1024, height: 768 };
// Typed with the SDK's input masking off: none may reach ClickHouse.
const SECRETS = {
  email: 'ada.secret@example.com',
  card: '4111 1111 1111 1111',
  password: 'hunter2-Secret!',
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const result = { sdk, secrets: SECRETS, pageLoads: 0 };
  const ctx = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  page.on('console', (m) => m.type() === 'error' && console.error(`[${sdk} page]`, m.text()));
  page.on('pageerror', (e) => console.error(`[${sdk} page error]`, e.message));
  page.on('requestfailed', (r) => console.error(`[${sdk} request failed]`, r.url(), r.failure()?.errorText));
  page.on('load', () => result.pageLoads++);
  let checkoutHeaders;
  page.on('request', (r) => {
    if (r.url().endsWith('/api/checkout')) {
      checkoutHeaders = r.headers();
    }
  });
  const sessionId = () => page.evaluate(() => window.sdkSessionId && window.sdkSessionId());
  const ready = () =>
    page.waitForFunction(() => window.sdkSessionId && window.sdkSessionId(), null, { timeout: 20_000 });

  // page load 1: home
  await page.goto(`${pages}/${sdk}/`);
  await ready();
  await page.waitForTimeout(settle);
  await page.click('#to-pricing');
  // page load 2: pricing
  await page.waitForSelector('#to-checkout');
  await ready();
  await page.waitForTimeout(settle);
  await page.click('#to-checkout');
  // page load 3: checkout, with the help iframe running the SDK as well
  await page.waitForSelector('#pay');
  await ready();
  const frame = page.frameLocator('#help');
  await frame.locator('#frame-ok').waitFor();
  await page.waitForFunction(() => {
    const w = document.getElementById('help').contentWindow;
    return w.sdkSessionId && w.sdkSessionId();
  });
  result.sessionId = await sessionId();
  result.frameSessionId = await page.evaluate(() => document.getElementById('help').contentWindow.sdkSessionId());
  await page.waitForTimeout(500);
  for (const [field, text] of Object.entries(SECRETS)) {
    await page.click('#' + field);
    await page.keyboard.type(text, { delay: 15 });
  }
  await frame.locator('#frame-ok').click();
  await page.waitForTimeout(800);
  // The click: its time is taken in the page, right before it lands.
  await page.hover('#pay');
  await page.waitForTimeout(300);
  result.clickTime = await page.evaluate(() => Date.now());
  await page.screenshot({ path: join(outDir, 'live-click.png') });
  await page.click('#pay');
  await page.waitForSelector('.status.error');
  await page.waitForTimeout(300);
  result.errorTime = await page.evaluate(() => Date.now());
  if (!checkoutHeaders || !checkoutHeaders.traceparent) {
    throw new Error(`${sdk}: the checkout request carried no traceparent: ` + JSON.stringify(checkoutHeaders));
  }
  result.traceId = checkoutHeaders.traceparent.split('-')[1];
  await page.waitForTimeout(settle);
  // page load 4: back home; the session goes on
  await page.click('#to-home');
  await page.waitForSelector('#to-pricing');
  await ready();
  result.sameSessionAfterNavigation = (await sessionId()) === result.sessionId;
  await page.waitForTimeout(settle);
  result.userAgent = await page.evaluate(() => navigator.userAgent);
  await ctx.close();
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await browser.close();
}
