// Where assets are put back into the events, measured in Chromium with the real replay panel (tests/panel/harness.tsx,
// the page of bench-seek.mjs) over the real plugin binary and the embedded ClickHouse: opening a 30-minute session
// at minute 25 with (a) the backend re-inlining the stylesheets (the replay stream carries whole events), (b) the
// panel fetching each asset once from the data source's assets resource and re-inlining it, with a cold browser
// cache, and (c) the same with a warm cache (another session of the same site opened before in the same browser
// profile) — each on loopback and on a throttled network (CDP Network.emulateNetworkConditions: a Grafana reached
// over a WAN). Reports time to the first frame and the bytes the page moved for its data, medians of ROUNDS.
//
// Started by the Go side, which stores the sessions and serves the page and Grafana's API from the plugin:
//
//   go test -run '^$' -bench BenchmarkPanelAssets -benchtime 1x ./collector-receiver/internal/assets/
//
// With BENCH_ASSETS.mode = "check" it is a test instead: the frame at the wanted time must be the same pixels with
// the assets re-inlined in the panel as with the backend's whole events.
import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.env.BENCH_ASSETS ?? '{}');
const ROUNDS = Number(process.env.ROUNDS ?? cfg.rounds ?? 5);
// a Grafana reached over a WAN: 20 Mbit/s down, 10 up, 20 ms latency
const WAN = { offline: false, latency: 20, downloadThroughput: 20e6 / 8, uploadThroughput: 10e6 / 8 };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  // Loopback only, without page.route (which turns the HTTP cache off, and the cache is what (c) measures): every
  // other host name resolves to nothing, so the replayed page's own images fail at once.
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  ],
});
const median = (v) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** Opens the panel on a session at a time in a page of context and waits for the frame to show that time. */
async function open(context, session, assets, network) {
  const page = await context.newPage({ viewport: { width: 1240, height: 800 } });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  if (network) {
    await cdp.send('Network.emulateNetworkConditions', network);
  }
  const urls = new Map();
  const cached = new Set();
  let dataBytes = 0;
  let assetRequests = 0;
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.requestServedFromCache', (e) => cached.add(e.requestId));
  cdp.on('Network.responseReceived', (e) => {
    if (e.response.fromDiskCache || e.response.fromPrefetchCache) {
      cached.add(e.requestId);
    }
  });
  // bytes as they arrive (the replay stream is read only as far as the frame needs: it does not finish)
  cdp.on('Network.dataReceived', (e) => {
    const url = urls.get(e.requestId) ?? '';
    if (url.includes('/api/') && !cached.has(e.requestId)) {
      dataBytes += e.encodedDataLength || e.dataLength;
    }
  });
  cdp.on('Network.loadingFinished', (e) => {
    if ((urls.get(e.requestId) ?? '').includes('/resources/assets/') && !cached.has(e.requestId)) {
      assetRequests++;
    }
  });
  const q = new URLSearchParams({ session: session.id, replay_time: String(session.target), skip: '0', w: '1220', h: '780' });
  q.set('assets', assets);
  await page.goto(`${cfg.url}/?${q}`);
  await page.waitForFunction(
    (want) => {
      const el = document.querySelector('[data-testid=replay-current-time]');
      const frame = document.querySelector('[data-testid=replay-frame] iframe');
      const body = frame && frame.contentDocument && frame.contentDocument.body;
      return (
        el && Math.abs(Number(el.getAttribute('data-ms')) - want) < 1500 && body && body.innerText.trim().length > 0
      );
    },
    session.target,
    { polling: 20, timeout: 120_000 }
  );
  const shown = await page.evaluate(() => performance.now());
  // the panel's marks (src/panel/replay/timing.ts): where its part of the time goes
  const marks = await page.evaluate(() => {
    const at = (name) => performance.getEntriesByName(`sessionreplay:${name}`, 'mark')[0]?.startTime ?? Number.NaN;
    return { mount: at('mount'), request: at('request'), meta: at('meta'), chunk: at('first-chunk'), frame: at('first-frame') };
  });
  const mount = marks.mount;
  // the stream's and the assets' bytes have all arrived once the frame shows; give the last events a moment
  await page.waitForTimeout(50);
  return {
    page,
    panelMs: shown - mount,
    totalMs: shown,
    dataBytes,
    assetRequests,
    toMeta: marks.meta - marks.request,
    toChunk: marks.chunk - marks.meta,
    toFrame: marks.frame - marks.chunk,
  };
}

/**
 * One measured open in a fresh browser profile. Every case first opens the other session of the site in that
 * profile, so all three start from the same history (page bundle cached, a page closed before): (c) opens it with
 * the panel fetching its assets, which warms the cache with the site's stylesheets; (a) and (b) open it with the
 * backend re-inlining, which leaves the asset cache cold.
 */
async function run(kind, network) {
  const context = await browser.newContext();
  try {
    const before = await open(context, cfg.other, kind === 'panel-warm' ? 'panel' : 'backend', undefined);
    await before.page.close();
    await new Promise((r) => setTimeout(r, 300));
    const r = await open(context, cfg.long, kind === 'backend' ? 'backend' : 'panel', network);
    await r.page.close();
    return r;
  } finally {
    await context.close();
  }
}

async function frame(kind) {
  const context = await browser.newContext();
  try {
    const r = await open(context, cfg.long, kind, undefined);
    // the recorded page's own animations (a spinner) stopped, so the frame is the same on every render
    const dom = await r.page.evaluate(() => {
      const doc = document.querySelector('[data-testid=replay-frame] iframe').contentDocument;
      for (const a of doc.getAnimations()) {
        a.pause();
        a.currentTime = 0;
      }
      for (const svg of doc.querySelectorAll('svg')) {
        svg.pauseAnimations?.();
        svg.setCurrentTime?.(0);
      }
      // the document as rebuilt, with the text of its stylesheets (what the assets are)
      return doc.documentElement.outerHTML;
    });
    await r.page.waitForTimeout(300);
    const shot = await r.page.locator('[data-testid=replay-frame] iframe').screenshot({ animations: 'disabled' });
    return { shot, dom, assetRequests: r.assetRequests };
  } finally {
    await context.close();
  }
}

try {
  if (cfg.mode === 'check') {
    const backend = await frame('backend');
    const panel = await frame('panel');
    if (process.env.BENCH_ASSETS_SHOTS) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(`${process.env.BENCH_ASSETS_SHOTS}/backend.png`, backend.shot);
      writeFileSync(`${process.env.BENCH_ASSETS_SHOTS}/panel.png`, panel.shot);
      writeFileSync(`${process.env.BENCH_ASSETS_SHOTS}/backend2.png`, (await frame('backend')).shot);
    }
    console.log(
      'JSON ' +
        JSON.stringify({
          samePixels: backend.shot.equals(panel.shot),
          sameDocument: backend.dom === panel.dom,
          documentChars: panel.dom.length,
          assetRequests: panel.assetRequests,
          bytes: panel.shot.length,
        })
    );
  } else {
    const kinds = ['backend', 'panel-cold', 'panel-warm'];
    const nets = { loopback: undefined, wan: WAN };
    const runs = {};
    for (let i = 0; i < ROUNDS; i++) {
      for (const [net, conditions] of Object.entries(nets)) {
        for (const kind of kinds) {
          (runs[`${kind}/${net}`] ??= []).push(await run(kind, conditions));
        }
      }
    }
    const fig = {};
    console.log(`| where assets are re-inlined (median of ${ROUNDS}) | network | panel: mount to first frame | navigation to first frame | data bytes moved | asset requests |`);
    console.log('|---|---|---|---|---|---|');
    for (const [net] of Object.entries(nets)) {
      for (const kind of kinds) {
        const rs = runs[`${kind}/${net}`];
        const f = {
          panelMs: median(rs.map((r) => r.panelMs)),
          totalMs: median(rs.map((r) => r.totalMs)),
          dataBytes: median(rs.map((r) => r.dataBytes)),
          assetRequests: median(rs.map((r) => r.assetRequests)),
        };
        fig[`${kind}/${net}`] = f;
        const m = (k) => median(rs.map((r) => r[k])).toFixed(0);
        console.error(
          `# ${kind}/${net}: request->meta ${m('toMeta')} ms, meta->first chunk (its assets in) ${m('toChunk')} ms, ` +
            `first chunk->first frame ${m('toFrame')} ms; panel part per run: ${rs.map((r) => r.panelMs.toFixed(0)).join(' ')}`
        );
        const name = { backend: '(a) backend', 'panel-cold': '(b) panel, cold cache', 'panel-warm': '(c) panel, warm cache' }[kind];
        const netName = net === 'wan' ? '20 Mbit/s, 20 ms' : 'loopback';
        console.log(
          `| ${name} | ${netName} | ${f.panelMs.toFixed(0)} ms | ${f.totalMs.toFixed(0)} ms | ${(f.dataBytes / 1e6).toFixed(2)} MB | ${f.assetRequests} |`
        );
      }
    }
    console.log('JSON ' + JSON.stringify(fig));
  }
} finally {
  await browser.close();
}
