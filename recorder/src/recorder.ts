import { record } from '@rrweb/record';
import { Compressor, encodeAhead, type Encoded } from './compress';
import { captureConsole } from './console';
import { DEFAULTS, resolveOptions, type Attributes, type RecorderOptions, type ResolvedOptions } from './options';
import { browserResource, kvs, logRecord, logsRequest, type OtlpKeyValue, type OtlpLogRecord } from './otlp';
import {
  installBaggagePatch,
  SessionBaggagePropagator,
  SessionSpanProcessor,
  uninstallBaggagePatch,
} from './propagation';
import { SessionManager, type SessionState } from './session';
import { SlicedSnapshot, yieldToBrowser } from './sliced';
import { KEEPALIVE_LIMIT, Transport, type QueueItem } from './transport';

/** rrweb event as emitted (we only rely on these fields). */
export interface RRWebEvent {
  type: number;
  data: any;
  timestamp: number;
}

// rrweb EventType / IncrementalSource numbers
const FULL_SNAPSHOT = 2;
const INCREMENTAL = 3;
const META = 4;
const SRC_MUTATION = 0;
const SRC_MOUSEMOVE = 1;
/** incremental sources that mean a user is present: mouse move, mouse interaction, scroll, input, touch move */
const ACTIVITY = [false, true, true, true, false, true, true];
/** main-thread time per slice of a full snapshot and of its JSON encoding */
const SLICE_MS = 8;

/** rrweb version recorded in `session_replay.rrweb_version` (the @rrweb/record package we bundle). */
export const RRWEB_VERSION = '2.1.6';

export function stripUrl(url: string, strip: boolean): string {
  if (!strip || !url) return url;
  const i = url.search(/[?#]/);
  return i < 0 ? url : url.slice(0, i);
}

function estimate(e: RRWebEvent): number {
  if (e.type === FULL_SNAPSHOT) return 100_000;
  if (e.type !== INCREMENTAL || e.data.source !== SRC_MUTATION) return 80;
  const d = e.data;
  let n = 64 + 120 * (d.adds.length + d.attributes.length) + 40 * d.removes.length;
  for (const t of d.texts) n += 40 + (t.value ? t.value.length : 0);
  return n;
}

export class Recorder {
  readonly options: ResolvedOptions;
  readonly session: SessionManager;
  private compressor: Compressor;
  private transport: Transport;
  private resource: OtlpKeyValue[];
  private events: RRWebEvent[] = [];
  private logs: OtlpLogRecord[] = [];
  private estBytes = 0;
  private chunkSession = '';
  private chunkPrev: string | undefined;
  private droppedEvents = 0;
  /** ids of nodes inside blocked iframes */
  private iframeIds = new Set<number>();
  private stopRecord?: () => void;
  private timer?: ReturnType<typeof setInterval>;
  private soonTimer?: ReturnType<typeof setTimeout>;
  private cleanups: Array<() => void> = [];
  private user?: { id: string; attrs?: Record<string, unknown> };
  private recording = false;
  private pendingFlushes = new Set<Promise<void>>();
  private snapshots = new SlicedSnapshot(SLICE_MS);
  /** timestamp of the last full snapshot, for checkouts */
  private lastFull = 0;
  /** custom events (errors, navigation, track) that came while a snapshot was being taken */
  private held: RRWebEvent[] = [];

  constructor(opts: RecorderOptions) {
    const o = (this.options = resolveOptions(opts));
    this.session = new SessionManager(o.storagePrefix, o.idleTimeoutMs, o.maxSessionMs);
    this.session.onRotate = (prev, next) => this.onRotate(prev, next);
    this.compressor = new Compressor(o.compress, o.useWorker);
    this.transport = new Transport(o.endpoint + '/v1/logs', o.headers || {}, o.maxQueueBytes, o.debug);
    this.resource = kvs(browserResource(o.serviceName, o.serviceVersion, o.environment, o.resourceAttributes));
    this.user = this.session.loadUser();
    installBaggagePatch(() => (this.recording ? { id: this.session.id } : undefined), o.propagateToOrigins, o.endpoint);
    if (o.autoStart) this.start();
  }

  get sessionId(): string {
    return this.session.current.id;
  }

  get windowId(): string {
    return this.session.windowId;
  }

  /** Attributes stamped on spans by {@link SessionSpanProcessor}. */
  spanAttributes(): Record<string, string | undefined> {
    return { 'session.id': this.recording ? this.session.current.id : undefined, 'user.id': this.user && this.user.id };
  }

  createSpanProcessor(): SessionSpanProcessor {
    return new SessionSpanProcessor(() => this.spanAttributes());
  }

  createPropagator(): SessionBaggagePropagator {
    return new SessionBaggagePropagator(() => (this.recording ? this.session.current.id : undefined));
  }

  start(): void {
    if (this.recording) return;
    this.recording = true;
    const o = this.options;
    this.chunkSession = this.session.id;
    this.chunkPrev = this.session.current.prev;
    const block = ['iframe', o.blockSelector].filter(Boolean).join(',');
    const maskText = o.maskAllText ? '*' : o.maskTextSelector;
    // a fixed-length placeholder: rrweb's default keeps one '*' per character
    const placeholder = o.maskPlaceholder || DEFAULTS.maskPlaceholder;
    this.stopRecord = record({
      emit: (e: any) => this.onEvent(e as RRWebEvent),
      // every full snapshot (first, checkouts, new session) is taken in slices; checkouts are ours (onEvent)
      // since rrweb's expect a snapshot to exist as soon as it emits anything
      sliceSnapshot: this.snapshots.take,
      maskAllInputs: o.maskAllInputs,
      maskInputOptions: { password: true },
      maskInputFn: (text: string) => (text ? placeholder : text),
      blockSelector: block,
      blockClass: o.blockClass,
      ignoreClass: o.ignoreClass,
      ignoreSelector: o.ignoreSelector,
      maskTextClass: o.maskTextClass,
      maskTextSelector: maskText,
      sampling: { mousemove: o.mousemoveSampleMs, scroll: o.scrollSampleMs, input: 'last' },
      recordCanvas: o.recordCanvas,
      recordCrossOriginIframes: false,
      collectFonts: false,
      slimDOMOptions: { script: true, comment: true, headFavicon: true, headWhitespace: true },
      plugins: [{ name: 'rrweb/console@1', observer: (cb: any) => captureConsole(o.recordConsole, o.maskAllText, cb) }],
    } as any) as (() => void) | undefined;

    this.timer = setInterval(() => void this.flush(), o.flushIntervalMs);
    const onHide = () => {
      if (document.visibilityState === 'hidden') this.flushNow();
    };
    const onPageHide = () => this.flushNow(true);
    document.addEventListener('visibilitychange', onHide);
    window.addEventListener('pagehide', onPageHide);
    this.cleanups.push(() => {
      document.removeEventListener('visibilitychange', onHide);
      window.removeEventListener('pagehide', onPageHide);
    });
    if (o.captureErrors) this.captureErrors();
    this.captureNavigation();
  }

  /** Stops recording, sends what is buffered, and removes every hook. */
  async stop(): Promise<void> {
    if (!this.recording) return;
    this.stopRecord && this.stopRecord();
    this.stopRecord = undefined;
    this.snapshots.cancel();
    this.events.push(...this.held.splice(0));
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const c of this.cleanups.splice(0)) c();
    await this.flush();
    this.recording = false;
    uninstallBaggagePatch();
  }

  // ---------------------------------------------------------------- events

  private onEvent(e: RRWebEvent): void {
    // DomContentLoaded / Load markers carry nothing a replay needs: chunks start with meta + full snapshot
    if (e.type < 2) return;
    if (this.snapshots.busy) {
      // incremental events refer to a half-built snapshot, which includes their effect when it completes
      if (e.type === INCREMENTAL) return;
      if (e.type !== META && e.type !== FULL_SNAPSHOT) return void this.held.push(e);
    }
    if (e.type === INCREMENTAL && (this.iframeIds.size || e.data.isAttachIframe) && !this.filterIframe(e)) return;
    const o = this.options;
    if (e.type === META && o.stripQueryString && e.data && e.data.href) e.data.href = stripUrl(e.data.href, true);
    if (e.type === INCREMENTAL && ACTIVITY[e.data.source]) {
      if (this.session.touch(e.timestamp > 0 ? Math.max(e.timestamp, Date.now()) : Date.now())) {
        // a new session started: its first events (meta + full snapshot) were emitted by onRotate
        const last = this.events.length ? this.events[this.events.length - 1].timestamp : e.timestamp;
        if (e.timestamp < last) e.timestamp = last;
      }
      // a new session's snapshot has started: this event belongs to the snapshot
      if (this.snapshots.busy) return;
    }
    if (!this.events.length) {
      this.chunkSession = this.session.id;
      this.chunkPrev = this.session.current.prev;
    }
    this.events.push(e);
    this.estBytes += estimate(e);
    if (e.type === FULL_SNAPSHOT) {
      this.lastFull = e.timestamp;
      // its JSON is made in slices now, so the flush hands the worker bytes, not an object graph to clone
      encodeAhead(e, SLICE_MS, yieldToBrowser);
      for (const h of this.held.splice(0)) this.onEvent({ ...h, timestamp: Math.max(h.timestamp, e.timestamp) });
      this.flushSoon(500);
    } else if (e.type === INCREMENTAL && this.lastFull && e.timestamp - this.lastFull > o.checkoutEveryMs) {
      this.lastFull = e.timestamp; // once per period, even while the snapshot is being taken
      this.takeSnapshot();
    }
    else if (this.estBytes > o.maxChunkBytes) this.flushSoon(0);
    if (this.events.length > o.maxBufferedEvents) this.dropOldest();
  }

  /** rrweb replaces a blocked iframe by a placeholder, but still serializes a same-origin iframe's document
   * when it loads and observes it. Blocking means none of it may leave the page: drop the iframe attach and
   * every later event about its nodes. Returns false when the whole event is dropped. */
  private filterIframe(e: RRWebEvent): boolean {
    const ids = this.iframeIds;
    const collect = (n: any) => {
      ids.add(n.id);
      if (n.childNodes) for (const c of n.childNodes) collect(c);
    };
    const d = e.data;
    if (d.source === SRC_MUTATION) {
      if (d.isAttachIframe) {
        for (const a of d.adds) collect(a.node);
        return false;
      }
      d.adds = d.adds.filter((a: any) => {
        if (ids.has(a.parentId) || (a.node.rootId !== undefined && ids.has(a.node.rootId))) {
          collect(a.node);
          return false;
        }
        return true;
      });
      d.removes = d.removes.filter((r: any) => !ids.has(r.parentId) && !ids.has(r.id));
      d.texts = d.texts.filter((t: any) => !ids.has(t.id));
      d.attributes = d.attributes.filter((t: any) => !ids.has(t.id));
      return d.adds.length + d.removes.length + d.texts.length + d.attributes.length > 0;
    }
    if (d.positions) {
      d.positions = d.positions.filter((p: any) => !ids.has(p.id));
      return d.positions.length > 0;
    }
    return !(d.id !== undefined && ids.has(d.id));
  }

  private flushSoon(ms: number): void {
    if (this.soonTimer) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      void this.flush();
    }, ms);
  }

  /** Over the buffer bound: drop the oldest mouse moves first, then other incremental events; never a
   * snapshot or meta event. */
  private dropOldest(): void {
    const want = Math.max(1, Math.ceil(this.options.maxBufferedEvents * 0.1));
    let n = 0;
    const keep = (pred: (e: RRWebEvent) => boolean) => {
      this.events = this.events.filter((e) => {
        if (n < want && pred(e)) {
          n++;
          return false;
        }
        return true;
      });
    };
    keep((e) => e.type === INCREMENTAL && e.data.source === SRC_MOUSEMOVE);
    if (n < want) keep((e) => e.type !== FULL_SNAPSHOT && e.type !== META);
    this.droppedEvents += n;
  }

  private onRotate(prev: SessionState, next: SessionState): void {
    // close the chunk of the old session, then start the new one with a full snapshot
    void this.flush(prev);
    this.chunkSession = next.id;
    this.chunkPrev = next.prev;
    if (this.recording) this.takeSnapshot();
  }

  private takeSnapshot(): void {
    try {
      record.takeFullSnapshot(true);
    } catch {
      /* not recording yet */
    }
  }

  // ---------------------------------------------------------------- attributes

  private url(): string {
    return stripUrl(location.href, this.options.stripQueryString);
  }

  private commonAttrs(sessionId?: string, prev?: string): Attributes {
    const a: Attributes = {
      'session.id': sessionId || this.session.current.id,
      'session.previous_id': prev,
      'session_replay.window_id': this.session.windowId,
      'url.full': this.url(),
    };
    if (this.user) {
      a['user.id'] = this.user.id;
      const ua = this.user.attrs || {};
      for (const k of Object.keys(ua)) a[k] = ua[k] as any;
    }
    return a;
  }

  private chunkRecord(
    events: RRWebEvent[],
    enc: Encoded,
    seq: number,
    sessionId: string,
    prev?: string
  ): OtlpLogRecord {
    let start = Infinity;
    let end = 0;
    let full = false;
    for (const e of events) {
      if (e.timestamp < start) start = e.timestamp;
      if (e.timestamp > end) end = e.timestamp;
      if (e.type === FULL_SNAPSHOT) full = true;
    }
    return logRecord(
      'session_replay.chunk',
      start,
      {
        ...this.commonAttrs(sessionId, prev),
        'session_replay.seq': seq,
        'session_replay.start': start,
        'session_replay.end': end,
        'session_replay.event_count': events.length,
        'session_replay.full_snapshot': full,
        'session_replay.encoding': enc.encoding,
        'session_replay.rrweb_version': RRWEB_VERSION,
        'session_replay.dropped_events': this.droppedEvents + this.transport.dropped,
      },
      enc.encoding === 'gzip' ? { bytesValue: enc.data } : { stringValue: enc.data }
    );
  }

  // ---------------------------------------------------------------- shipping

  /** Encodes the buffered events (gzip, in a worker when possible) and queues them for sending.
   * Resolves once queued requests are sent (or after at most `timeoutMs`). */
  flush(prev?: SessionState, timeoutMs = 10_000): Promise<void> {
    if (this.soonTimer) {
      clearTimeout(this.soonTimer);
      this.soonTimer = undefined;
    }
    const events = this.events;
    const logs = this.logs;
    // keep events buffered (bounded by maxBufferedEvents) while the backend is backing off
    const holdEvents = this.transport.pending >= 3 && !prev;
    if (!holdEvents) {
      this.events = [];
      this.estBytes = 0;
    }
    this.logs = [];
    const sendEvents = holdEvents ? [] : events;
    const sessionId = prev ? prev.id : this.chunkSession || this.session.id;
    const prevId = prev ? prev.prev : this.chunkPrev;
    if (!sendEvents.length && !logs.length) return this.transport.drained(timeoutMs);
    const seq = sendEvents.length ? this.session.nextSeq() : -1;
    const p = (async () => {
      const records: OtlpLogRecord[] = [];
      if (sendEvents.length) {
        const enc = await this.compressor.encode(sendEvents);
        records.push(this.chunkRecord(sendEvents, enc, seq, sessionId, prevId));
      }
      records.push(...logs);
      this.transport.enqueue(logsRequest(this.resource, records), sendEvents.length, sendEvents.some(isFull));
    })();
    this.pendingFlushes.add(p);
    return p.then(
      () => {
        this.pendingFlushes.delete(p);
        return this.transport.drained(timeoutMs);
      },
      () => {
        this.pendingFlushes.delete(p);
      }
    );
  }

  /** Synchronous send for page hide: plain JSON chunks, split so that each request stays under the
   * keepalive limit, sent with fetch keepalive. */
  flushNow(leaving = false): void {
    if (this.soonTimer) {
      clearTimeout(this.soonTimer);
      this.soonTimer = undefined;
    }
    const events = this.events;
    const logs = this.logs;
    this.events = [];
    this.logs = [];
    this.estBytes = 0;
    const items: QueueItem[] = [];
    const budget = KEEPALIVE_LIMIT / 2; // JSON escaping inside the OTLP string value grows the text
    let part: RRWebEvent[] = [];
    let size = 0;
    const close = () => {
      if (!part.length) return;
      const enc = this.compressor.encodeSync(part);
      const rec = this.chunkRecord(
        part,
        enc,
        this.session.nextSeq(),
        this.chunkSession || this.session.id,
        this.chunkPrev
      );
      items.push({
        body: logsRequest(this.resource, [rec]),
        events: part.length,
        attempts: 0,
        snapshot: part.some(isFull),
      });
      part = [];
      size = 0;
    };
    for (const e of events) {
      const n = JSON.stringify(e).length;
      if (size + n > budget && part.length) close();
      part.push(e);
      size += n;
    }
    close();
    if (logs.length) items.push({ body: logsRequest(this.resource, logs), events: 0, attempts: 0, snapshot: false });
    this.session.flushState();
    this.transport.sendAllNow(items, leaving);
  }

  // ---------------------------------------------------------------- logs

  private pushLog(rec: OtlpLogRecord): void {
    this.logs.push(rec);
    if (this.logs.length > 200) this.logs.shift();
    this.flushSoon(1000);
  }

  /** Records a custom event: an OTLP log record with eventName = name (and an rrweb custom event). */
  track(name: string, attrs: Attributes = {}): void {
    if (!this.recording) return;
    this.session.touch();
    const now = Date.now();
    try {
      record.addCustomEvent(name, attrs);
    } catch {
      /* not recording */
    }
    this.pushLog(logRecord(name, now, { ...this.commonAttrs(), ...attrs }));
  }

  /** Sets `user.id` (and extra attributes, keys used as given) on subsequent chunks, logs and spans. */
  identify(userId: string | undefined, attrs?: Record<string, unknown>): void {
    this.user = userId ? { id: String(userId), attrs } : undefined;
    this.session.saveUser(this.user);
  }

  /** Records an exception log record (semconv exception.*). */
  captureException(err: unknown, extra: Attributes = {}): void {
    const e = err as { name?: string; message?: string; stack?: string } | undefined;
    const isErr = e && typeof e === 'object';
    const type = isErr && e.name ? e.name : 'Error';
    const message = isErr ? String(e.message ?? '') : String(err);
    const now = Date.now();
    try {
      record.addCustomEvent('exception', { type, message });
    } catch {
      /* ignore */
    }
    this.pushLog(
      logRecord(
        'exception',
        now,
        {
          ...this.commonAttrs(),
          'exception.type': type,
          'exception.message': message,
          'exception.stacktrace': isErr && e.stack ? String(e.stack) : undefined,
          ...extra,
        },
        { stringValue: message },
        17,
        'ERROR'
      )
    );
  }

  private captureErrors(): void {
    const onError = (ev: ErrorEvent) => {
      this.captureException(
        ev.error || {
          name: 'Error',
          message: ev.message,
          stack: ev.filename ? `at ${ev.filename}:${ev.lineno}:${ev.colno}` : undefined,
        }
      );
    };
    const onRejection = (ev: PromiseRejectionEvent) => {
      const r = ev.reason;
      this.captureException(r && typeof r === 'object' ? r : { name: 'UnhandledRejection', message: String(r) }, {
        'exception.unhandled_rejection': true,
      });
    };
    window.addEventListener('error', onError);
    window.addEventListener('unhandledrejection', onRejection);
    this.cleanups.push(() => {
      window.removeEventListener('error', onError);
      window.removeEventListener('unhandledrejection', onRejection);
    });
  }

  /** Single-page-app navigation: an rrweb custom event `navigation` on history changes. */
  private captureNavigation(): void {
    const emit = () => {
      try {
        record.addCustomEvent('navigation', { href: this.url() });
      } catch {
        /* ignore */
      }
    };
    const h = history as any;
    const wrap = (name: 'pushState' | 'replaceState') => {
      const orig = h[name];
      h[name] = function (this: History, ...args: unknown[]) {
        const r = orig.apply(this, args);
        emit();
        return r;
      };
      this.cleanups.push(() => (h[name] = orig));
    };
    wrap('pushState');
    wrap('replaceState');
    window.addEventListener('popstate', emit);
    this.cleanups.push(() => window.removeEventListener('popstate', emit));
  }

  /** Diagnostics used by tests. */
  get stats(): { buffered: number; dropped: number; queued: number; worker: boolean; snapshotting: boolean } {
    return {
      snapshotting: this.snapshots.busy,
      buffered: this.events.length,
      dropped: this.droppedEvents + this.transport.dropped,
      queued: this.transport.pending,
      worker: this.compressor.usesWorker,
    };
  }
}

function isFull(e: RRWebEvent): boolean {
  return e.type === FULL_SNAPSHOT;
}
