/**
 * @jest-environment node
 */
import { isChunk, isMeta, NdjsonParser, readNdjson, replayResourceUrl } from './stream';

function streamOf(pieces: Array<string | Uint8Array>): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const p of pieces) {
        controller.enqueue(typeof p === 'string' ? enc.encode(p) : p);
      }
      controller.close();
    },
  });
}

describe('NdjsonParser', () => {
  it('parses lines split across pieces, skipping blank lines', () => {
    const p = new NdjsonParser();
    expect(p.push('{"a":1}\n{"b"')).toEqual([{ a: 1 }]);
    expect(p.push(':2}\n\n')).toEqual([{ b: 2 }]);
    expect(p.push('{"c":3}')).toEqual([]);
    expect(p.flush()).toEqual([{ c: 3 }]);
    expect(p.flush()).toEqual([]);
  });

  it('handles multi-byte characters split between byte pieces and CRLF', () => {
    const bytes = new TextEncoder().encode('{"t":"héllo ✓"}\r\n');
    const p = new NdjsonParser();
    const out = [];
    for (let i = 0; i < bytes.length; i++) {
      out.push(...p.push(bytes.slice(i, i + 1)));
    }
    expect(out).toEqual([{ t: 'héllo ✓' }]);
  });

  it('reports the line of invalid JSON', () => {
    const p = new NdjsonParser();
    expect(() => p.push('{"ok":1}\nnot json\n')).toThrow(/line 2/);
  });
});

describe('readNdjson', () => {
  it('yields meta and chunk lines of a replay stream as they complete', async () => {
    const meta = { type: 'meta', sessionId: 's', start: 1, end: 9, from: 1 };
    const chunk = {
      type: 'chunk',
      windowId: 'w',
      seq: 0,
      start: 1,
      end: 2,
      fullSnapshot: true,
      events: [{ type: 4, timestamp: 1 }],
    };
    const text = JSON.stringify(meta) + '\n' + JSON.stringify(chunk) + '\n';
    const lines = [];
    for await (const line of readNdjson(streamOf([text.slice(0, 10), text.slice(10, 70), text.slice(70)]))) {
      lines.push(line);
    }
    expect(lines).toEqual([meta, chunk]);
    expect(isMeta(lines[0])).toBe(true);
    expect(isChunk(lines[1])).toBe(true);
    expect(isChunk(lines[0])).toBe(false);
  });
});

describe('replayResourceUrl', () => {
  it('builds the resource URL with an optional from', () => {
    expect(replayResourceUrl('sessionreplay', 'a/b')).toBe(
      '/api/datasources/uid/sessionreplay/resources/sessions/a%2Fb/replay'
    );
    expect(replayResourceUrl('u', 's', 1700000000123.7)).toBe(
      '/api/datasources/uid/u/resources/sessions/s/replay?from=1700000000123'
    );
  });
});

describe('replayResourceUrl with a track', () => {
  it('asks for a track other than the top page by index, with or without a start', () => {
    expect(replayResourceUrl('u', 's', undefined, 1)).toBe(
      '/api/datasources/uid/u/resources/sessions/s/replay?track=1'
    );
    expect(replayResourceUrl('u', 's', 1700000000123, 2)).toBe(
      '/api/datasources/uid/u/resources/sessions/s/replay?from=1700000000123&track=2'
    );
  });

  it('leaves track 0 (the default) and invalid tracks out', () => {
    expect(replayResourceUrl('u', 's', undefined, 0)).toBe('/api/datasources/uid/u/resources/sessions/s/replay');
    expect(replayResourceUrl('u', 's', 5, -1)).toBe('/api/datasources/uid/u/resources/sessions/s/replay?from=5');
    expect(replayResourceUrl('u', 's', 5, 1.5)).toBe('/api/datasources/uid/u/resources/sessions/s/replay?from=5');
  });
});

describe('replayResourceUrl for a live session', () => {
  it('asks for the chunks after the newest one held', () => {
    expect(replayResourceUrl('u', 's', undefined, 0, 1700000000123)).toBe(
      '/api/datasources/uid/u/resources/sessions/s/replay?after=1700000000123'
    );
    expect(replayResourceUrl('u', 's', undefined, 1, 5)).toBe(
      '/api/datasources/uid/u/resources/sessions/s/replay?track=1&after=5'
    );
  });
});
