import { isChunk, isMeta, readNdjson } from './stream';
import type { ReplayChunk, ReplayMeta, RrwebEvent } from './types';

/** One event too large for a line, sent in pieces (`data` strings concatenate to the event's JSON). */
interface EventPart {
  type: 'event_part';
  windowId: string;
  seq: number;
  part: number;
  parts: number;
  data: string;
}

function isEventPart(line: unknown): line is EventPart {
  return Boolean(line) && (line as EventPart).type === 'event_part' && typeof (line as EventPart).data === 'string';
}

function isStreamError(line: unknown): line is { type: 'error'; message?: string } {
  return Boolean(line) && (line as { type?: string }).type === 'error';
}

export interface LoaderHandlers {
  onMeta(meta: ReplayMeta): void;
  onChunk(chunk: ReplayChunk): void;
  onDone(): void;
  onError(error: Error): void;
}

export interface LoaderOptions {
  url: string;
  handlers: LoaderHandlers;
  /** Read ahead no further than this (unix ms of recorded time); raise it with `setWantUntil`. */
  wantUntil?: number;
  fetchImpl?: typeof fetch;
}

/**
 * Loads a session's replay stream progressively: reads the NDJSON body piece by piece and hands over each chunk as
 * it arrives. Stops reading (back-pressure on the HTTP body) once it has recorded time past `wantUntil`, so a long
 * session is read only as far as playback needs.
 */
export class ReplayLoader {
  private controller = new AbortController();
  private wantUntil: number;
  private wake: (() => void) | null = null;
  private finished = false;
  loadedUntil = -Infinity;
  chunks = 0;

  constructor(private readonly options: LoaderOptions) {
    this.wantUntil = options.wantUntil ?? Infinity;
  }

  get done(): boolean {
    return this.finished;
  }

  setWantUntil(ts: number) {
    if (ts > this.wantUntil) {
      this.wantUntil = ts;
      this.wake?.();
    }
  }

  abort() {
    this.finished = true;
    this.controller.abort();
    this.wake?.();
  }

  async start(): Promise<void> {
    const { url, handlers } = this.options;
    const doFetch = this.options.fetchImpl ?? fetch.bind(globalThis);
    try {
      const res = await doFetch(url, {
        signal: this.controller.signal,
        headers: { Accept: 'application/x-ndjson' },
        credentials: 'same-origin',
      });
      if (!res.ok) {
        let msg = `${res.status} ${res.statusText}`;
        try {
          const body = await res.text();
          const parsed = JSON.parse(body);
          msg = parsed.message || parsed.error || msg;
        } catch {
          // keep status text
        }
        throw new Error(`replay request failed: ${msg}`);
      }
      if (!res.body) {
        throw new Error('replay response has no body');
      }
      let parts: string[] = [];
      for await (const line of readNdjson(res.body)) {
        if (this.finished) {
          return;
        }
        let chunk: ReplayChunk | undefined;
        if (isMeta(line)) {
          handlers.onMeta(line);
        } else if (isChunk(line)) {
          chunk = line;
        } else if (isEventPart(line)) {
          if (line.part === 0) {
            parts = [];
          }
          parts.push(line.data);
          if (line.part === line.parts - 1) {
            const ev = JSON.parse(parts.join('')) as RrwebEvent;
            parts = [];
            chunk = {
              type: 'chunk',
              windowId: line.windowId,
              seq: line.seq,
              start: ev.timestamp,
              end: ev.timestamp,
              fullSnapshot: ev.type === 2,
              events: [ev],
            };
          }
        } else if (isStreamError(line)) {
          throw new Error(line.message || 'replay stream failed');
        }
        if (chunk) {
          this.chunks++;
          this.loadedUntil = Math.max(this.loadedUntil, chunk.end);
          handlers.onChunk(chunk);
          while (!this.finished && this.loadedUntil > this.wantUntil) {
            await new Promise<void>((resolve) => (this.wake = resolve));
            this.wake = null;
          }
        }
      }
      if (!this.finished) {
        this.finished = true;
        handlers.onDone();
      }
    } catch (e) {
      if (this.controller.signal.aborted) {
        return;
      }
      this.finished = true;
      handlers.onError(e instanceof Error ? e : new Error(String(e)));
    }
  }
}
