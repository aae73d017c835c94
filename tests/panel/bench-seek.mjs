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
  const before = (await (await fetch(`${srv.url}/__log`)).json()).length;
  await page.goto(`${srv.url}/?session=long30&replay_time=${target}&skip=0&w=1220&h=780`);
  await page.waitForFunction(
    (want) => {
      const el = document.querySelector('[data-testid=replay-current-time]');
      const frame = document.querySelector('[data-testid=replay-frame] iframe');
      const body = frame && frame.contentDocument && frame.contentDocument.body;
      return el && Math.abs(Number(el.getAttribute('data-ms')) - want) < 1500 && body && body.innerText.trim().length > 0;
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
  const pm = median(p.map((x) => x.ms));
  const wm = median(w.map((x) => x.ms));
  for (const [name, runs] of [['panel', p], ['whole', w]]) {
    const m = runs.map((r) => r.marks);
    const med = (k) => median(m.map((x) => x[k]).filter((x) => Number.isFinite(x))).toFixed(0);
    console.error(
      `# ${name}: mount ${med('mount')} ms, request ${med('request')}, meta ${med('meta')}, first chunk ${med('first-chunk')}, replayer ${med('replayer')}, first frame ${med('first-frame')}, shown ${median(runs.map((r) => r.ms)).toFixed(0)} (ms from navigation)`
    );
  }
  const pb = p[0].bytes;
  const wb = w[0].bytes;
  console.log(`| replay in Chromium: first frame at minute 25 of a ${((s.end - s.start) / 60000).toFixed(1)}-minute session (${s.chunks.length} chunks) | panel (streams from the nearest full snapshot): ${(pb / 1e6).toFixed(2)} MB, ${pm.toFixed(0)} ms | the same panel served from the session's start: ${(wb / 1e6).toFixed(2)} MB, ${wm.toFixed(0)} ms | read little, open fast | ${(wb / pb).toFixed(0)}x fewer bytes, ${(wm / pm).toFixed(1)}x faster (median of ${ROUNDS}) |`);
} finally {
  await browser.close();
  await srv.close();
}
