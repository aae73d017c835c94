// Types card numbers into a page recorded with masking off (the recorder's
// maskAllInputs: false), next to an SVG chart whose coordinates have decimal
// parts that pass Luhn, in real Chromium; the recorder ships to the collector.
// Reports what the test must (not) find in ClickHouse.
//
//   node tests/e2e/type-cards.mjs <collector url> <recorder dist dir> <page host:port>
//
// Prints one JSON object on stdout: the session id, the typed cards, and the
// chart's attributes as the live page held them before and after a redraw.
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [collector, dist, pageAddr] = process.argv.slice(2);
if (!collector || !dist || !pageAddr) {
  console.error('usage: type-cards.mjs <collector url> <recorder dist dir> <page host:port>');
  process.exit(2);
}

// Card numbers as people type them (test numbers of the card networks, all pass Luhn).
const CARDS = {
  spaced: '4111 1111 1111 1111',
  dashed: '5555-5555-5555-4444',
  glued: 'card:4012888888881881',
  secondLine: '378282246310005', // typed after a line break in the textarea
  changed: '6011111111111117', // set by the page's script, then changed by typing
  text: '4242 4242 4242 4242', // shown by the page after "payment"
};

// A line chart as a charting library draws it (the values are printed with
// JavaScript's shortest round-trip form); every decimal part here passes Luhn.
const page = `<!doctype html><html><head><meta charset="utf-8"><title>Cards and a chart</title>
<style>body{margin:0;font:16px sans-serif} input,textarea{display:block;width:300px;margin:8px}</style>
<script src="/sessionreplay.min.js" data-endpoint="${collector}" data-service-name="cards-e2e"
  data-mask-all-inputs="false" data-flush-interval-ms="500"></script></head>
<body>
<form onsubmit="return false">
  <input id="message" type="text" name="message" autocomplete="off">
  <textarea id="comments" name="comments" rows="3"></textarea>
  <input id="reference" type="text" name="reference" autocomplete="off">
</form>
<p id="status">Nothing paid yet.</p>
<svg id="chart" width="45.963171592376895" height="283.66666666666663" viewBox="0 0 640 283.66666666666663">
  <path id="line" d="M0,283.66666666666663L45.963171592376895,120.08333333330006L91.92634318475379,1.414213562370006" fill="none" stroke="#1a5fb4"/>
  <line id="axis" x1="1.414213562370014" x2="120.08333333330014" y1="0" y2="1.414213562370022" stroke="#333"/>
  <text id="label" x="45.963171592376895" y="283.66666666666663">283.66666666666663</text>
</svg>
</body></html>`;

const server = createServer((req, res) => {
  if (req.url === '/sessionreplay.min.js') {
    res.writeHead(200, { 'Content-Type': 'text/javascript' });
    res.end(readFileSync(join(dist, 'sessionreplay.min.js')));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/html' });
  res.end(page);
});
const [host, port] = pageAddr.split(':');
await new Promise((r) => server.listen(Number(port), host, r));
const origin = `http://${pageAddr}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 800, height: 600 }, deviceScaleFactor: 1 });
  const p = await ctx.newPage();
  p.on('console', (m) => m.type() === 'error' && console.error('[page]', m.text()));
  await p.goto(origin + '/');
  await p.waitForFunction(() => window.SessionReplay && window.SessionReplay.getSessionId());
  const blur = () => p.click('#status');
  const chartAttrs = () =>
    p.evaluate(() => {
      const out = {};
      for (const el of document.querySelectorAll('#chart, #chart *')) {
        for (const a of el.getAttributeNames()) {
          if (a !== 'id' && a !== 'fill' && a !== 'stroke') {
            out[`${el.id}.${a}`] = el.getAttribute(a);
          }
        }
      }
      return out;
    });
  const chartBefore = await chartAttrs();

  await p.click('#message');
  await p.keyboard.type(CARDS.spaced, { delay: 5 });
  await blur(); // rrweb (sampling input 'last') records the value on change
  await p.click('#message', { clickCount: 3 });
  await p.keyboard.type(CARDS.dashed, { delay: 5 });
  await blur();
  await p.click('#message', { clickCount: 3 });
  await p.keyboard.type(CARDS.glued, { delay: 5 });
  await blur();
  await p.click('#comments');
  await p.keyboard.type('first line', { delay: 5 });
  await p.keyboard.press('Enter');
  await p.keyboard.type(CARDS.secondLine, { delay: 5 });
  await blur();
  // the page writes a value, then the user changes it
  await p.evaluate((v) => document.getElementById('reference').setAttribute('value', v), CARDS.changed);
  await p.click('#reference', { clickCount: 3 });
  await p.keyboard.type('ref ' + CARDS.changed, { delay: 5 });
  await blur();
  // the page shows a card and redraws the chart
  await p.evaluate((card) => {
    document.getElementById('status').textContent = `Charged ${card}, thanks`;
    document
      .getElementById('line')
      .setAttribute(
        'd',
        'M0,283.66666666666663L45.963171592376895,120.08333333330006L137.88951477713068,45.963171592376895'
      );
  }, CARDS.text);
  await p.waitForTimeout(300);
  const sessionId = await p.evaluate(() => window.SessionReplay.getSessionId());
  const chartAfter = await chartAttrs();
  await p.evaluate(() => window.SessionReplay.flush());
  await p.waitForTimeout(1000);
  await ctx.close();
  process.stdout.write(
    JSON.stringify({ sessionId, cards: Object.values(CARDS), chartBefore, chartAfter, label: '283.66666666666663' }) +
      '\n'
  );
} finally {
  await browser.close();
  server.close();
}
