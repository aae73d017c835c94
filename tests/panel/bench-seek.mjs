// Replay benchmark in Chromium: open a 30-minute session at minute 25 with the real replay panel, once served from
// the nearest full snapshot before the wanted time (what the data source does) and once from the session's start
// (loading the whole session up to there, as a store without seek support would). Same page, same player: the
// difference is the data. Reports bytes transferred and time from navigation to the first frame at minute 25.
//
//   node tests/panel/build-harness.mjs && node tests/panel/bench-seek.mjs
//
// The session is a real recording (rrweb-player-demo-demoit, 81 s) repeated to 30 minutes, chunked every 5 s, so a
// full snapshot comes with each repetition (as a recorder with a checkout every ~80 s makes).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { loopbackOnly } from '../internal/loopback.mjs';

import { loadRecording, repeatRecording } from './fixtures.mjs';
import { sessionsFrom, startServer } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bundleDir = path.resolve(here, '../../node_modules/.cache/sessionreplay-panel-harness');
const ROUNDS = Number(process.env.ROUNDS ?? 5);

const demo = loadRecording('rrweb-player-demo-demoit.events.json');
const spanMs = demo[demo.length - 1].timestamp - demo[0].timestamp + 2000;
const long = repeatRecording(demo, Math.ceil((30 * 60_000) / spanMs));
const extraSessions = sessionsFrom({ long30: long.filter((e) => e.timestamp - long[0].timestamp <= 30 * 60_000) });
const s = extraSessions.long30;
const target = s.start + 25 * 60_000;

const srv = await startServer({ bundleDir, chunkDelayMs: 0, extraSessions });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const median = (v) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function panel() {
  const page = await browser.newPage({ viewport: { width: 1240, height: 800 } });
  await loopbackOnly(page);
  const before = (await (await fetch(`${srv.url}/__log`)).json()).length;
  await page.goto(`${srv.url}/?session=long30&replay_time=${target}&skip=0&w=1220&h=780`);
  await page.waitForFunction(
    (want) => {
      const el = document.querySelector('[data-testid=replay-current-time]');
      const frame = document.querySelector('[data-testid=replay-frame] iframe');
      const body = frame && frame.contentDocument && frame.contentDocument.body;
      return (
        el && Math.abs(Number(el.getAttribute('data-ms')) - want) < 1500 && body && body.innerText.trim().length > 0
      );
    },
    target,
    { polling: 20, timeout: 60_000 }
  );
  const ms = await page.evaluate(() => performance.now());
  // where the time went: the bundle (navigation to the panel's mount), then the panel's own marks (timing.ts)
  const marks = await page.evaluate(() => {
    const first = {};
    for (const m of performance.getEntriesByType('mark')) {
      if (m.name.startsWith('sessionreplay:') && !(m.name in first)) {
        first[m.name.slice('sessionreplay:'.length)] = m.startTime;
      }
    }
    const replay = performance.getEntriesByType('resource').find((r) => r.name.includes('/replay'));
    return { ...first, responseStart: replay?.responseStart, responseEnd: replay?.responseEnd };
  });
  const log = (await (await fetch(`${srv.url}/__log`)).json()).slice(before);
  const bytes = log.flatMap((e) => e.sent).reduce((a, c) => a + c.bytes, 0);
  await page.close();
  return { ms, bytes, marks };
}

async function whole() {
  await fetch(`${srv.url}/__ignore-from?on=1`);
  try {
    return await panel();
  } finally {
    await fetch(`${srv.url}/__ignore-from?on=0`);
  }
}

try {
  const p = [];
  const w = [];
  for (let i = 0; i < ROUNDS; i++) {
    p.push(await panel());
    w.push(await whole());
  }
  // where the time goes, from the panel's performance marks (src/panel/replay/timing.ts), medians in ms:
  // bundle = navigation -> mount (loading and evaluating the JS), then the panel's own part: mount -> request
  // (first commit), request -> meta (server), first chunk -> replayer (rebuild and fast-forward to minute 25), and
  // the frame on screen (the panel's clock showing minute 25 with the page's text laid out)
  const parts = (runs) => {
    const med = (k) => median(runs.map((r) => r.marks[k]).filter((x) => Number.isFinite(x)));
    const shown = median(runs.map((r) => r.ms));
    return {
      bundle: med('mount'),
      request: med('request') - med('mount'),
      response: med('meta') - med('request'),
      data: med('first-frame') - med('meta'),
      rebuild: med('first-frame') - med('first-chunk'),
      panel: med('first-frame') - med('mount'),
      panelShown: shown - med('mount'),
      total: shown,
    };
  };
  const pp = parts(p);
  const wp = parts(w);
  for (const [name, x] of [
    ['from the nearest full snapshot', pp],
    ['from the session start', wp],
  ]) {
    console.error(
      `# ${name}: bundle ${x.bundle.toFixed(0)} ms | panel: mount->request ${x.request.toFixed(0)}, request->meta ${x.response.toFixed(0)}, ` +
        `meta->first frame ${x.data.toFixed(0)} (first chunk -> first frame: rest of the data, rebuild, fast-forward ${x.rebuild.toFixed(0)}), ` +
        `mount->first frame ${x.panel.toFixed(0)}, mount->shown ${x.panelShown.toFixed(0)} | total ${x.total.toFixed(0)}`
    );
  }
  const pb = p[0].bytes;
  const wb = w[0].bytes;
  const fig = (b, x) =>
    `${(b / 1e6).toFixed(2)} MB; panel part (mount to first frame) ${x.panel.toFixed(0)} ms; total (navigation to the frame shown) ${x.total.toFixed(0)} ms`;
  console.log(
    `| replay in Chromium: first frame at minute 25 of a ${((s.end - s.start) / 60000).toFixed(1)}-minute session (${s.chunks.length} chunks) ` +
      `| panel streaming from the nearest full snapshot: ${fig(pb, pp)} | the same panel served from the session's start: ${fig(wb, wp)} ` +
      `| panel part < 1 s, read little | panel part ${pp.panel < 1000 ? 'under' : 'OVER'} 1 s; ${(wb / pb).toFixed(0)}x fewer bytes, ` +
      `${(wp.panel / pp.panel).toFixed(1)}x faster panel part, ${(wp.total / pp.total).toFixed(1)}x faster total (median of ${ROUNDS}); ` +
      `where the time goes: bundle ${pp.bundle.toFixed(0)} ms before mount, then mount->request ${pp.request.toFixed(0)}, ` +
      `request->first line ${pp.response.toFixed(0)}, first line->first frame ${pp.data.toFixed(0)} (from the start: ${wp.data.toFixed(0)}, ` +
      `reading and fast-forwarding 25 minutes) |`
  );
} finally {
  await browser.close();
  await srv.close();
}
