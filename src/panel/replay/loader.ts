import { isChunk, isMeta, readNdjson } from './stream';
import type { ReplayChunk, ReplayMeta } from './types';

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
      for await (const line of readNdjson(res.body)) {
        if (this.finished) {
          return;
        }
        if (isMeta(line)) {
          handlers.onMeta(line);
        } else if (isChunk(line)) {
          this.chunks++;
          this.loadedUntil = Math.max(this.loadedUntil, line.end);
          handlers.onChunk(line);
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
