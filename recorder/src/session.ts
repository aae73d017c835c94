/** Session and window identity, kept in localStorage (session, shared by the tabs of a site) and
 * sessionStorage (window id and chunk sequence, one per tab, surviving navigation between pages). */

export interface SessionState {
  id: string;
  /** unix ms of the session start */
  start: number;
  /** unix ms of the last user activity */
  last: number;
  prev?: string;
}

export function randomId(bytes = 16): string {
  const a = new Uint8Array(bytes);
  const c = (globalThis as any).crypto;
  if (c && c.getRandomValues) c.getRandomValues(a);
  else for (let i = 0; i < bytes; i++) a[i] = (Math.random() * 256) | 0;
  let s = '';
  for (let i = 0; i < bytes; i++) s += (a[i] + 256).toString(16).slice(1);
  return s;
}

function store(kind: 'localStorage' | 'sessionStorage'): Storage | undefined {
  try {
    const s = (globalThis as any)[kind] as Storage | undefined;
    if (!s) return undefined;
    const k = '__sr_t';
    s.setItem(k, '1');
    s.removeItem(k);
    return s;
  } catch {
    return undefined;
  }
}

function readJSON<T>(s: Storage | undefined, key: string): T | undefined {
  try {
    const v = s && s.getItem(key);
    return v ? (JSON.parse(v) as T) : undefined;
  } catch {
    return undefined;
  }
}

function writeJSON(s: Storage | undefined, key: string, v: unknown): void {
  try {
    s && s.setItem(key, JSON.stringify(v));
  } catch {
    /* quota / disabled storage: keep in memory */
  }
}

export class SessionManager {
  private ls = store('localStorage');
  private ss = store('sessionStorage');
  private kSession: string;
  private kWindow: string;
  private kUser: string;
  private state: SessionState;
  private lastWrite = 0;
  private lastRead = 0;
  private writeEveryMs: number;
  readonly windowId: string;
  private seqValue: number;
  /** called when a new session replaces the current one in this page */
  onRotate?: (prev: SessionState, next: SessionState) => void;

  constructor(
    prefix: string,
    private idleTimeoutMs: number,
    private maxSessionMs: number,
    now = Date.now()
  ) {
    this.kSession = prefix + '_session';
    this.kWindow = prefix + '_window';
    this.kUser = prefix + '_user';
    this.writeEveryMs = Math.max(50, Math.min(1000, idleTimeoutMs / 4));
    const w = readJSON<{ id: string; seq: number }>(this.ss, this.kWindow);
    this.windowId = w && w.id ? w.id : randomId(8);
    this.seqValue = w && typeof w.seq === 'number' ? w.seq : 0;
    writeJSON(this.ss, this.kWindow, { id: this.windowId, seq: this.seqValue });
    const s = readJSON<SessionState>(this.ls, this.kSession);
    if (s && s.id && !this.expired(s, now)) {
      this.state = s;
    } else {
      this.state = this.fresh(now, s && s.id ? s.id : undefined);
    }
    this.state.last = now;
    this.persist(now);
  }

  private expired(s: SessionState, now: number): boolean {
    return now - s.last > this.idleTimeoutMs || now - s.start > this.maxSessionMs;
  }

  private fresh(now: number, prev?: string): SessionState {
    return { id: randomId(16), start: now, last: now, prev };
  }

  private persist(now: number): void {
    this.lastWrite = now;
    writeJSON(this.ls, this.kSession, this.state);
  }

  /** The current session, after picking up a session that another tab started. Does not extend it. */
  get current(): SessionState {
    const s = readJSON<SessionState>(this.ls, this.kSession);
    if (s && s.id) {
      if (s.id === this.state.id) {
        if (s.last > this.state.last) this.state.last = s.last;
      } else if (s.start >= this.state.start) {
        this.state = s;
      }
    }
    return this.state;
  }

  get id(): string {
    return this.state.id;
  }

  /** Registers user activity; starts a new session first when the current one has expired.
   * Returns true when the session rotated. */
  touch(now = Date.now()): boolean {
    const cur = now - this.lastRead >= this.writeEveryMs ? ((this.lastRead = now), this.current) : this.state;
    if (this.expired(cur, now)) {
      const prev = cur;
      this.state = this.fresh(now, prev.id);
      this.persist(now);
      this.onRotate && this.onRotate(prev, this.state);
      return true;
    }
    cur.last = now;
    if (now - this.lastWrite >= this.writeEveryMs) this.persist(now);
    return false;
  }

  /** Ends the current session now (e.g. on logout); the next one has previous_id = this one. */
  reset(now = Date.now()): void {
    const prev = this.state;
    this.state = this.fresh(now, prev.id);
    this.persist(now);
    this.onRotate && this.onRotate(prev, this.state);
  }

  /** Next chunk sequence number of this window (persisted in sessionStorage). */
  nextSeq(): number {
    const s = this.seqValue++;
    writeJSON(this.ss, this.kWindow, { id: this.windowId, seq: this.seqValue });
    return s;
  }

  saveUser(user: { id: string; attrs?: Record<string, unknown> } | undefined): void {
    try {
      if (!user) this.ls && this.ls.removeItem(this.kUser);
      else writeJSON(this.ls, this.kUser, user);
    } catch {
      /* ignore */
    }
  }

  loadUser(): { id: string; attrs?: Record<string, unknown> } | undefined {
    return readJSON(this.ls, this.kUser);
  }

  flushState(): void {
    this.persist(Date.now());
  }
}
