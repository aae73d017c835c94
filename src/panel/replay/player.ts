import { Replayer } from 'rrweb';

import { mark } from './timing';
import type { RrwebEvent } from './types';

const EVENT_FULL_SNAPSHOT = 2;
const EVENT_INCREMENTAL = 3;
const EVENT_META = 4;
// rrweb's incremental sources that are the user's doing: mouse move, mouse interaction, scroll, viewport resize,
// input (what rrweb's own skipInactive counts as activity)
const USER_SOURCE_MIN = 1;
const USER_SOURCE_MAX = 5;

export interface PlayerCallbacks {
  onReady?(): void;
  onResize?(width: number, height: number): void;
  /** The loaded events ran out; `wasPlaying` is false when a paused player was only positioned past them. */
  onFinish?(wasPlaying: boolean): void;
}

interface PageMeta {
  timestamp: number;
  href: string;
  width: number;
  height: number;
}

type ReplayerEvent = ConstructorParameters<typeof Replayer>[0][number];

/**
 * Wraps rrweb's Replayer for progressive loading: events may arrive in pieces; the Replayer is created once a full
 * snapshot is there, later events are appended with addEvent. Times are absolute (unix ms of the recording).
 */
export class ReplayPlayer {
  private replayer?: Replayer;
  private pending: RrwebEvent[] = [];
  private pages: PageMeta[] = [];
  /** Times of the user's interactions, for the inactive stretches of the timeline. */
  private activity: number[] = [];
  private speed = 1;
  private skipInactive = true;
  private playing = false;
  private lastTs = -Infinity;
  private startAt?: number;
  private ended = false;
  /** While paused: the absolute time the frame must show. Events that arrive later and fall at or before it are
   * applied by pausing there again (a paused Replayer does not apply events added after the pause). */
  private holdAt?: number;

  constructor(
    private readonly root: HTMLElement,
    private readonly callbacks: PlayerCallbacks = {},
    options: { speed?: number; skipInactive?: boolean; startAt?: number } = {}
  ) {
    this.speed = options.speed ?? 1;
    this.skipInactive = options.skipInactive ?? true;
    this.startAt = options.startAt;
  }

  get ready(): boolean {
    return Boolean(this.replayer);
  }

  /** Timestamp of the first event the replayer holds (a full snapshot or the meta event before it). */
  get startTime(): number | undefined {
    return this.replayer?.getMetaData().startTime;
  }

  get activityTimes(): number[] {
    return this.activity;
  }

  get lastEventTime(): number {
    return this.lastTs;
  }

  get iframe(): HTMLIFrameElement | undefined {
    return this.replayer?.iframe;
  }

  get wrapper(): HTMLElement | undefined {
    return this.replayer?.wrapper;
  }

  addEvents(events: RrwebEvent[]) {
    for (const e of events) {
      if (e.type === EVENT_META) {
        const d = (e.data ?? {}) as { href?: string; width?: number; height?: number };
        this.pages.push({ timestamp: e.timestamp, href: d.href ?? '', width: d.width ?? 0, height: d.height ?? 0 });
      }
      if (e.type === EVENT_INCREMENTAL) {
        const source = (e.data as { source?: number } | undefined)?.source ?? 0;
        if (source >= USER_SOURCE_MIN && source <= USER_SOURCE_MAX) {
          this.activity.push(e.timestamp);
        }
      }
      this.lastTs = Math.max(this.lastTs, e.timestamp);
    }
    this.pages.sort((a, b) => a.timestamp - b.timestamp);
    this.activity.sort((a, b) => a - b);

    if (this.replayer) {
      for (const e of events) {
        this.replayer.addEvent(e as unknown as ReplayerEvent);
      }
      const hold = this.holdAt;
      if (!this.playing && hold !== undefined && events.some((e) => e.timestamp <= hold)) {
        // Replayer.addEvent hands events to its state machine in a microtask: position again after that, so the
        // frame is rebuilt with them.
        const replayer = this.replayer;
        setTimeout(() => {
          if (this.replayer === replayer && !this.playing && this.holdAt === hold) {
            replayer.pause(Math.max(0, hold - replayer.getMetaData().startTime));
            this.markFrame(hold);
          }
        }, 0);
      }
      return;
    }
    this.pending.push(...events);
    // wait for the recording up to the wanted moment: one rebuild there, instead of a rebuild and fast-forward
    // per chunk on the way (the stream starting at an older snapshot, or at the session's start)
    if (this.startAt !== undefined && this.lastTs < this.startAt && !this.ended) {
      return;
    }
    this.createFromPending();
  }

  /** The stream ended: build the replayer with what arrived, even when it stops before the wanted moment. */
  end() {
    this.ended = true;
    if (!this.replayer) {
      this.createFromPending();
    }
  }

  private createFromPending() {
    if (this.pending.length < 2 || !this.pending.some((e) => e.type === EVENT_FULL_SNAPSHOT)) {
      return;
    }
    this.pending.sort((a, b) => a.timestamp - b.timestamp);
    // start at the last full snapshot at or before the wanted moment (the first one when it comes after it), with
    // the meta event before it; what precedes cannot change the frame at that moment
    const at = this.startAt ?? -Infinity;
    let full = -1;
    for (let i = 0; i < this.pending.length; i++) {
      const e = this.pending[i];
      if (e.type === EVENT_FULL_SNAPSHOT && (full < 0 || e.timestamp <= at)) {
        full = i;
      }
    }
    let first = full;
    if (first > 0 && this.pending[first - 1].type === EVENT_META) {
      first--;
    }
    const initial = this.pending.slice(first);
    this.pending = [];
    this.create(initial);
  }

  private create(events: RrwebEvent[]) {
    const replayer = new Replayer(events as unknown as ReplayerEvent[], {
      root: this.root,
      speed: this.speed,
      skipInactive: this.skipInactive,
      showWarning: false,
      showDebug: false,
      mouseTail: false,
      triggerFocus: false,
      UNSAFE_replayCanvas: false,
      liveMode: false,
    });
    this.replayer = replayer;
    replayer.on('resize', (d: unknown) => {
      const dim = d as { width: number; height: number };
      this.callbacks.onResize?.(dim.width, dim.height);
    });
    replayer.on('finish', () => {
      const wasPlaying = this.playing;
      this.playing = false;
      this.callbacks.onFinish?.(wasPlaying);
    });
    const start = replayer.getMetaData().startTime;
    const at = this.startAt !== undefined ? Math.max(0, this.startAt - start) : 0;
    if (this.playing) {
      replayer.play(at);
    } else {
      this.holdAt = start + at;
      replayer.pause(at);
    }
    this.markFrame(start + at);
    this.callbacks.onReady?.();
  }

  private framed = false;

  /** Marks the first frame once the frame shows the wanted moment with every event up to it applied. */
  private markFrame(at: number) {
    if (!this.framed && this.lastTs >= at) {
      this.framed = true;
      mark('first-frame');
    }
  }

  /** Absolute time (unix ms) the player is at; before it is ready, the wanted start time. */
  currentTime(): number | undefined {
    if (!this.replayer) {
      return this.startAt;
    }
    return this.replayer.getMetaData().startTime + this.replayer.getCurrentTime();
  }

  isPlaying(): boolean {
    return this.playing;
  }

  play() {
    this.playing = true;
    this.holdAt = undefined;
    if (!this.replayer) {
      return;
    }
    const meta = this.replayer.getMetaData();
    let offset = this.replayer.getCurrentTime();
    if (offset >= meta.totalTime) {
      offset = 0; // replay from the beginning once finished
    }
    this.replayer.play(offset);
  }

  /** Stay in the playing state after the loaded events ran out (more are on their way). */
  holdPlaying() {
    this.playing = true;
  }

  /** Continue after the events ran out while more were still loading. */
  resume() {
    if (this.replayer && this.playing) {
      this.replayer.play(this.replayer.getCurrentTime());
    }
  }

  pause() {
    this.playing = false;
    this.replayer?.pause();
    this.holdAt = this.currentTime();
  }

  /** Seeks to an absolute time; keeps playing if it was. */
  seek(ts: number) {
    if (!this.replayer) {
      this.startAt = ts;
      return;
    }
    const start = this.replayer.getMetaData().startTime;
    const offset = Math.max(0, ts - start);
    if (this.playing) {
      this.replayer.play(offset);
    } else {
      this.holdAt = start + offset;
      this.replayer.pause(offset);
    }
  }

  setSpeed(speed: number) {
    this.speed = speed;
    this.replayer?.setConfig({ speed });
  }

  setSkipInactive(skip: boolean) {
    this.skipInactive = skip;
    this.replayer?.setConfig({ skipInactive: skip });
  }

  /** URL and viewport of the page shown at a time (from the recording's meta events). */
  pageAt(ts: number): PageMeta | undefined {
    let found: PageMeta | undefined;
    for (const p of this.pages) {
      if (p.timestamp <= ts) {
        found = p;
      } else {
        break;
      }
    }
    return found ?? this.pages[0];
  }

  destroy() {
    this.playing = false;
    try {
      this.replayer?.pause();
      this.replayer?.destroy();
    } catch {
      // already gone
    }
    this.replayer = undefined;
    this.root.innerHTML = '';
  }
}

/** Scale that fits a recorded viewport into a box, never enlarging more than 2x. */
export function fitScale(viewport: { width: number; height: number }, box: { width: number; height: number }): number {
  if (viewport.width <= 0 || viewport.height <= 0 || box.width <= 0 || box.height <= 0) {
    return 1;
  }
  return Math.min(box.width / viewport.width, box.height / viewport.height, 2);
}
