// Chromium tests of the replay panel's player features (issue 17): events that say what they were, the console and
// network panels, next/previous error, keyboard shortcuts, inactive stretches, full screen, the link at this moment,
// the details drawer and following a live session. Same harness and server as panel.test.mjs (the real panel
// component, real rrweb recordings). Screenshots of each feature go to test-artifacts/panel/ (gitignored).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { loopbackOnly } from '../internal/loopback.mjs';

import { startServer } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bundleDir = path.resolve(here, '../../node_modules/.cache/sessionreplay-panel-harness');
const shots = path.resolve(here, '../../test-artifacts/panel');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// rrweb's user-interaction sources (mouse move/interaction, scroll, resize, input) and its inactivity threshold
const INACTIVE_MS = 10_000;
function expectedInactive(events, first, last) {
  const activity = events
    .filter(
      (e) => e.type === 3 && e.data?.source >= 1 && e.data?.source <= 5 && e.timestamp >= first && e.timestamp <= last
    )
    .map((e) => e.timestamp);
  const out = [];
  let prev = first;
  for (const t of activity.sort((a, b) => a - b)) {
    if (t - prev > INACTIVE_MS) {
      out.push([prev, t]);
    }
    prev = Math.max(prev, t);
  }
  if (last - prev > INACTIVE_MS) {
    out.push([prev, last]);
  }
  return out;
}

describe('replay panel player features in Chromium', { timeout: 180_000 }, () => {
  let srv;
  let browser;
  let context;

  before(async () => {
    mkdirSync(shots, { recursive: true });
    console.log(`# screenshots: ${shots}`);
    srv = await startServer({ bundleDir });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    context = await browser.newContext({ viewport: { width: 1240, height: 700 } });
    await loopbackOnly(context);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
  });

  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  async function openPanel(query) {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${srv.url}/?w=1220&h=660&${query}`);
    await page.locator('[data-testid=replay-frame] iframe').waitFor({ timeout: 15_000 });
    await page.waitForFunction(
      () => document.querySelector('[data-testid=replay-current-time]')?.getAttribute('data-ms') !== ''
    );
    return { page, errors };
  }

  const currentMs = (page) => page.locator('[data-testid=replay-current-time]').getAttribute('data-ms').then(Number);
  const near = async (page, want, slack = 400) => {
    await page.waitForFunction(
      ([w, s]) =>
        Math.abs(Number(document.querySelector('[data-testid=replay-current-time]')?.getAttribute('data-ms')) - w) < s,
      [want, slack],
      { timeout: 5000 }
    );
  };
  const shot = (page, name) => page.screenshot({ path: path.join(shots, `${name}.png`) });
  const markers = () => srv.sessions.signals.markers;

  test('the event list says what each event was: click target, URL path, error message, request status', async () => {
    const { page, errors } = await openPanel('session=signals');
    await page.locator('[data-testid=replay-event]').first().waitFor();
    const labels = await page.locator('[data-testid=replay-event-label]').allTextContents();
    assert.ok(labels.includes('button#pay.btn "Pay"'), `click named by its target: ${labels}`);
    assert.ok(labels.includes('span.badge "Free shipping"'), 'dead click named by its target');
    assert.ok(labels.includes('POST /api/checkout · 502 · 131 ms'), 'request: method, path, status, duration');
    assert.ok(labels.includes('Error: checkout failed: 502'), 'error: type and message');
    assert.ok(labels.includes('error: checkout failed: 502 Bad Gateway'), 'console: level and message');
    assert.ok(labels.includes('card ****** is about to expire'.replace(/^/, 'warn: ')), 'masked text stays masked');
    assert.ok(
      labels.some((l) => /^\/[\w/.-]*$/.test(l)),
      `navigation by its URL path: ${labels}`
    );
    const kinds = await page
      .locator('[data-testid=replay-marker]')
      .evaluateAll((els) => els.map((e) => e.dataset.kind));
    assert.ok(
      kinds.includes('dead_click') && kinds.includes('console'),
      'dead clicks and console messages on the timeline'
    );
    await shot(page, 'events');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the console panel lists time, level and message; clicking one seeks there', async () => {
    const { page, errors } = await openPanel('session=signals');
    await page.locator('[data-testid=replay-tab-console]').click();
    const rows = page.locator('[data-testid=replay-console-entry]');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    const levels = await page
      .locator('[data-testid=replay-console] li')
      .evaluateAll((els) => els.map((e) => e.dataset.level));
    assert.deepEqual(levels, ['error', 'warn']);
    assert.match(await rows.nth(0).textContent(), /0:\d\d\s*error\s*checkout failed: 502 Bad Gateway/);
    const warn = markers().find((m) => m.kind === 'console' && m.name === 'warn');
    await rows.nth(1).click();
    await near(page, warn.time);
    await shot(page, 'console');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the network panel lists method, path, status and duration, marks the failure, links each to its trace', async () => {
    const { page, errors } = await openPanel('session=signals');
    await page.locator('[data-testid=replay-tab-network]').click();
    const rows = page.locator('[data-testid=replay-request]');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    const failed = rows.nth(0);
    assert.equal(await failed.getAttribute('data-failed'), 'true');
    assert.match(await failed.textContent(), /POST\s*\/api\/checkout\s*502\s*131/);
    assert.equal(await rows.nth(1).getAttribute('data-failed'), 'false');
    assert.match(await rows.nth(1).textContent(), /GET\s*\/api\/items\?page=2\s*200\s*12/);
    const href = await failed.locator('[data-testid=replay-request-trace]').getAttribute('href');
    const panes = JSON.parse(new URLSearchParams(href.split('?')[1]).get('panes'));
    assert.equal(panes.replay.datasource, 'tempo', 'the traces data source of the settings');
    assert.equal(panes.replay.queries[0].query, '5b8efff798038103d269b633813fc60c');
    const get = markers().find((m) => m.kind === 'request' && m.url.includes('items'));
    await rows.nth(1).click();
    await near(page, get.time);
    await shot(page, 'network');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('next and previous error step through the errors', async () => {
    const { page, errors } = await openPanel('session=signals');
    await page.locator('[data-testid=replay-event]').first().waitFor();
    const errs = markers().filter((m) => m.kind === 'error');
    const prev = page.locator('[data-testid=replay-prev-error]');
    const next = page.locator('[data-testid=replay-next-error]');
    assert.ok(await prev.isDisabled(), 'no error before the start');
    await next.click();
    await near(page, errs[0].time);
    await next.click();
    await near(page, errs[1].time);
    assert.ok(await next.isDisabled(), 'no error after the last');
    await prev.click();
    await near(page, errs[0].time);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('keyboard: space plays and pauses, arrows step 5 s, 1-4 pick the speed', async () => {
    const { page, errors } = await openPanel('session=signals&skip=0');
    await page.locator('[data-testid=replay-panel]').focus();
    const t0 = await currentMs(page);
    await page.keyboard.press('ArrowRight');
    await near(page, t0 + 5000);
    await page.keyboard.press('ArrowLeft');
    await near(page, t0);
    await page.keyboard.press('3');
    await page.waitForFunction(
      () => document.querySelector('input[aria-label="Speed 4x"], [aria-label="Speed 4x"]')?.checked === true
    );
    await page.keyboard.press(' ');
    await page.locator('[data-testid=replay-play][aria-label=Pause]').waitFor();
    const t1 = await currentMs(page);
    await page.waitForTimeout(1000);
    await page.keyboard.press(' ');
    await page.locator('[data-testid=replay-play][aria-label=Play]').waitFor();
    const played = (await currentMs(page)) - t1;
    assert.ok(played > 2500, `4x for ~1 s advanced ${played} ms`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('inactive stretches are shaded on the timeline where nobody did anything', async () => {
    const { page, errors } = await openPanel('session=idle');
    // the shading covers what is loaded (the stream is read a minute ahead of playback)
    await page.waitForTimeout(1500);
    const timeline = page.locator('[data-testid=replay-timeline]');
    const from = Number(await timeline.getAttribute('data-loaded-from'));
    const until = Number(await timeline.getAttribute('data-loaded-until'));
    const want = expectedInactive(srv.sessions.idle.events, from, until);
    assert.ok(
      want.some(([a, b]) => b - a >= 30_000),
      'the fixture has its 30 s pause'
    );
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid=replay-inactive]').length === n,
      want.length,
      {
        timeout: 10_000,
      }
    );
    const got = await page
      .locator('[data-testid=replay-inactive]')
      .evaluateAll((els) => els.map((e) => [Number(e.dataset.from), Number(e.dataset.to)]));
    assert.deepEqual(got, want);
    const box = await page.locator('[data-testid=replay-inactive]').first().boundingBox();
    assert.ok(box.width > 5, `shaded stretch visible (${box.width}px)`);
    await page.locator('[data-testid=replay-timeline]').screenshot({ path: path.join(shots, 'inactive.png') });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('full screen fills the screen with the panel, and leaves it', async () => {
    const { page, errors } = await openPanel('session=signals');
    await page.locator('[data-testid=replay-fullscreen]').click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid=replay-panel]')?.dataset.fullscreen === 'true'
    );
    const box = await page.locator('[data-testid=replay-panel]').boundingBox();
    const vp = page.viewportSize();
    assert.ok(
      Math.abs(box.width - vp.width) < 2 && Math.abs(box.height - vp.height) < 2,
      `panel ${box.width}x${box.height}`
    );
    await shot(page, 'fullscreen');
    await page.locator('[data-testid=replay-fullscreen]').click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid=replay-panel]')?.dataset.fullscreen === 'false'
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('copy link at this moment: the URL with $session and the replay time opens the panel there', async () => {
    const { page, errors } = await openPanel('session=signals');
    const target = markers().find((m) => m.kind === 'dead_click').time;
    await page.locator('[data-testid=replay-marker][data-kind=dead_click]').click();
    await near(page, target);
    const at = await currentMs(page);
    await page.locator('[data-testid=replay-copy-link]').click();
    await page.locator('[data-testid=replay-link-bar]', { hasText: 'Link copied' }).waitFor();
    const link = await page.locator('[data-testid=replay-link]').inputValue();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link, 'on the clipboard');
    const u = new URL(link);
    assert.equal(u.searchParams.get('var-session'), 'signals');
    assert.equal(Number(u.searchParams.get('var-replay_time')), at);
    await shot(page, 'copy-link');
    await page.close();

    const opened = await context.newPage();
    opened.on('pageerror', (e) => errors.push(e.message));
    await opened.goto(link.replace(/([?&])session=signals&?/, '$1'));
    await opened.locator('[data-testid=replay-frame] iframe').waitFor();
    await near(opened, at, 600);
    assert.deepEqual(errors, []);
    await opened.close();
  });

  test('the details drawer shows device, OS, browser, country, user id, entry URL and pages', async () => {
    const { page, errors } = await openPanel('session=signals');
    await page.locator('[data-testid=replay-details-toggle]').click();
    await page.locator('[data-testid=replay-details-device]').waitFor();
    const text = (id) => page.locator(`[data-testid=replay-details-${id}]`).textContent();
    assert.equal(await text('device'), 'desktop');
    assert.equal(await text('os'), 'Linux');
    assert.equal(await text('browser'), 'Chromium');
    assert.equal(await text('country'), 'FR');
    assert.equal(await text('user'), 'alice@example.com');
    const hrefs = [...new Set(srv.sessions.signals.events.filter((e) => e.type === 4).map((e) => e.data.href))];
    assert.equal(await text('entry-url'), hrefs[0]);
    assert.deepEqual(await page.locator('[data-testid=replay-details-pages] li').allTextContents(), hrefs);
    await shot(page, 'details');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a live session follows new chunks as they land, shows "Live", and stops following on a seek back', async () => {
    const { page, errors } = await openPanel('session=live');
    const live = page.locator('[data-testid=replay-live]');
    await live.waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid=replay-live]')?.dataset.following === 'true');
    assert.match(await live.textContent(), /Live/);
    const t0 = await currentMs(page);
    // new chunks land every 5 s (the server serves a chunk once its recorded end has passed): the frame follows
    await page.waitForFunction(
      (t) => Number(document.querySelector('[data-testid=replay-current-time]')?.getAttribute('data-ms')) > t + 3000,
      t0,
      { timeout: 20_000 }
    );
    const polls = srv.log.filter((e) => e.session === 'live' && e.after !== null);
    assert.ok(polls.length > 0, 'asked for the chunks after the newest one');
    assert.ok(
      polls.every((p) => p.sent.every((c) => c.start >= p.after)),
      'only new chunks sent'
    );
    await shot(page, 'live');

    const box = await page.locator('[data-testid=replay-timeline]').boundingBox();
    await page.mouse.click(box.x + box.width * 0.1, box.y + 4);
    await page.waitForFunction(
      () => document.querySelector('[data-testid=replay-live]')?.dataset.following === 'false'
    );
    assert.match(await live.textContent(), /Go live/);
    const held = await currentMs(page);
    await page.waitForTimeout(LIVE_WAIT);
    assert.ok(Math.abs((await currentMs(page)) - held) < 500, 'stays where the viewer went');
    await live.click();
    await page.waitForFunction(() => document.querySelector('[data-testid=replay-live]')?.dataset.following === 'true');
    assert.ok((await currentMs(page)) > held + 5000, 'back at the newest moment');
    assert.deepEqual(errors, []);
    await page.close();
  });
});

// longer than a live poll plus a chunk interval: a follower would have moved
const LIVE_WAIT = 6000;
