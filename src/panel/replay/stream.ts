import type { ReplayChunk, ReplayLine, ReplayMeta } from './types';

/**
 * Incremental NDJSON parser: push byte or text pieces as they arrive (a piece may end in the middle of a line or of
 * a multi-byte character); complete lines come out parsed. Blank lines are skipped; a line that is not JSON throws
 * with its line number.
 */
export class NdjsonParser<T = unknown> {
  private buffer = '';
  private line = 0;
  private readonly decoder = new TextDecoder('utf-8');

  push(piece: Uint8Array | string): T[] {
    this.buffer += typeof piece === 'string' ? piece : this.decoder.decode(piece, { stream: true });
    const out: T[] = [];
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const text = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      this.parseLine(text, out);
    }
    return out;
  }

  /** Call at the end of the stream: parses a last line that has no trailing newline. */
  flush(): T[] {
    this.buffer += this.decoder.decode();
    const out: T[] = [];
    const rest = this.buffer;
    this.buffer = '';
    this.parseLine(rest, out);
    return out;
  }

  private parseLine(text: string, out: T[]) {
    this.line++;
    const trimmed = text.trim();
    if (!trimmed) {
      return;
    }
    try {
      out.push(JSON.parse(trimmed) as T);
    } catch (e) {
      throw new Error(`invalid NDJSON at line ${this.line}: ${(e as Error).message}`);
    }
  }
}

/** Reads a byte stream (e.g. `response.body`) and yields each parsed line as soon as it is complete. */
export async function* readNdjson<T = unknown>(body: ReadableStream<Uint8Array>): AsyncGenerator<T> {
  const reader = body.getReader();
  const parser = new NdjsonParser<T>();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      for (const item of parser.push(value)) {
        yield item;
      }
    }
    for (const item of parser.flush()) {
      yield item;
    }
  } finally {
    reader.releaseLock();
  }
}

export function isMeta(line: unknown): line is ReplayMeta {
  return Boolean(line) && (line as ReplayLine).type === 'meta';
}

export function isChunk(line: unknown): line is ReplayChunk {
  const l = line as ReplayChunk;
  return Boolean(l) && l.type === 'chunk' && Array.isArray(l.events);
}

/**
 * URL of the replay resource of a session: one track (0, the top page's, when not given), optionally starting at the
 * track's nearest full snapshot before `from`.
 */
export function replayResourceUrl(
  datasourceUid: string,
  sessionId: string,
  from?: number,
  track?: number,
  after?: number
): string {
  const base = `/api/datasources/uid/${encodeURIComponent(datasourceUid)}/resources/sessions/${encodeURIComponent(
    sessionId
  )}/replay`;
  const params: string[] = [];
  if (from !== undefined && Number.isFinite(from)) {
    params.push(`from=${Math.floor(from)}`);
  }
  if (track !== undefined && Number.isInteger(track) && track > 0) {
    params.push(`track=${track}`);
  }
  // a live session's next chunks: those starting at or after `after` (the panel drops the ones it holds)
  if (after !== undefined && Number.isFinite(after)) {
    params.push(`after=${Math.floor(after)}`);
  }
  return params.length ? `${base}?${params.join('&')}` : base;
}
