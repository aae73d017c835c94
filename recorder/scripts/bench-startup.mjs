// Startup benchmark: what starting to record costs the main thread of a big page, plain @rrweb/record against
// our core recorder (sliced full snapshot), on generated pages (test/bigpage.mjs). Chromium Long Tasks API:
// every task over 50 ms; total blocking time = sum of (duration - 50 ms) of those.
import { bigPage } from '../test/bigpage.mjs';

export const SIZES = (process.env.STARTUP_SIZES || '10000,50000,100000').split(',').map(Number);
export const STARTUP_PASSES = Number(process.env.STARTUP_PASSES || 5);
const START_AFTER_MS = 1500;
const WINDOW_MS = 3000;

/** The page of one run: n elements, the recorder script of the mode, nothing started. */
export function startupPage(mode, n) {
  const src = mode === 'plain' ? '/plain-record.min.js' : '/sessionreplay.min.js';
  return bigPage(n, { head: `<script src="${src}"></script>` });
}

// In the page: starts recording, returns the long tasks (relative to the start), when the full snapshot was
// emitted, and (core) when the first chunk left for the endpoint.
async function runInPage([mode, windowMs]) {
  const tasks = [];
  const po = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) tasks.push({ start: e.startTime, duration: e.duration });
  });
  po.observe({ type: 'longtask' });
  let snapAt = 0;
  let sentAt = 0;
  let t0 = 0;
  // started in a task of the page's own (a task of the DevTools protocol's evaluate is no long task to Chromium)
  await new Promise((started) =>
    setTimeout(() => {
      t0 = performance.now();
      if (mode === 'plain') {
        window.buf = [];
        window.rrwebRecord({
          emit: (e) => {
            window.buf.push(e);
            if (e.type === 2 && !snapAt) snapAt = performance.now();
          },
        });
      } else {
        const f = window.fetch;
        window.fetch = function (u) {
          if (String(u).includes('/v1/logs') && !sentAt) sentAt = performance.now();
          return f.apply(this, arguments);
        };
        const proto = window.SessionReplay.Recorder.prototype;
        const onEvent = proto.onEvent;
        proto.onEvent = function (e) {
          if (e.type === 2 && !snapAt) snapAt = performance.now();
          return onEvent.call(this, e);
        };
        window.SessionReplay.init({ endpoint: location.origin, serviceName: 'bench' });
      }
      started();
    }, 0)
  );
  const done = () => snapAt && (mode === 'plain' || sentAt) && performance.now() - t0 > windowMs;
  while (!done() && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300)); // the last long-task entries
  po.disconnect();
  return {
    tasks: tasks.filter((t) => t.start + t.duration >= t0).map((t) => ({ start: t.start - t0, duration: t.duration })),
    snapshotMs: snapAt - t0,
    firstChunkMs: sentAt ? sentAt - t0 : null,
    until: performance.now() - t0,
    // long tasks as start+duration, for a look at where they fall (DEBUG=1 prints them)
    detail: tasks.map((t) => `${Math.round(t.start - t0)}+${Math.round(t.duration)}`).join(' '),
  };
}

function summarize(r) {
  const blocking = (ts) => ts.reduce((s, t) => s + Math.max(0, t.duration - 50), 0);
  return {
    longest: r.tasks.reduce((m, t) => Math.max(m, t.duration), 0),
    tbt3s: blocking(r.tasks.filter((t) => t.start < WINDOW_MS)),
    tbtAll: blocking(r.tasks),
    snapshotMs: r.snapshotMs,
    firstChunkMs: r.firstChunkMs,
    detail: r.detail,
  };
}

/** Runs every size, modes alternating, STARTUP_PASSES fresh pages each; returns per size and mode the runs. */
export async function runStartup(browser, origin, log = console.log) {
  const out = {};
  for (const n of SIZES) {
    out[n] = { plain: [], core: [] };
    for (let pass = 0; pass < STARTUP_PASSES; pass++) {
      for (const mode of ['plain', 'core']) {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        await page.goto(`${origin}/startup.html?mode=${mode}&n=${n}`, { timeout: 120_000 });
        await page.waitForTimeout(START_AFTER_MS);
        await browser.startTracing(page, { categories: ['devtools.timeline', 'toplevel'] });
        const s = summarize(await page.evaluate(runInPage, [mode, WINDOW_MS]));
        Object.assign(s, cpuTasks(await browser.stopTracing()));
        await page.close();
        out[n][mode].push(s);
        log(`startup n=${n} ${mode} pass ${pass}: longest ${s.longest.toFixed(0)} ms, TBT(3 s) ${s.tbt3s.toFixed(0)} ms, snapshot ${s.snapshotMs.toFixed(0)} ms, longest by CPU ${s.longestCpu.toFixed(0)} ms${process.env.DEBUG ? ', first chunk ' + s.firstChunkMs + ', long tasks ' + s.detail : ''}`);
      }
    }
  }
  return out;
}

/** From a Chromium trace of the run: the renderer main thread's tasks by their thread (CPU) time, which a
 * machine shared with other work does not inflate as it does wall-clock durations (the Long Tasks API). */
function cpuTasks(buf) {
  const ev = JSON.parse(buf.toString('utf8')).traceEvents;
  const main = ev.find((e) => e.name === 'thread_name' && e.args && e.args.name === 'CrRendererMain');
  const cpu = ev
    .filter((e) => e.ph === 'X' && main && e.tid === main.tid && e.pid === main.pid && e.name === 'ThreadControllerImpl::RunTask')
    .map((e) => (e.tdur || 0) / 1000);
  return { longestCpu: Math.max(0, ...cpu), tbtCpu: cpu.reduce((s, d) => s + Math.max(0, d - 50), 0) };
}

const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const ms = (x) => (x == null ? '–' : `${Math.round(x).toLocaleString('en-US')} ms`);

/** Markdown table of the medians, with the goals. */
export function startupTable(out) {
  const rows = [
    '| elements | longest task, plain rrweb | longest task, core | TBT in 3 s, plain rrweb | TBT in 3 s, core | TBT until the first chunk is sent, core | longest task by CPU, plain rrweb | longest task by CPU, core | TBT by CPU, plain / core | full snapshot complete, plain rrweb | full snapshot complete, core | first chunk sent, core | goals met |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const n of Object.keys(out)) {
    const m = (mode, k) => med(out[n][mode].map((s) => s[k]));
    const longest = m('core', 'longest');
    const tbt = m('core', 'tbt3s');
    const tbtPlain = m('plain', 'tbt3s');
    const goals = [];
    const cpu = m('core', 'longestCpu');
    if (Number(n) === 100000) goals.push(`longest <= 100 ms: ${longest <= 100 ? 'yes' : 'NO'} (by CPU: ${cpu <= 100 ? 'yes' : 'NO'})`);
    goals.push(`TBT <= 1/5 of plain: ${tbt <= tbtPlain / 5 ? 'yes' : 'NO'} (by CPU: ${m('core', 'tbtCpu') <= m('plain', 'tbtCpu') / 5 ? 'yes' : 'NO'})`);
    rows.push(
      `| ${Number(n).toLocaleString('en-US')} | ${ms(m('plain', 'longest'))} | ${longest < 50 ? '< 50 ms (no long task)' : ms(longest)} | ${ms(tbtPlain)} | ${ms(tbt)} | ${ms(m('core', 'tbtAll'))} | ${ms(m('plain', 'longestCpu'))} | ${ms(cpu)} | ${ms(m('plain', 'tbtCpu'))} / ${ms(m('core', 'tbtCpu'))} | ${ms(m('plain', 'snapshotMs'))} | ${ms(m('core', 'snapshotMs'))} | ${ms(m('core', 'firstChunkMs'))} | ${goals.join('; ')} |`
    );
  }
  return rows.join('\n') + '\n';
}

/** Every run, for the record. */
export function startupRuns(out) {
  const lines = [];
  for (const n of Object.keys(out))
    for (const mode of ['plain', 'core'])
      lines.push(
        `- ${n} ${mode}: longest ${out[n][mode].map((s) => Math.round(s.longest)).join(', ')}; TBT(3 s) ${out[n][mode].map((s) => Math.round(s.tbt3s)).join(', ')}; longest by CPU ${out[n][mode].map((s) => Math.round(s.longestCpu)).join(', ')}; snapshot ${out[n][mode].map((s) => Math.round(s.snapshotMs)).join(', ')} ms`
      );
  return lines.join('\n') + '\n';
}
