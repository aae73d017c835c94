// Renders recordings side by side in Chromium with rrweb's Replayer and compares the pixels exactly:
// `node tests/fidelity/render.mjs manifest.json` (the Go fidelity test writes the manifest and reads the JSON
// result line this prints last). For every recording and checkpoint it renders the original events twice
// (the sanity check: the rendering must be deterministic) and the events that came back through the pipeline
// once, and counts the differing pixels outside the boxes of the intentionally masked inputs.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const manifest = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const artifacts = manifest.artifacts;
mkdirSync(artifacts, { recursive: true });

const bundle = await build({
  entryPoints: [path.join(here, 'replay-page.mjs')],
  bundle: true,
  write: false,
  outdir: '/replay',
  format: 'iife',
  target: 'es2020',
  logLevel: 'warning',
});
const assets = Object.fromEntries(bundle.outputFiles.map((f) => [`/${path.basename(f.path)}`, f.contents]));
const html =
  '<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/replay-page.css">' +
  // The player's own cursor overlay is hidden: it is not the page, its position is checked with the events,
  // and its translucent click circle composites over the page differently from run to run.
  '<style>html,body{margin:0;background:#fff}*,*::before,*::after{animation:none!important;transition:none!important}' +
  '.replayer-mouse{display:none!important}</style>' +
  '</head><body><div id="root"></div><script src="/replay-page.js"></script></body></html>';

// Only this server is reachable: every other request (recorded pages' fonts, images, scripts) is aborted, the
// same for both replays.
const files = new Map();
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    return res.end(html);
  }
  if (assets[url.pathname]) {
    res.writeHead(200, { 'Content-Type': url.pathname.endsWith('.css') ? 'text/css' : 'text/javascript' });
    return res.end(assets[url.pathname]);
  }
  const f = files.get(url.pathname);
  if (f) {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end(readFileSync(f));
  }
  res.writeHead(404);
  res.end();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--font-render-hinting=none',
  ],
});

async function newPage() {
  const page = await browser.newPage({ viewport: { width: 800, height: 600 }, deviceScaleFactor: 1 });
  await page.route('**/*', (route) =>
    route
      .request()
      .url()
      .startsWith(origin + '/')
      ? route.continue()
      : route.abort()
  );
  page.on('pageerror', (e) => page.__errors.push(e.message));
  page.__errors = [];
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.__ready === true, null, { timeout: 30_000 });
  return page;
}

/** The largest viewport the recording asks for (meta events and viewport resizes). */
function viewportOf(events) {
  let w = 800;
  let h = 600;
  for (const e of events) {
    const isMeta = e.type === 4;
    const isResize = e.type === 3 && e.data?.source === 4;
    if ((isMeta || isResize) && e.data?.width && e.data?.height) {
      w = Math.max(w, e.data.width);
      h = Math.max(h, e.data.height);
    }
  }
  return { width: Math.min(w, 4000), height: Math.min(h, 4000) };
}

async function open(page, src, viewport) {
  page.__errors = [];
  await page.setViewportSize({ width: viewport.width + 20, height: viewport.height + 20 });
  await page.evaluate((s) => window.__load(s), src);
}

/** Pauses the replay at offset and screenshots its iframe; `error` is what the Replayer threw, if anything. */
async function shoot(page, offset) {
  const state = await page.evaluate((t) => window.__pauseAt(t), offset);
  if (state.hidden) {
    // rrweb's Replayer shows its iframe once a meta event has sized it
    throw new Error(`the Replayer shows nothing at ${offset} ms: its iframe is hidden (no meta event sized it)`);
  }
  const png = await page
    .locator('iframe')
    .first()
    .screenshot({ animations: 'disabled', caret: 'hide', timeout: 20_000 });
  return { png, error: state.error };
}

/** Pixels that differ in any channel, outside the excluded boxes; a size mismatch counts every pixel. */
function diff(a, b, boxes) {
  if (a.equals(b)) {
    return { pixels: 0, masked: 0 }; // Chromium encodes the same pixels to the same bytes
  }
  const A = PNG.sync.read(a);
  const B = PNG.sync.read(b);
  if (A.width !== B.width || A.height !== B.height) {
    return {
      pixels: Math.max(A.width * A.height, B.width * B.height),
      sizes: `${A.width}x${A.height} vs ${B.width}x${B.height}`,
    };
  }
  const skip = new Uint8Array(A.width * A.height);
  for (const bx of boxes) {
    const x0 = Math.max(0, Math.floor(bx.x));
    const y0 = Math.max(0, Math.floor(bx.y));
    const x1 = Math.min(A.width, Math.ceil(bx.x + bx.w));
    const y1 = Math.min(A.height, Math.ceil(bx.y + bx.h));
    for (let y = y0; y < y1; y++) {
      skip.fill(1, y * A.width + x0, y * A.width + x1);
    }
  }
  let pixels = 0;
  let masked = 0;
  for (let p = 0; p < A.width * A.height; p++) {
    const i = p * 4;
    const same =
      A.data[i] === B.data[i] &&
      A.data[i + 1] === B.data[i + 1] &&
      A.data[i + 2] === B.data[i + 2] &&
      A.data[i + 3] === B.data[i + 3];
    if (!same) {
      if (skip[p]) {
        masked++;
      } else {
        pixels++;
      }
    }
  }
  return { pixels, masked, width: A.width, height: A.height };
}

/** Whether a screenshot has more than one colour (a blank replay would compare equal to another blank one). */
function colours(png) {
  const img = PNG.sync.read(png);
  const seen = new Set();
  for (let i = 0; i < img.data.length && seen.size < 50; i += 4 * 97) {
    seen.add((img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2]);
  }
  return seen.size;
}

const [orig, again, back] = [await newPage(), await newPage(), await newPage()];
const results = [];
try {
  for (const rec of manifest.recordings) {
    const t0 = Date.now();
    files.set(`/events/${rec.name}/original`, rec.original);
    files.set(`/events/${rec.name}/returned`, rec.returned);
    const viewport = viewportOf(JSON.parse(readFileSync(rec.original, 'utf8')));
    const r = { name: rec.name, checkpoints: [], errors: [] };
    try {
      await open(orig, `/events/${rec.name}/original`, viewport);
      await open(again, `/events/${rec.name}/original`, viewport);
      await open(back, `/events/${rec.name}/returned`, viewport);
      // Warm up: play each replay to its end once, so every font and fallback font the recording needs is
      // loaded before the first comparison (the first page to need a fallback for, say, CJK text can lay it out
      // with another font than the pages after it).
      const end = rec.checkpoints[rec.checkpoints.length - 1] ?? 0;
      await Promise.all([orig, again, back].map((p) => p.evaluate((t) => window.__pauseAt(t), end)));
      let last;
      for (const offset of rec.checkpoints) {
        // A checkpoint that differs is shot once more after a pause: a replay still settling (a font, an image
        // failing to load) differs for a moment; an alteration by the pipeline differs every time.
        let reshot = false;
        let a, a2, b, boxes, sanity, d;
        for (let attempt = 0; attempt < 2; attempt++) {
          if (attempt > 0) {
            reshot = true;
            await new Promise((r) => setTimeout(r, 500));
            // seek away first, so the Replayer builds the page again
            await Promise.all([orig, again, back].map((p) => p.evaluate(() => window.__pauseAt(0))));
          }
          [a, a2, b] = await Promise.all([shoot(orig, offset), shoot(again, offset), shoot(back, offset)]);
          boxes = [
            ...(await orig.evaluate((ids) => window.__boxes(ids), rec.maskedIds)),
            ...(await back.evaluate((ids) => window.__boxes(ids), rec.maskedIds)),
          ];
          sanity = diff(a.png, a2.png, []);
          d = diff(a.png, b.png, boxes);
          if (sanity.pixels === 0 && d.pixels === 0) {
            break;
          }
        }
        const cp = {
          offset,
          pixels: d.pixels,
          maskedPixels: d.masked ?? 0,
          sanityPixels: sanity.pixels,
          boxes: boxes.length,
          reshot,
        };
        if (d.sizes) {
          cp.sizes = d.sizes;
        }
        if (a.error || b.error) {
          cp.replayerErrors = { original: a.error, returned: b.error };
        }
        if (d.pixels > 0 || sanity.pixels > 0) {
          const base = path.join(artifacts, `${rec.name}@${offset}`);
          writeFileSync(`${base}.original.png`, a.png);
          writeFileSync(`${base}.original-again.png`, a2.png);
          writeFileSync(`${base}.returned.png`, b.png);
        }
        r.checkpoints.push(cp);
        last = b.png;
      }
      // The last screenshot of every recording is kept, to look at, and must not be one flat colour.
      writeFileSync(path.join(artifacts, `${rec.name}.last.png`), last);
      r.colours = colours(last);
    } catch (e) {
      r.errors.push(String(e?.message ?? e).split('\n')[0]);
    }
    r.pageErrors = { original: orig.__errors.slice(0, 5), returned: back.__errors.slice(0, 5) };
    r.ms = Date.now() - t0;
    results.push(r);
    console.error(
      `rendered ${rec.name}: ${r.checkpoints.length} checkpoints in ${r.ms} ms${r.errors.length ? ' ' + r.errors[0] : ''}`
    );
  }
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify({ results }));
