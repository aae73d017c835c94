// Drives Chromium through the demo shop with the recorder, the way a person
// would, and reports what the end-to-end test must find again in ClickHouse
// and in the replay: the session ids, the failing trace id, and live
// screenshots (with their times) at the click on "Pay" and at the error.
// The page logs a console error when the payment fails, and the session has
// a dead click on "Apply coupon".
//
//   node tests/e2e/drive.mjs <shop url> <output dir>
//
// Prints one JSON object on stdout.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [shop, outDir] = process.argv.slice(2);
if (!shop || !outDir) {
  console.error('usage: drive.mjs <shop url> <output dir>');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

export const VIEWPORT = { width: 1024, height: 768 };
// Typed secrets: none of them may reach ClickHouse (the test scans every chunk).
export const SECRETS = {
  name: 'Ada Lovelace-7Q',
  email: 'ada.secret@example.com',
  card: '4111 1111 1111 1111',
  password: 'hunter2-Secret!',
  note: 'leave it with the neighbour 42B',
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const result = { viewport: VIEWPORT, secrets: SECRETS };

  // Session 1: browse, type into the checkout form, pay (fails in the backend), go on.
  const ctx = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  page.on('console', (m) => m.type() === 'error' && console.error('[page]', m.text()));
  let checkoutHeaders;
  page.on('request', (r) => {
    if (r.url().endsWith('/api/checkout')) {
      checkoutHeaders = r.headers();
    }
  });

  await page.goto(shop + '/');
  await page.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  await page.waitForSelector('#products li');
  await page.waitForTimeout(500);
  await page.click('#to-pricing');
  await page.waitForSelector('#to-checkout');
  await page.waitForTimeout(500);
  await page.click('#to-checkout');
  await page.waitForSelector('#pay');
  await page.waitForTimeout(500);
  // "Apply coupon" looks clickable and does nothing: a dead click (nothing
  // changes, nothing is requested for well over the receiver's 1 s bound).
  result.deadClickTime = await page.evaluate(() => Date.now());
  await page.click('#coupon');
  await page.waitForTimeout(1500);
  for (const [field, text] of Object.entries(SECRETS)) {
    await page.click('#' + field);
    await page.keyboard.type(text, { delay: 15 });
  }
  await page.waitForTimeout(800);

  result.sessionId = await page.evaluate(() => window.SessionReplay.getSessionId());
  // The click: its time is taken in the page, right before the click lands.
  await page.hover('#pay');
  await page.waitForTimeout(300);
  result.clickTime = await page.evaluate(() => Date.now());
  await page.screenshot({ path: join(outDir, 'live-click.png') });
  await page.click('#pay');
  await page.waitForSelector('.status.error');
  await page.waitForTimeout(500);
  result.errorTime = await page.evaluate(() => Date.now());
  await page.screenshot({ path: join(outDir, 'live-error.png') });
  if (!checkoutHeaders || !checkoutHeaders.traceparent) {
    throw new Error('the checkout request carried no traceparent: ' + JSON.stringify(checkoutHeaders));
  }
  result.traceId = checkoutHeaders.traceparent.split('-')[1];
  result.baggage = checkoutHeaders.baggage || '';
  await page.waitForTimeout(500);
  // no flush here: the checkout's client span still waiting in the batch must leave with the page's pagehide
  await page.click('#to-home');
  await page.waitForSelector('#products li');
  await page.waitForTimeout(500);
  result.sameSessionAfterNavigation =
    (await page.evaluate(() => window.SessionReplay.getSessionId())) === result.sessionId;
  await page.evaluate(() => window.SessionReplay.flush());
  result.userAgent = await page.evaluate(() => navigator.userAgent);
  await ctx.close();

  // Session 2: a short visit that matches no rule.
  const ctx2 = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
  const page2 = await ctx2.newPage();
  await page2.goto(shop + '/');
  await page2.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  await page2.waitForSelector('#products li');
  await page2.waitForTimeout(500);
  result.otherSessionId = await page2.evaluate(() => window.SessionReplay.getSessionId());
  await page2.evaluate(() => window.SessionReplay.flush());
  await ctx2.close();

  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await browser.close();
}
