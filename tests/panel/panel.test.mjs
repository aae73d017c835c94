// Chromium test of the replay panel: `npm run test:panel` (bundles the harness first, then `node --test`).
// Drives Debian's chromium with playwright-core against a local server that serves the data source's resource API
// from a real rrweb recording (shared/fixtures/rrweb/rrweb-player-demo-demoit.events.json).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { loopbackOnly } from '../internal/loopback.mjs';

import { compare, grid, variance } from './imagediff.mjs';
import { startServer } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bundleDir = path.resolve(here, '../../node_modules/.cache/sessionreplay-panel-harness');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('replay panel in Chromium', { timeout: 110_000 }, () => {
  let srv;
  let browser;

  before(async () => {
    srv = await startServer({ bundleDir });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  async function openPanel(query) {
    const page = await browser.newPage({ viewport: { width: 1040, height: 620 } });
    await loopbackOnly(page);
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${srv.url}/?${query}`);
    await page.locator('[data-testid=replay-frame] iframe').waitFor({ timeout: 15_000 });
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid=replay-current-time]');
      return el && el.getAttribute('data-ms') !== '';
    });
    return { page, errors };
  }

  const currentMs = (page) =>
    page
      .locator('[data-testid=replay-current-time]')
      .getAttribute('data-ms')
      .then((v) => Number(v));

  test('first frame renders the recorded page (compared with rrweb Replayer rebuilding it directly)', async () => {
    const { page, errors } = await openPanel('session=demoit');
    await page.waitForTimeout(1000);
    const panelShot = await page.locator('[data-testid=replay-frame] iframe').screenshot();

    const ref = await browser.newPage({ viewport: { width: 1300, height: 800 } });

    await loopbackOnly(ref);
    await ref.goto(`${srv.url}/reference.html?session=demoit`);
    await ref.waitForFunction(() => window.__ready === true);
    await ref.locator('iframe').waitFor();
    await ref.waitForTimeout(1000);
    const refShot = await ref.locator('iframe').screenshot();
    await ref.close();

    const a = grid(panelShot);
    const b = grid(refShot);
    const { meanDiff, badCells } = compare(a, b);
    console.log(
      `# screenshot panel ${a.width}x${a.height} vs reference ${b.width}x${b.height}: mean cell diff ${meanDiff.toFixed(
        2
      )}/255, cells off by >40: ${(badCells * 100).toFixed(1)}% (threshold: mean < 12, cells < 5%)`
    );
    assert.ok(variance(a) > 100, 'the replay frame is not blank');
    assert.ok(Math.abs(a.width / a.height - b.width / b.height) < 0.03, 'recorded viewport aspect ratio kept');
    assert.ok(meanDiff < 12, `mean diff ${meanDiff}`);
    assert.ok(badCells < 0.05, `bad cells ${badCells}`);
    const viewport = await page.locator('[data-testid=replay-viewport]').textContent();
    assert.match(viewport, /1166×705/);
    assert.match(await page.locator('[data-testid=replay-url]').textContent(), /demoit\.app/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('play advances time; a speed change applies; clicking a marker seeks', async () => {
    const { page, errors } = await openPanel('session=demoit&skip=0');
    const t0 = await currentMs(page);
    await page.locator('[data-testid=replay-play]').click();
    await page.waitForTimeout(1500);
    const t1 = await currentMs(page);
    const d1 = t1 - t0;
    assert.ok(d1 > 900 && d1 < 2500, `1x advanced ${d1} ms in 1.5 s`);

    await page
      .getByRole('radio', { name: 'Speed 4x' })
      .click({ force: true })
      .catch(() => page.getByText('4x', { exact: true }).click());
    await page.waitForTimeout(200);
    const t2 = await currentMs(page);
    await page.waitForTimeout(1500);
    const t3 = await currentMs(page);
    const ratio = (t3 - t2) / d1;
    console.log(`# 1x: ${d1} ms, 4x: ${t3 - t2} ms in 1.5 s (ratio ${ratio.toFixed(2)})`);
    assert.ok(ratio > 2.8 && ratio < 5.5, `4x ratio ${ratio}`);

    await page.locator('[data-testid=replay-play]').click(); // pause
    const marker = page.locator('[data-testid=replay-marker][data-kind=error]').first();
    const target = Number(await marker.getAttribute('data-time'));
    await marker.click();
    await page.waitForTimeout(400);
    const t4 = await currentMs(page);
    assert.ok(Math.abs(t4 - target) < 300, `seeked to ${t4}, marker at ${target}`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('seeking to a late time requests from= and receives only chunks from the nearest full snapshot on', async () => {
    const { page, errors } = await openPanel('session=long&skip=0');
    const s = srv.sessions.long;
    const firstReq = srv.log.filter((e) => e.session === 'long').at(-1);
    assert.equal(firstReq.from, null);
    // progressive: the first request reads only as far as playback needs (lookahead), not the whole session
    await page.waitForTimeout(500);
    const loadedUntil = Number(await page.locator('[data-testid=replay-timeline]').getAttribute('data-loaded-until'));
    const readFirst = loadedUntil - s.start;

    const box = await page.locator('[data-testid=replay-timeline]').boundingBox();
    await page.mouse.click(box.x + box.width * 0.8, box.y + 2);
    await page.waitForFunction(
      (n) =>
        fetch('/__log')
          .then((r) => r.json())
          .then((l) => l.filter((e) => e.session === 'long').length > n),
      srv.log.filter((e) => e.session === 'long').length
    );
    const req = srv.log.filter((e) => e.session === 'long').at(-1);
    const target = s.start + (s.end - s.start) * 0.8;
    assert.ok(req.from !== null && Math.abs(req.from - target) < (s.end - s.start) * 0.02, `from=${req.from}`);

    const snapshots = s.chunks.filter((c) => c.fullSnapshot);
    const nearest = snapshots.filter((c) => c.start <= req.from).at(-1);
    await page.waitForTimeout(800);
    assert.ok(req.sent.length > 0);
    assert.equal(req.sent[0].seq, nearest.seq, 'stream starts at the nearest full snapshot before from');
    assert.ok(req.sent[0].fullSnapshot);
    assert.ok(
      req.sent.every((c) => c.seq >= nearest.seq),
      'no chunk before that snapshot'
    );
    console.log(
      `# long session: ${s.chunks.length} chunks, ${snapshots.length} full snapshots; first request read ${readFirst} ms of recording; ` +
        `seek from=${req.from - s.start} ms -> chunks ${req.sent.map((c) => c.seq).join(',')} (snapshot chunk ${nearest.seq})`
    );
    assert.ok(
      readFirst > 0 && readFirst < (s.end - s.start) / 3,
      `first request read ${readFirst} ms of ${s.end - s.start}`
    );

    await page.waitForFunction((t) => {
      const v = Number(document.querySelector('[data-testid=replay-current-time]')?.getAttribute('data-ms'));
      return Math.abs(v - t) < 1000;
    }, req.from);
    assert.deepEqual(errors, []);
    await page.close();
  });

  /** The panel's replay frame against rrweb's Replayer rebuilding the recording `session` directly. */
  async function matchesReference(page, session, label) {
    const panelShot = await page.locator('[data-testid=replay-frame] iframe').screenshot();
    const ref = await browser.newPage({ viewport: { width: 1300, height: 800 } });
    await loopbackOnly(ref);
    await ref.goto(`${srv.url}/reference.html?session=${session}`);
    await ref.waitForFunction(() => window.__ready === true);
    await ref.locator('iframe').waitFor();
    await ref.waitForTimeout(1000);
    const refShot = await ref.locator('iframe').screenshot();
    await ref.close();
    const a = grid(panelShot);
    const b = grid(refShot);
    const { meanDiff, badCells } = compare(a, b);
    console.log(
      `# ${label}: panel ${a.width}x${a.height} vs reference ${b.width}x${b.height}: mean cell diff ${meanDiff.toFixed(2)}/255, ` +
        `cells off by >40: ${(badCells * 100).toFixed(1)}% (threshold: mean < 12, cells < 5%)`
    );
    assert.ok(variance(a) > 100, `${label}: the replay frame is not blank`);
    assert.ok(
      Math.abs(a.width / a.height - b.width / b.height) < 0.03,
      `${label}: recorded viewport aspect ratio kept`
    );
    assert.ok(meanDiff < 12 && badCells < 0.05, `${label}: mean diff ${meanDiff}, bad cells ${badCells}`);
  }

  const replayRequests = (session) => srv.log.filter((e) => e.session === session);

  test('a session with two documents recording at once plays one track at a time; the selector switches', async () => {
    const before = replayRequests('twodocs').length;
    const { page, errors } = await openPanel('session=twodocs');
    const first = replayRequests('twodocs').at(-1);
    assert.equal(replayRequests('twodocs').length, before + 1);
    assert.equal(first.track, 0);
    await page.waitForTimeout(1000);
    assert.ok(
      first.sent.length > 0 && first.sent.every((c) => c.windowId === 'top'),
      'track 0 holds the top page only'
    );
    await page.locator('[data-testid=replay-tracks]').waitFor();
    assert.match(await page.locator('[data-testid=replay-url]').textContent(), /demoit\.app/);
    await matchesReference(page, 'demoit', 'track Page');

    await page.getByRole('radio', { name: 'Track Frame 1' }).click();
    await page.waitForFunction(
      (n) =>
        fetch('/__log')
          .then((r) => r.json())
          .then((l) => l.filter((e) => e.session === 'twodocs').length > n),
      before + 1
    );
    const second = replayRequests('twodocs').at(-1);
    assert.equal(second.track, 1);
    await page.waitForFunction(() =>
      /csb\.app/.test(document.querySelector('[data-testid=replay-url]')?.textContent ?? '')
    );
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid=replay-viewport]');
      return el && /632×397/.test(el.textContent ?? '');
    });
    await page.waitForTimeout(1000);
    assert.ok(
      second.sent.length > 0 && second.sent.every((c) => c.windowId === 'frame'),
      'track 1 holds the frame only'
    );
    await matchesReference(page, 'framedoc', 'track Frame 1');

    await page.getByRole('radio', { name: 'Track Page' }).click();
    await page.waitForFunction(() =>
      /demoit\.app/.test(document.querySelector('[data-testid=replay-url]')?.textContent ?? '')
    );
    assert.equal(replayRequests('twodocs').at(-1).track, 0);
    console.log(
      `# two documents: track 0 ${first.sent.length} chunks (windows ${[...new Set(first.sent.map((c) => c.windowId))]}), ` +
        `track 1 ${second.sent.length} chunks (windows ${[...new Set(second.sent.map((c) => c.windowId))]})`
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a session with one track shows no track selector', async () => {
    const { page, errors } = await openPanel('session=demoit');
    await page.waitForTimeout(500);
    assert.equal(await page.locator('[data-testid=replay-tracks]').count(), 0);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
