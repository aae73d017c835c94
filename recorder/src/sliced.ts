/** A full DOM snapshot taken in slices of bounded main-thread time, so that starting to record a very large
 * page never freezes it. rrweb's record() calls {@link SlicedSnapshot.take} in place of its synchronous
 * snapshot (see scripts/rrweb-hook.mjs); nodes are serialized one at a time with rrweb's own
 * serializeNodeWithId (so masking, blocking, ids and the mirror are rrweb's), yielding to the browser between
 * slices. The page keeps changing meanwhile: our own MutationObserver notes what changed, and when the walk is
 * done one synchronous pass brings the changed parts of the tree up to date, so the snapshot equals the page at
 * the moment it completes. What rrweb recorded meanwhile refers to a half-built tree and is dropped by the
 * recorder while {@link SlicedSnapshot.busy}; later changes are rrweb mutations relative to the snapshot. */

type SN = any;
type Serialize = (n: Node, o: any) => SN | null;

// rrweb-snapshot NodeType: Document 0, Element 2
const DOC = 0;
const ELEMENT = 2;

/** Gives the event loop back between slices: a task of the browser's scheduler (`scheduler.postTask`, queued
 * like the page's own tasks, so its timers, network callbacks and input all run in between), a macrotask
 * where it is missing. */
export function yieldToBrowser(): Promise<void> {
  const s = (globalThis as any).scheduler;
  return s && s.postTask ? s.postTask(() => {}) : new Promise((r) => setTimeout(r, 0));
}

/** rrweb does not descend into blocked elements (replaced by a same-size placeholder) nor into a textarea
 * whose value it records as an attribute. */
function leaf(sn: SN): boolean {
  const a = sn.attributes;
  return sn.type !== DOC && (sn.type !== ELEMENT || 'rr_width' in a || (sn.tagName === 'textarea' && a.value !== undefined));
}

export class SlicedSnapshot {
  /** true from the start of a snapshot until its events are emitted */
  busy = false;
  /** the snapshot in progress; cancel() moves on */
  private gen = 0;

  /** @param budgetMs main-thread time per slice */
  constructor(private budgetMs = 8) {}

  /** The `sliceSnapshot` hook of the patched rrweb record: `o` are rrweb's snapshot options, `unlock` releases
   * its mutation buffers, `finish(node)` emits Meta + FullSnapshot. A request while one runs is dropped (the
   * running one emits a fresh snapshot anyway). */
  take = (doc: Document, o: any, serialize: Serialize, unlock: () => void, finish: (sn: SN | null) => void): void => {
    if (this.busy) return;
    this.busy = true;
    const gen = ++this.gen;
    const live = () => gen === this.gen;
    this.walk(doc, o, serialize, unlock, live).then(
      (sn) => {
        if (!live()) return;
        this.busy = false;
        finish(sn);
      },
      () => {
        unlock();
        if (!live()) return;
        // never leave the recording without a snapshot: rrweb's synchronous way
        this.busy = false;
        finish(serialize(doc, opts(doc, o)));
      }
    );
  };

  /** Abandons a snapshot in progress (the recorder stopped): it ends at its next slice, emitting nothing. */
  cancel(): void {
    this.gen++;
    this.busy = false;
  }

  private async walk(doc: Document, o: any, serialize: Serialize, unlock: () => void, live: () => boolean): Promise<SN | null> {
    const base = opts(doc, o);
    const headWs = !!(o.slimDOM && o.slimDOM.headWhitespace);
    /** our serialized object of each node in the snapshot */
    const tree = new WeakMap<Node, SN>();
    const changed = new Set<Node>(); // attributes, text or input value
    const parents = new Set<Node>(); // child list
    const moved = new Set<Node>(); // added or removed: rrweb may have dropped their ids from its mirror
    const note = (records: MutationRecord[]) => {
      for (const r of records) {
        const t = r.target;
        if (r.type !== 'childList') changed.add(t);
        else {
          parents.add(t);
          r.addedNodes.forEach((n) => moved.add(n));
          r.removedNodes.forEach((n) => moved.add(n));
        }
        // an inline stylesheet is serialized from its element (_cssText)
        const p = t.parentNode;
        if (p && p.nodeName === 'STYLE') changed.add(p);
        if (t.nodeName === 'STYLE') changed.add(t);
      }
    };
    // input values and element scroll positions change without a mutation
    const onEvent = (e: Event) => changed.add(e.target as Node);
    const EVENTS = ['input', 'change', 'scroll'];
    const mo = new MutationObserver(note);
    mo.observe(doc, { subtree: true, childList: true, attributes: true, characterData: true });
    for (const t of EVENTS) doc.addEventListener(t, onEvent, true);

    // one options object for every call (serializeNodeWithId only reads it): no copy per node
    const one = (n: Node, skipChild: boolean, preserveWhiteSpace = true, cssCaptured = false): SN | null => {
      base.skipChild = skipChild;
      base.preserveWhiteSpace = preserveWhiteSpace;
      base.cssCaptured = cssCaptured;
      const sn = serialize(n, base);
      if (sn) tree.set(n, sn);
      return sn;
    };
    // the nodes still to serialize, with their parent's object and flags (1: preserve whitespace, 2: text
    // already in the parent's _cssText), as three stacks (fewer objects for the garbage collector)
    const nodes: Node[] = [];
    const parentsOf: SN[] = [];
    const flags: number[] = [];
    const push = (n: Node, sn: SN, pws: boolean) => {
      if (leaf(sn)) return;
      const f = (pws && !(headWs && sn.tagName === 'head') ? 1 : 0) | (sn.attributes && typeof sn.attributes._cssText === 'string' ? 2 : 0);
      // popped in document order: light children, then those of an open shadow root
      const sr = (n as Element).shadowRoot;
      for (const first of sr ? [sr.lastChild, n.lastChild] : [n.lastChild])
        for (let c = first; c; c = c.previousSibling) {
          nodes.push(c);
          parentsOf.push(sn);
          flags.push(f);
        }
    };
    try {
      const root = one(doc, true);
      if (!root) return null;
      push(doc, root, true);
      let t0 = performance.now();
      for (let k = 1; nodes.length; k++) {
        const n = nodes.pop()!;
        const f = flags.pop()!;
        const parent = parentsOf.pop();
        const sn = one(n, true, !!(f & 1), !!(f & 2));
        if (sn) {
          parent.childNodes.push(sn);
          push(n, sn, !!(f & 1));
        }
        if (!(k & 31) && performance.now() - t0 > this.budgetMs) {
          await yieldToBrowser();
          if (!live()) throw 0;
          t0 = performance.now();
        }
      }
      note(mo.takeRecords());
      // what rrweb buffered meanwhile goes out now and is dropped by the recorder (we are still busy)
      unlock();

      // bring the tree up to the page as it is now: child lists first, then attributes and text
      const ctx = (n: Node): [boolean, boolean] => {
        const p = n.parentNode;
        const ps = p && tree.get(p);
        return [!(headWs && p && p.nodeName === 'HEAD'), !!(ps && ps.attributes && typeof ps.attributes._cssText === 'string')];
      };
      const adopt = (sn: SN) => {
        const n = base.mirror.getNode(sn.id);
        if (n) tree.set(n, sn);
        if (sn.childNodes) sn.childNodes.forEach(adopt);
      };
      for (const p of parents) {
        const ps = tree.get(p);
        if (!ps || leaf(ps)) continue;
        const list: SN[] = [];
        const kids = Array.from(p.childNodes);
        const sr = (p as Element).shadowRoot;
        if (sr) kids.push(...Array.from(sr.childNodes));
        for (const c of kids) {
          let cs = tree.get(c);
          if (!cs) {
            // new since the walk passed here: serialized whole, with rrweb's recursion
            cs = one(c, false, ...ctx(c));
            if (cs) adopt(cs);
          }
          if (cs) list.push(cs);
        }
        ps.childNodes = list;
      }
      for (const n of changed) {
        const old = tree.get(n);
        if (!old) continue;
        const sn = one(n, true, ...ctx(n));
        if (!sn) continue;
        const kids = old.childNodes;
        Object.assign(old, sn);
        if (kids) old.childNodes = leaf(old) ? [] : kids;
        base.mirror.add(n, old);
        tree.set(n, old);
      }
      // rrweb forgets the ids of removed subtrees; those back in the page keep theirs
      const remember = (n: Node) => {
        const sn = tree.get(n);
        if (!sn) return;
        base.mirror.add(n, sn);
        n.childNodes.forEach(remember);
      };
      for (const n of moved) if (n.isConnected && n.getRootNode() === doc) remember(n);
      return root;
    } finally {
      mo.disconnect();
      for (const t of EVENTS) doc.removeEventListener(t, onEvent, true);
    }
  }
}

/** rrweb's snapshot() options as serializeNodeWithId takes them (record() already resolved the input masking
 * and slim-DOM defaults; the keys serializeNodeWithId does not know are ignored). */
function opts(doc: Document, o: any): any {
  return { ...o, doc, maskInputOptions: o.maskAllInputs, slimDOMOptions: o.slimDOM };
}
