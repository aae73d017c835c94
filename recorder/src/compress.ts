/** gzip + base64 of a JSON array of rrweb events: in a Worker built from a Blob when the page allows it
 * (CSP worker-src), on the main thread otherwise, and as plain JSON where CompressionStream is missing. */

export interface Encoded {
  encoding: 'gzip' | 'json';
  /** base64 of the gzip bytes (encoding gzip) or the JSON text (encoding json) */
  data: string;
  /** uncompressed JSON length */
  rawLength: number;
}

// This function is stringified into the worker's source, so it must be self-contained.
function workerMain(self: any): void {
  const b64 = (u8: Uint8Array): string => {
    let s = '';
    for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000) as any);
    return btoa(s);
  };
  self.onmessage = async (ev: MessageEvent) => {
    const { id, events } = ev.data;
    try {
      const text = JSON.stringify(events);
      const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
      const buf = new Uint8Array(await new Response(stream).arrayBuffer());
      self.postMessage({ id, data: b64(buf), rawLength: text.length });
    } catch (e) {
      self.postMessage({ id, error: String(e) });
    }
  };
}

export function toBase64(u8: Uint8Array): string {
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000) as any);
  return btoa(s);
}

export async function gzipMain(text: string): Promise<string> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return toBase64(new Uint8Array(await new Response(stream).arrayBuffer()));
}

export function canGzip(): boolean {
  return typeof CompressionStream !== 'undefined' && typeof Blob !== 'undefined' && typeof Response !== 'undefined';
}

export class Compressor {
  private worker?: Worker;
  private workerOk = false;
  private nextId = 1;
  private pending = new Map<number, { resolve: (e: Encoded) => void; events: unknown[] }>();

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

  private onResult(r: { id: number; data?: string; rawLength?: number; error?: string }): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (r.error || r.data === undefined) this.encodeMain(p.events).then(p.resolve);
    else p.resolve({ encoding: 'gzip', data: r.data, rawLength: r.rawLength || 0 });
  }

  /** Encodes asynchronously (gzip when possible). */
  encode(events: unknown[]): Promise<Encoded> {
    if (this.worker && this.workerOk) {
      return new Promise((resolve) => {
        const id = this.nextId++;
        this.pending.set(id, { resolve, events });
        try {
          this.worker!.postMessage({ id, events });
        } catch {
          // e.g. an event that cannot be structured-cloned
          this.pending.delete(id);
          this.encodeMain(events).then(resolve);
        }
      });
    }
    return this.encodeMain(events);
  }

  async encodeMain(events: unknown[]): Promise<Encoded> {
    const text = JSON.stringify(events);
    if (this.compress && canGzip()) {
      try {
        return { encoding: 'gzip', data: await gzipMain(text), rawLength: text.length };
      } catch {
        /* fall through */
      }
    }
    return { encoding: 'json', data: text, rawLength: text.length };
  }

  /** Synchronous JSON encoding, for page hide when async work may never finish. */
  encodeSync(events: unknown[]): Encoded {
    const text = JSON.stringify(events);
    return { encoding: 'json', data: text, rawLength: text.length };
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
