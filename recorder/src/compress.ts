/** gzip + base64 of a JSON array of rrweb events: in a Worker built from a Blob when the page allows it
 * (CSP worker-src), on the main thread otherwise, and as plain JSON where CompressionStream is missing. */

export interface Encoded {
  encoding: 'gzip' | 'json';
  /** base64 of the gzip bytes (encoding gzip) or the JSON text (encoding json) */
  data: string;
}

// This function is stringified into the worker's source, so it must be self-contained. It receives the JSON
// text as transferred byte buffers: no structured clone of an object graph on the main thread.
function workerMain(self: any): void {
  const b64 = (u8: Uint8Array): string => {
    let s = '';
    for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000) as any);
    return btoa(s);
  };
  self.onmessage = async (ev: MessageEvent) => {
    const { id, parts } = ev.data;
    try {
      const stream = new Blob(parts).stream().pipeThrough(new CompressionStream('gzip'));
      self.postMessage({ id, data: b64(new Uint8Array(await new Response(stream).arrayBuffer())) });
    } catch (e) {
      self.postMessage({ id, error: String(e) });
    }
  };
}

/** JSON of big events (full snapshots) encoded ahead, in slices, as UTF-8 parts. */
const ahead = new WeakMap<object, Promise<Uint8Array[]>>();
const utf8 = new TextEncoder();

/** Starts encoding `e` (an rrweb full snapshot: `data.node` is the serialized tree) to JSON in slices of at
 * most `budgetMs`, yielding in between; {@link Compressor.encode} waits for it. The event must not change
 * after this call. */
export function encodeAhead(e: { data: { node: any } }, budgetMs: number, yieldFn: () => Promise<void>): void {
  ahead.set(e, sliceJson(e, budgetMs, yieldFn));
}

async function sliceJson(e: any, budgetMs: number, yieldFn: () => Promise<void>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  let buf: string[] = [];
  // the event with its tree left out, then the tree node by node
  const head = JSON.stringify({ ...e, data: { ...e.data, node: 0 } });
  const cut = head.lastIndexOf('"node":0');
  const stack: Array<[any, number]> = [];
  // what is left of `left` nodes after n's subtree (negative: more): subtrees of up to 512 nodes go to
  // JSON.stringify whole, far quicker and with less garbage than node by node
  const fits = (n: any, left: number): number => {
    left--;
    if (n.childNodes) for (const c of n.childNodes) if ((left = fits(c, left)) < 0) break;
    return left;
  };
  const open = (n: any) => {
    if (!n.childNodes || fits(n, 512) >= 0) return void buf.push(JSON.stringify(n));
    buf.push(JSON.stringify({ ...n, childNodes: undefined }).slice(0, -1) + ',"childNodes":[');
    stack.push([n, 0]);
  };
  buf.push(head.slice(0, cut + 7));
  open(e.data.node);
  let t0 = performance.now();
  while (stack.length) {
    const top = stack[stack.length - 1];
    const kids = top[0].childNodes;
    if (top[1] >= kids.length) {
      buf.push(']}');
      stack.pop();
    } else {
      if (top[1]) buf.push(',');
      open(kids[top[1]++]);
    }
    if (performance.now() - t0 > budgetMs) {
      out.push(utf8.encode(buf.join('')));
      buf = [];
      await yieldFn();
      t0 = performance.now();
    }
  }
  buf.push(head.slice(cut + 8));
  out.push(utf8.encode(buf.join('')));
  return out;
}

/** The JSON array of `events` as UTF-8 parts, using (and consuming) what {@link encodeAhead} prepared. */
async function jsonParts(events: unknown[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  let s = '[';
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as object;
    if (i) s += ',';
    const pre = ahead.get(e);
    if (pre) {
      ahead.delete(e);
      out.push(utf8.encode(s), ...(await pre));
      s = '';
    } else s += JSON.stringify(e);
  }
  out.push(utf8.encode(s + ']'));
  return out;
}

export function toBase64(u8: Uint8Array): string {
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000) as any);
  return btoa(s);
}

export function canGzip(): boolean {
  return typeof CompressionStream !== 'undefined' && typeof Blob !== 'undefined' && typeof Response !== 'undefined';
}

export class Compressor {
  private worker?: Worker;
  private workerOk = false;
  private nextId = 1;
  private pending = new Map<number, { resolve: (e: Encoded) => void; events: unknown[] }>();
  /** encodings finish in call order, so chunks are queued in their seq order even when one waits for a
   * snapshot still being encoded */
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    private compress: boolean,
    useWorker: boolean
  ) {
    if (compress && useWorker && canGzip() && typeof Worker !== 'undefined') {
      try {
        const src = '(' + workerMain.toString() + ')(self)';
        const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
        this.worker = new Worker(url);
        URL.revokeObjectURL(url);
        this.workerOk = true;
        this.worker.onmessage = (ev: MessageEvent) => this.onResult(ev.data);
        this.worker.onerror = () => this.failWorker();
      } catch {
        this.worker = undefined;
      }
    }
  }

  /** Whether chunks are compressed in a Worker (for tests and diagnostics). */
  get usesWorker(): boolean {
    return this.workerOk;
  }

  private failWorker(): void {
    this.workerOk = false;
    try {
      this.worker && this.worker.terminate();
    } catch {
      /* ignore */
    }
    this.worker = undefined;
    const p = [...this.pending.values()];
    this.pending.clear();
    for (const x of p) this.encodeMain(x.events).then(x.resolve);
  }

  private onResult(r: { id: number; data?: string; error?: string }): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (r.error || r.data === undefined) this.encodeMain(p.events).then(p.resolve);
    else p.resolve({ encoding: 'gzip', data: r.data });
  }

  /** Encodes asynchronously (gzip when possible), in call order. */
  encode(events: unknown[]): Promise<Encoded> {
    const p = this.last.then(() => this.encodeNext(events));
    this.last = p.catch(() => 0);
    return p;
  }

  private async encodeNext(events: unknown[]): Promise<Encoded> {
    const parts = await jsonParts(events);
    if (this.worker && this.workerOk) {
      return new Promise((resolve) => {
        const id = this.nextId++;
        this.pending.set(id, { resolve, events });
        try {
          // the buffers move to the worker: nothing is copied or cloned here
          this.worker!.postMessage({ id, parts }, parts.map((b) => b.buffer));
        } catch {
          this.pending.delete(id);
          this.encodeMain(events).then(resolve);
        }
      });
    }
    return this.encodeMain(events, parts);
  }

  /** Main-thread encoding (no worker, or the worker failed after the parts were handed over). */
  async encodeMain(events: unknown[], parts?: Uint8Array[]): Promise<Encoded> {
    const blob = new Blob((parts as BlobPart[]) || [JSON.stringify(events)]);
    if (this.compress && canGzip()) {
      try {
        return { encoding: 'gzip', data: toBase64(new Uint8Array(await new Response(blob.stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer())) };
      } catch {
        /* fall through */
      }
    }
    return { encoding: 'json', data: await blob.text() };
  }

  /** Synchronous JSON encoding, for page hide when async work may never finish. */
  encodeSync(events: unknown[]): Encoded {
    return { encoding: 'json', data: JSON.stringify(events) };
  }

  close(): void {
    try {
      this.worker && this.worker.terminate();
    } catch {
      /* ignore */
    }
    this.worker = undefined;
  }
}
