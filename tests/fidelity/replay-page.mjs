// The replay page of the fidelity suite: rrweb's own Replayer (the version the panel plays with) on one
// recording, paused where the test asks. Animations, transitions and the caret are turned off inside the
// replayed document, so two replays of the same events paint the same pixels.
import { Replayer } from 'rrweb';

import 'rrweb/dist/style.css';

const STILL = [
  '*, *::before, *::after { animation: none !important; transition: none !important; caret-color: transparent !important; }',
];

/** Loads a recording into a new Replayer (the page is reused from recording to recording). */
window.__load = async (src) => {
  window.__replayer?.destroy();
  document.getElementById('root').replaceChildren();
  const events = await (await fetch(src)).json();
  const replayer = new Replayer(events, {
    root: document.getElementById('root'),
    showWarning: false,
    showDebug: false,
    mouseTail: false,
    // canvas drawings are not replayed, as in the replay panel (src/panel/replay/player.ts). Focus moves are
    // (the panel turns them off): without them, the anti-aliasing of rounded corners next to a masked field
    // depends on what was repainted beside them (8 pixels of the chart's "Show errors" button at one checkpoint).
    UNSAFE_replayCanvas: false,
    insertStyleRules: STILL,
  });
  window.__replayer = replayer;
};

/** Resolves once no font of the document (or of its frames) is loading. A font starts loading when layout first
 * needs it, which `fonts.ready` alone does not wait for: lay out first, then wait, until nothing loads. (The recorded
 * pages' web fonts are blocked, so each ends in its fallback; text painted before that differs.) */
async function fontsSettled(doc) {
  const docs = doc ? [doc, ...[...doc.querySelectorAll('iframe')].map((f) => f.contentDocument).filter(Boolean)] : [];
  for (let round = 0; round < 20; round++) {
    for (const d of docs) {
      void d.documentElement?.getBoundingClientRect(); // layout: starts the loads the page needs
    }
    if (docs.every((d) => d.fonts?.status !== 'loading')) {
      return;
    }
    await Promise.all(docs.map((d) => d.fonts?.ready));
    await new Promise((r) => requestAnimationFrame(r));
  }
}

/** Pauses at offset ms (from the first event) and resolves once the replayed document has painted. */
window.__pauseAt = async (offset) => {
  let error = '';
  try {
    window.__replayer.pause(offset);
  } catch (e) {
    // the Replayer gave up on an event (some rrweb test recordings are made to do that); the same happens to
    // both replays, and what it painted is still compared
    error = String(e?.message ?? e);
  }
  const doc = window.__replayer.iframe.contentDocument;
  await fontsSettled(doc);
  const imgs = doc ? [...doc.images].filter((i) => !i.complete) : [];
  await Promise.all(imgs.map((i) => new Promise((r) => ((i.onload = r), (i.onerror = r), setTimeout(r, 1000)))));
  // A media element still loading shows the browser's spinning loader, whose angle depends on the clock: wait
  // until every video/audio has settled (loaded or failed; external sources are blocked).
  const media = doc ? [...doc.querySelectorAll('video, audio')] : [];
  const settled = (m) =>
    m.error ||
    m.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA ||
    m.networkState === HTMLMediaElement.NETWORK_NO_SOURCE;
  for (let waited = 0; waited < 3000 && !media.every(settled); waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (media.some((m) => m.controls)) {
    // the loader of media controls spins on its own clock (page CSS cannot stop it) and fades out a while after
    // the element settled
    await new Promise((r) => setTimeout(r, 1500));
  }
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  await fontsSettled(doc);
  return { error, hidden: window.__replayer.iframe.style.display === 'none' };
};

/** Boxes (in the replay iframe's coordinates) of the nodes with these ids, also inside nested frames. */
window.__boxes = (ids) => {
  const mirror = window.__replayer.getMirror();
  const top = window.__replayer.iframe.contentWindow;
  const boxes = [];
  for (const id of ids) {
    let node = mirror.getNode(id);
    if (node && node.nodeType !== Node.ELEMENT_NODE) {
      node = node.parentElement;
    }
    if (!node || !node.isConnected || !node.getBoundingClientRect) {
      continue;
    }
    const r = node.getBoundingClientRect();
    let { left, top: y } = r;
    for (let w = node.ownerDocument.defaultView; w && w !== top && w.frameElement; w = w.parent) {
      const f = w.frameElement.getBoundingClientRect();
      left += f.left;
      y += f.top;
    }
    if (r.width > 0 && r.height > 0) {
      boxes.push({ id, x: left, y, w: r.width, h: r.height });
    }
  }
  return boxes;
};

window.__ready = true;
