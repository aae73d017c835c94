// The full snapshot taken in slices (src/sliced.ts), in real Chromium: a page changed heavily while the
// snapshot runs replays (rrweb Replayer, the panel's version) as it was when the snapshot completed, then
// every later change; privacy holds for nodes serialized in late slices.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import pixelmatch from 'pixelmatch';
import { startServer, launch, chunks, allText, waitFor, SECRETS } from './harness.mjs';

const W = 800;
const H = 600;
const MAX_DIFF_RATIO = 0.01;

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A text form of a DOM subtree, the same on the live page and in the replay: tags, attributes (style as the
 * browser normalizes it; input values left out, they are masked on purpose), text. Runs in either page. */
function installDump() {
  window.dumpDom = function dump(n) {
    if (n.nodeType === 3) return JSON.stringify(n.data);
    if (n.nodeType !== 1) return '';
    const attrs = [...n.attributes]
      .filter((a) => a.name !== 'value')
      .map((a) => ` ${a.name}=${JSON.stringify(a.name === 'style' ? n.style.cssText : a.value)}`)
      .sort()
      .join('');
    return `<${n.tagName.toLowerCase()}${attrs}>${[...n.childNodes].map(dump).join('')}</>`;
  };
}

/** Starts changing the page in every task until stopped: insertions, removals, attribute and text changes, and
 * moves (including removed elements put back). Takes a dump of #main just before its first change after the
 * snapshot completed: the page as it was when the snapshot completed. */
function startMutator() {
  let seed = 1234;
  const r = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const main = document.getElementById('main');
  const pool = [...main.querySelectorAll('section, div, span, p, h2, li, td, ul')];
  const pick = () => pool[Math.floor(r() * pool.length)];
  const st = (window.mut = { during: 0, after: 0, kinds: {}, stop: false, atSnapshot: null });
  const ops = {
    insert() {
      const d = document.createElement(r() < 0.5 ? 'div' : 'p');
      d.className = 'ins';
      d.style.color = `rgb(${Math.floor(r() * 255)}, 0, 0)`;
      d.innerHTML = `inserted <b>${Math.floor(r() * 1e6)}</b> <span>x</span>`;
      const at = pick();
      if (at.parentNode) at.parentNode.insertBefore(d, r() < 0.5 ? at : at.nextSibling);
      pool.push(d, d.querySelector('b'), d.querySelector('span'));
    },
    remove() {
      const e = pick();
      if (e.parentNode && e !== main) e.remove();
    },
    attribute() {
      const e = pick();
      if (r() < 0.5) e.setAttribute('data-v', String(Math.floor(r() * 1e6)));
      else e.style.background = `rgb(0, ${Math.floor(r() * 255)}, 0)`;
    },
    text() {
      const e = pick();
      const t = [...e.childNodes].find((c) => c.nodeType === 3);
      if (t) t.data = `changed ${Math.floor(r() * 1e6)}`;
      else e.appendChild(document.createTextNode(`added text ${Math.floor(r() * 1e6)}`));
    },
    move() {
      const e = pick();
      const to = pick();
      if (e !== main && !e.contains(to) && to.nodeName !== 'TABLE') to.appendChild(e);
    },
  };
  const kinds = Object.keys(ops);
  const step = () => {
    if (st.stop) return;
    const snapshotting = window.SessionReplay.getRecorder()?.stats.snapshotting;
    if (!snapshotting && window.SessionReplay.getRecorder() && st.atSnapshot === null) st.atSnapshot = window.dumpDom(main);
    for (let i = 0; i < 12; i++) {
      const k = kinds[Math.floor(r() * kinds.length)];
      ops[k]();
      st.kinds[k] = (st.kinds[k] || 0) + 1;
    }
    if (snapshotting) st.during++;
    else if (st.atSnapshot !== null) st.after++;
    setTimeout(step, 0);
  };
  step();
}

/** Opens a generated page of n elements, starts the recorder and, in the same task, `inPage` (a function
 * installed in the page) to act while the snapshot runs. */
async function recordBigPage(ctx, n, inPage) {
  const page = await ctx.newPage();
  await page.goto(`${server.origin}/big.html?n=${n}`);
  await page.evaluate(installDump);
  if (inPage) await page.evaluate(`window.inPage = ${inPage.toString()}`);
  const t0 = server.logs.length;
  const wasSnapshotting = await page.evaluate(() => {
    window.SessionReplay.init({ endpoint: location.origin, serviceName: 'sliced-test', flushIntervalMs: 1000 });
    const busy = window.SessionReplay.getRecorder().stats.snapshotting;
    if (window.inPage) window.inPage();
    return busy;
  });
  await page.waitForFunction(() => !window.SessionReplay.getRecorder().stats.snapshotting, null, { timeout: 30_000 });
  return { page, wasSnapshotting, logs: () => server.logs.slice(t0) };
}

function eventsOf(logs) {
  return chunks(logs)
    .sort((a, b) => a.attrs['session_replay.seq'] - b.attrs['session_replay.seq'])
    .flatMap((c) => c.events);
}

async function replayPage(ctx) {
  const rp = await ctx.newPage();
  const warnings = [];
  rp.on('console', (m) => (m.type() === 'warning' || m.type() === 'error') && warnings.push(m.text()));
  rp.on('pageerror', (e) => warnings.push('pageerror ' + e.message));
  await rp.goto(`${server.origin}/replay.html`);
  await rp.evaluate(installDump);
  return { rp, warnings };
}

test('a page changed heavily while its snapshot is taken in slices replays as it was when the snapshot completed, then every later change', async () => {
  const ctx = await browser.newContext({ viewport: { width: W, height: H }, deviceScaleFactor: 1 });
  const { page, wasSnapshotting, logs } = await recordBigPage(ctx, 8000, startMutator);
  assert.ok(wasSnapshotting, 'the snapshot did not complete in the task that started recording');
  await page.waitForTimeout(800); // later changes, recorded as rrweb mutations
  const mut = await page.evaluate(() => {
    window.mut.stop = true;
    return window.mut;
  });
  console.log('mutator', JSON.stringify(mut));
  assert.ok(mut.during >= 5, `the page changed in ${mut.during} tasks while the snapshot ran (want >= 5: slices yield)`);
  assert.ok(mut.after >= 3, `changes after the snapshot in ${mut.after} tasks`);
  for (const k of ['insert', 'remove', 'attribute', 'text', 'move']) assert.ok(mut.kinds[k] > 20, `${k}: ${mut.kinds[k]}`);
  await page.waitForTimeout(100);
  const finalDump = await page.evaluate(() => window.dumpDom(document.getElementById('main')));
  // caret 'initial': Playwright would otherwise restyle every input for the shot, and the recorder records that
  const liveShot = PNG.sync.read(await page.screenshot({ caret: 'initial' }));
  await page.evaluate(() => window.SessionReplay.flush());
  await page.close();

  const events = eventsOf(logs());
  assert.equal(events[0].type, 4, 'meta first');
  assert.equal(events[1].type, 2, 'then the full snapshot');
  assert.equal(events.filter((e) => e.type === 2).length, 1, 'one full snapshot');
  const later = events.slice(2);
  assert.ok(later.filter((e) => e.type === 3 && e.data.source === 0).length >= 3, 'later changes recorded as mutations');
  for (const e of later) assert.ok(e.timestamp >= events[1].timestamp, 'nothing after the snapshot is older than it');

  const { rp, warnings } = await replayPage(ctx);
  // 1. the snapshot alone: the page as it was when the snapshot completed
  const atSnapshot = await rp.evaluate((evs) => {
    const r = new window.rrweb.Replayer(evs, { root: document.getElementById('root'), showWarning: true, mouseTail: false, triggerFocus: false });
    r.pause(r.getMetaData().totalTime + 1);
    const doc = document.querySelector('.replayer-wrapper iframe').contentDocument;
    const out = window.dumpDom(doc.getElementById('main'));
    r.destroy?.();
    document.getElementById('root').innerHTML = '';
    return out;
  }, events.slice(0, 2));
  assert.ok(atSnapshot === mut.atSnapshot, `replayed snapshot differs from the page when it completed (${diffAt(atSnapshot, mut.atSnapshot)})`);

  // 2. every later event boundary, in order; then the end against the live page
  const res = await rp.evaluate((evs) => {
    const r = new window.rrweb.Replayer(evs, { root: document.getElementById('root'), showWarning: true, mouseTail: false, triggerFocus: false });
    window.replayer = r;
    const t0 = evs[0].timestamp;
    const thrown = [];
    let n = 0;
    for (let i = 2; i < evs.length; i++) {
      if (i + 1 < evs.length && evs[i + 1].timestamp === evs[i].timestamp) continue; // same boundary
      try {
        r.pause(evs[i].timestamp - t0);
        n++;
      } catch (e) {
        thrown.push(String(e));
      }
    }
    r.pause(r.getMetaData().totalTime + 1);
    const doc = document.querySelector('.replayer-wrapper iframe').contentDocument;
    return { thrown, n, dump: window.dumpDom(doc.getElementById('main')) };
  }, events);
  assert.deepEqual(res.thrown, [], 'replaying at an event boundary threw');
  assert.ok(res.n >= 3, `${res.n} boundaries replayed`);
  assert.deepEqual(warnings, [], 'the Replayer warned (a mutation referring to a node it does not know)');
  if (res.dump !== finalDump) {
    const { writeFileSync, mkdirSync } = await import('node:fs');
    mkdirSync('test-output', { recursive: true });
    writeFileSync('test-output/sliced-events.json', JSON.stringify(events));
    writeFileSync('test-output/sliced-dumps.json', JSON.stringify({ replay: res.dump, live: finalDump }));
  }
  assert.ok(res.dump === finalDump, `replay at the end differs from the live page (${diffAt(res.dump, finalDump)})`);

  await rp.waitForTimeout(300);
  const replayShot = PNG.sync.read(await rp.locator('.replayer-wrapper iframe').screenshot());
  await ctx.close();
  const diff = new PNG({ width: W, height: H });
  const px = pixelmatch(liveShot.data, replayShot.data, diff.data, W, H, { threshold: 0.1 });
  console.log(`sliced: ${mut.during} tasks changed the page during the snapshot, ${mut.after} after; ${res.n} boundaries; pixel diff ${px}`);
  assert.ok(px / (W * H) <= MAX_DIFF_RATIO, `replay screenshot differs from the live page in ${px} px`);
});

test('a typed secret in a field serialized in a late slice is masked; late masked text and blocked elements too', async () => {
  const ctx = await browser.newContext({ viewport: { width: W, height: H } });
  // typed while the snapshot runs, before it reaches the field at the end of the page
  const { page, wasSnapshotting, logs } = await recordBigPage(ctx, 8000, typeLateSecret);
  await page.type('#late-secret', '-MORE');
  assert.ok(await page.evaluate(() => window.typedWhileSnapshotting), 'the secret was typed while the snapshot ran');
  assert.ok(wasSnapshotting, 'the snapshot ran in slices');
  await page.evaluate(() => window.SessionReplay.flush());
  await page.close();
  await ctx.close();

  const events = eventsOf(logs());
  const full = events.find((e) => e.type === 2);
  assert.ok(full, 'full snapshot shipped');
  const byId = new Map();
  const walk = (n) => {
    if (n.attributes && n.attributes.id) byId.set(n.attributes.id, n);
    if (n.attributes && n.attributes.class === 'sr-block') byId.set('late-blocked', n); // a placeholder keeps only its class
    (n.childNodes || []).forEach(walk);
  };
  walk(full.data.node);
  assert.equal(byId.get('late-secret').attributes.value, '******', 'the late field is serialized masked');
  const text = JSON.stringify(byId.get('late-masked'));
  assert.ok(!text.includes('SECRET'), 'masked text is masked: ' + text);
  assert.deepEqual(byId.get('late-blocked').childNodes, [], 'blocked element has no content');
  assert.ok(byId.get('late-blocked').attributes.rr_width, 'blocked element is a placeholder');
  const everything = allText(logs());
  for (const s of SECRETS) assert.ok(!everything.includes(s), `secret ${s} reached the endpoint`);
  assert.ok(!everything.includes('-MORE'), 'typed text reached the endpoint');
});

test('stopping while the snapshot is taken abandons it: nothing is emitted afterwards', async () => {
  const ctx = await browser.newContext({ viewport: { width: W, height: H } });
  const page = await ctx.newPage();
  await page.goto(`${server.origin}/big.html?n=8000`);
  const t0 = server.logs.length;
  const state = await page.evaluate(async () => {
    const r = window.SessionReplay.init({ endpoint: location.origin, serviceName: 'sliced-test', flushIntervalMs: 200 });
    const busy = r.stats.snapshotting;
    await window.SessionReplay.stop();
    // the walk would have finished by now; and the page changing must not be recorded any more
    await new Promise((res) => setTimeout(res, 1500));
    document.getElementById('main').prepend(document.createElement('hr'));
    await new Promise((res) => setTimeout(res, 300));
    return { busy, after: r.stats };
  });
  await ctx.close();
  assert.ok(state.busy, 'stopped while the snapshot ran');
  assert.equal(state.after.snapshotting, false);
  assert.equal(state.after.buffered, 0, 'nothing buffered after stop');
  const events = eventsOf(server.logs.slice(t0));
  assert.ok(!events.some((e) => e.type === 2), 'no full snapshot after stop');
});

/** In the page: types a secret into the last field of the page in a task soon after recording started. */
function typeLateSecret() {
  setTimeout(() => {
    const el = document.getElementById('late-secret');
    window.typedWhileSnapshotting = window.SessionReplay.getRecorder().stats.snapshotting;
    el.focus();
    for (const ch of 'hunter2-PASS-99') {
      el.value += ch;
      el.dispatchEvent(new InputEvent('input', { bubbles: true, data: ch, inputType: 'insertText' }));
    }
  }, 0);
}

function diffAt(a, b) {
  if (a == null || b == null) return `one side is ${a == null ? 'replay' : 'live'} null`;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `lengths ${a.length}/${b.length}, first difference at ${i}: replay …${a.slice(Math.max(0, i - 80), i + 80)}… live …${b.slice(Math.max(0, i - 80), i + 80)}…`;
}
