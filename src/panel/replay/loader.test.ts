/**
 * @jest-environment node
 */
import { ReplayLoader } from './loader';
import type { ReplayChunk, ReplayMeta } from './types';

const enc = new TextEncoder();

function response(lines: object[], onPull: (i: number) => void): Response {
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i >= lines.length) {
        controller.close();
        return;
      }
      onPull(i);
      controller.enqueue(enc.encode(JSON.stringify(lines[i++]) + '\n'));
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'application/x-ndjson' } });
}

const chunk = (seq: number, start: number): ReplayChunk => ({
  type: 'chunk',
  windowId: 'w',
  seq,
  start,
  end: start + 999,
  fullSnapshot: seq === 0,
  events: [{ type: 3, timestamp: start }],
});

describe('ReplayLoader', () => {
  it('reads progressively: stops past wantUntil and continues when it is raised', async () => {
    const meta: ReplayMeta = { type: 'meta', sessionId: 's', start: 0, end: 10_000, from: 0 };
    const lines = [meta, ...Array.from({ length: 10 }, (_, i) => chunk(i, i * 1000))];
    const pulled: number[] = [];
    const chunks: number[] = [];
    const fetchImpl = jest.fn(async () => response(lines, (i) => pulled.push(i)));
    let done = false;
    const loader = new ReplayLoader({
      url: '/x',
      wantUntil: 2500,
      fetchImpl: fetchImpl as unknown as typeof fetch,
      handlers: {
        onMeta: () => {},
        onChunk: (c) => chunks.push(c.seq),
        onDone: () => (done = true),
        onError: (e) => {
          throw e;
        },
      },
    });
    void loader.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(chunks).toEqual([0, 1, 2]);
    expect(done).toBe(false);
    expect(pulled.length).toBeLessThan(lines.length);

    loader.setWantUntil(20_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(chunks).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(done).toBe(true);
    expect(loader.loadedUntil).toBe(9999);
  });

  it('reassembles event_part lines and reports in-stream errors', async () => {
    const big = JSON.stringify({ type: 2, timestamp: 5, data: { text: 'x'.repeat(50) } });
    const lines = [
      { type: 'meta', sessionId: 's', start: 0, end: 10, from: 0 },
      { type: 'event_part', windowId: 'w', seq: 3, part: 0, parts: 2, data: big.slice(0, 20) },
      { type: 'event_part', windowId: 'w', seq: 3, part: 1, parts: 2, data: big.slice(20) },
      { type: 'error', message: 'clickhouse went away' },
    ];
    const got: ReplayChunk[] = [];
    const error = await new Promise<Error>((resolve) => {
      const l = new ReplayLoader({
        url: '/x',
        fetchImpl: (async () => response(lines, () => {})) as unknown as typeof fetch,
        handlers: { onMeta: () => {}, onChunk: (c) => got.push(c), onDone: () => {}, onError: resolve },
      });
      void l.start();
    });
    expect(got).toEqual([
      { type: 'chunk', windowId: 'w', seq: 3, start: 5, end: 5, fullSnapshot: true, events: [JSON.parse(big)] },
    ]);
    expect(error.message).toBe('clickhouse went away');
  });

  it('reports HTTP errors with the backend message', async () => {
    const fetchImpl = async () => new Response(JSON.stringify({ message: 'session not found' }), { status: 404 });
    const error = await new Promise<Error>((resolve) => {
      const l = new ReplayLoader({
        url: '/x',
        fetchImpl: fetchImpl as unknown as typeof fetch,
        handlers: { onMeta: () => {}, onChunk: () => {}, onDone: () => {}, onError: resolve },
      });
      void l.start();
    });
    expect(error.message).toMatch(/session not found/);
  });

  it('abort stops silently', async () => {
    const onError = jest.fn();
    const l = new ReplayLoader({
      url: '/x',
      fetchImpl: ((_u: string, init: RequestInit) =>
        new Promise((_r, reject) =>
          init.signal?.addEventListener('abort', () => reject(new Error('aborted')))
        )) as unknown as typeof fetch,
      handlers: { onMeta: () => {}, onChunk: () => {}, onDone: () => {}, onError },
    });
    const p = l.start();
    l.abort();
    await p;
    expect(onError).not.toHaveBeenCalled();
  });
});
