import http from 'node:http';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

const sdk = process.argv[2];
const out = `out-${sdk}`;
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out);
let n = 0;
const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<script src="/${sdk}.bundle.js"></script></head><body>${body}</body></html>`;
const pages = {
  '/page1.html': page('one', `<h1>Page one</h1><input id="email" name="email" type="email"><button id="go">Go</button><a id="next" href="/page2.html">next</a>${process.env.NOFRAME ? '' : '<iframe src="/frame.html" width="300" height="150"></iframe>'}`),
  '/page2.html': page('two', `<h1>Page two</h1><input id="card" name="note"><a id="next" href="/page3.html">next</a>`),
  '/page3.html': page('three', `<h1>Page three</h1><button id="boom" onclick="setTimeout(()=>{throw new Error('boom from page three')})">Boom</button>`),
  '/frame.html': page('frame', `<p>inside the frame</p><input id="inframe">`),
};
const srv = http.createServer((req, res) => {
  if (req.method === 'GET') {
    if (pages[req.url]) { res.setHeader('content-type', 'text/html'); return res.end(pages[req.url]); }
    if (req.url === `/${sdk}.bundle.js`) { res.setHeader('content-type', 'text/javascript'); return res.end(fs.readFileSync(`${sdk}.bundle.js`)); }
    res.statusCode = 404; return res.end();
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
    const ct = req.headers['content-type'] || '';
    const ext = ct.includes('json') ? 'json' : 'pb';
    const name = `${String(++n).padStart(3, '0')}${req.url.replace(/\//g, '_')}.${ext}`;
    fs.writeFileSync(`${out}/${name}`, body);
    fs.appendFileSync(`${out}/requests.txt`, `${name} ${req.method} ${req.url} ${JSON.stringify(req.headers)}\n`);
    res.setHeader('content-type', ext === 'json' ? 'application/json' : 'application/x-protobuf');
    res.end(ext === 'json' ? '{}' : '');
  });
});
await new Promise((r) => srv.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${srv.address().port}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
const p = await browser.newPage();
p.on('console', (m) => console.log('console:', m.text())); p.on('pageerror', (e) => console.log('pageerror:', e.message));
await p.goto(base + '/page1.html');
await p.waitForTimeout(1500);
await p.fill('#email', 'jane.doe@example.com');
await p.click('#go');
await p.waitForTimeout(1500);
await p.click('#next');
await p.waitForTimeout(1500);
await p.fill('#card', '4111 1111 1111 1111');
await p.waitForTimeout(1500);
await p.click('#next');
await p.waitForTimeout(1500);
await p.click('#boom');
await p.waitForTimeout(3000);
await p.goto('about:blank');
await p.waitForTimeout(2000);
await browser.close();
srv.close();
console.log(fs.readFileSync(`${out}/requests.txt`, 'utf8'));
