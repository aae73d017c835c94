/** POSTs OTLP/JSON bodies in order, one at a time; retries 429/502/503/504 and network errors with
 * exponential backoff honouring Retry-After; bounded queue; keepalive sends on page hide (< 64 KB each). */

export interface QueueItem {
  body: string;
  /** rrweb events carried (for the dropped-events counter when the item is discarded) */
  events: number;
  attempts: number;
  /** carries a full snapshot: dropped last when the queue overflows */
  snapshot: boolean;
}

export const KEEPALIVE_LIMIT = 60_000;

export function parseRetryAfter(v: string | null, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  if (!isNaN(s)) return Math.max(0, s * 1000);
  const d = Date.parse(v);
  return isNaN(d) ? undefined : Math.max(0, d - now);
}

export class Transport {
  private queue: QueueItem[] = [];
  private queuedBytes = 0;
  private busy = false;
  private timer?: ReturnType<typeof setTimeout>;
  private backoffMs = 0;
  /** events lost because the queue overflowed or the server refused them */
  dropped = 0;
  sent = 0;
  private waiters: Array<() => void> = [];
  private fetchFn: typeof fetch;

  constructor(
    private url: string,
    private headers: Record<string, string>,
    private maxQueueBytes: number,
    private debug: boolean,
    fetchImpl?: typeof fetch,
    private baseBackoffMs = 1000,
    private maxBackoffMs = 60_000
  ) {
    this.fetchFn = fetchImpl || fetch.bind(globalThis);
  }

  get pending(): number {
    return this.queue.length + (this.busy ? 1 : 0);
  }

  enqueue(body: string, events: number, snapshot = false): void {
    this.queue.push({ body, events, attempts: 0, snapshot });
    this.queuedBytes += body.length;
    // over the bound: drop the oldest waiting item without a snapshot, else the oldest waiting one
    // (queue[0] may be in flight and is never dropped here)
    while (this.queuedBytes > this.maxQueueBytes && this.queue.length > 2) {
      let i = this.queue.findIndex((q, k) => k > 0 && !q.snapshot);
      if (i < 0) i = 1;
      const [old] = this.queue.splice(i, 1);
      this.queuedBytes -= old.body.length;
      this.dropped += old.events;
    }
    this.pump();
  }

  /** Resolves when nothing is queued or in flight, or after timeoutMs. */
  drained(timeoutMs: number): Promise<void> {
    if (!this.pending) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private notify(): void {
    if (this.pending) return;
    const w = this.waiters.splice(0);
    for (const f of w) f();
  }

  private pump(): void {
    if (this.busy || this.timer) return;
    if (!this.queue.length) return this.notify();
    const item = this.queue[0];
    this.busy = true;
    this.post(item.body, false).then(
      (res) => {
        this.busy = false;
        if (res.ok || (res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408)) {
          // done, or a permanent refusal that retrying cannot fix
          if (!res.ok) {
            this.dropped += item.events;
            this.log('refused', res.status);
          } else this.sent++;
          this.remove(item);
          this.backoffMs = 0;
          this.pump();
        } else if (res.status >= 500 && res.status !== 502 && res.status !== 503 && res.status !== 504) {
          this.dropped += item.events;
          this.remove(item);
          this.pump();
        } else {
          this.retry(item, parseRetryAfter(res.headers.get('Retry-After')));
        }
      },
      (err) => {
        this.busy = false;
        this.log('network error', err);
        this.retry(item, undefined);
      }
    );
  }

  private remove(item: QueueItem): void {
    const i = this.queue.indexOf(item);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.queuedBytes -= item.body.length;
    }
  }

  private retry(item: QueueItem, retryAfter: number | undefined): void {
    item.attempts++;
    this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs ? this.backoffMs * 2 : this.baseBackoffMs);
    const jitter = this.backoffMs * 0.2 * Math.random();
    const delay = retryAfter !== undefined ? Math.min(retryAfter, 10 * this.maxBackoffMs) : this.backoffMs + jitter;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, delay);
  }

  private post(body: string, keepalive: boolean): Promise<Response> {
    return this.fetchFn(this.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...this.headers },
      body,
      keepalive,
      credentials: 'omit',
      mode: 'cors',
    });
  }

  /** Page is being hidden: hand everything queued to the browser now with keepalive (bodies over the
   * keepalive limit go without it). A send that fails while the page lives on is queued again. When the page
   * is leaving (pagehide), the request in flight went without keepalive and the unload cancels it: it is sent
   * again with keepalive (the receiver keeps one copy of a chunk or span), and stays queued in case the page
   * lives on. */
  sendAllNow(extra: QueueItem[] = [], leaving = false): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const inFlight = this.busy ? this.queue.slice(0, 1) : [];
    const rest = (leaving ? this.queue : this.queue.slice(inFlight.length)).concat(extra);
    this.queue = inFlight;
    this.queuedBytes = inFlight.reduce((n, q) => n + q.body.length, 0);
    for (const item of rest) {
      this.post(item.body, item.body.length < KEEPALIVE_LIMIT).then(
        (res) => {
          if (res.ok) this.sent++;
          else if (res.status === 429 || res.status >= 502) this.enqueue(item.body, item.events, item.snapshot);
        },
        () => this.enqueue(item.body, item.events, item.snapshot)
      );
    }
  }

  private log(...a: unknown[]): void {
    if (this.debug) console.info('[SessionReplay]', ...a);
  }
}
