/**
 * @jest-environment node
 */
import { AssetFetcher, inlineAssets, splitAssetLine } from './assets';
import { ReplayLoader } from './loader';
import type { ReplayChunk } from './types';

// A chunk line as the data source writes it with assets=refs (pkg/plugin/replay_assets.go): two stylesheets cut out
// of their quotes, an astral character before them (UTF-16 indexes, not bytes), the events last.
const css1 = '.a::before{content:\\"é😀\\"}\\n'.repeat(20);
const css2 = '.b{color:red}'.repeat(50);
const whole = `[{"type":4,"data":{"href":"https://shop.example/😀"},"timestamp":1},{"type":2,"data":{"node":{"type":0,"childNodes":[{"type":2,"tagName":"style","attributes":{"_cssText":"${css1}"}},{"type":2,"tagName":"style","attributes":{"_cssText":"${css2}"}}]}},"timestamp":2}]`;
const stored = whole.replace(css1, '').replace(css2, '');
const first = stored.indexOf('"_cssText":""') + '"_cssText":'.length;
const second = stored.indexOf('"_cssText":""', first) + '"_cssText":'.length;
const line =
  `{"type":"chunk","windowId":"w1","seq":0,"start":1,"end":2,"fullSnapshot":true,"site":"shop",` +
  `"assets":[{"hash":"h1","at":${first}},{"hash":"h2","at":${second}}],"events":${stored}}`;

describe('assets re-inlined in the panel', () => {
  it('gives back the events byte-equal to what was recorded', () => {
    const split = splitAssetLine(line)!;
    expect(split.head).toEqual({
      type: 'chunk',
      windowId: 'w1',
      seq: 0,
      start: 1,
      end: 2,
      fullSnapshot: true,
    });
    expect(split.site).toBe('shop');
    expect(split.events).toBe(stored);
    expect(inlineAssets(split.events, split.refs, [css1, css2])).toBe(whole);
  });

  it('leaves lines without references to JSON.parse', () => {
    expect(splitAssetLine('{"type":"chunk","windowId":"w","seq":1,"events":[]}')).toBeUndefined();
    expect(splitAssetLine('{"type":"meta","sessionId":"s"}')).toBeUndefined();
  });

  it('refuses a reference that does not point at an empty string', () => {
    expect(() => inlineAssets(stored, [{ hash: 'h', at: 3 }], ['x'])).toThrow(/does not point at an empty string/);
  });

  it('fetches each asset once, however many chunks and loads ask at the same time', async () => {
    const fetchImpl = jest.fn(async (url: RequestInfo | URL) => {
      await new Promise((r) => setTimeout(r, 5));
      return new Response(String(url).includes('/h1?') ? css1 : css2);
    }) as unknown as typeof fetch;
    const f = new AssetFetcher('ds', fetchImpl);
    const split = splitAssetLine(line)!;
    const chunks = await Promise.all([f.chunk(split), f.chunk(split), f.chunk(split)]);
    expect(chunks.map((c) => c.events)).toEqual([JSON.parse(whole), JSON.parse(whole), JSON.parse(whole)]);
    expect(fetchImpl).toHaveBeenCalledTimes(2);
    expect((fetchImpl as jest.Mock).mock.calls.map((c) => c[0])).toEqual([
      '/api/datasources/uid/ds/resources/assets/h1?site=shop',
      '/api/datasources/uid/ds/resources/assets/h2?site=shop',
    ]);
  });

  it('asks the loader stream for refs and hands over chunks with their assets in', async () => {
    const urls: string[] = [];
    const fetchImpl = jest.fn(async (url: RequestInfo | URL) => {
      urls.push(String(url));
      if (String(url).includes('/replay')) {
        const meta = '{"type":"meta","sessionId":"s","start":1,"end":2,"from":1}';
        return new Response(`${meta}\n${line}\n`, { headers: { 'Content-Type': 'application/x-ndjson' } });
      }
      return new Response(String(url).includes('/h1?') ? css1 : css2);
    }) as unknown as typeof fetch;
    const got: ReplayChunk[] = [];
    await new Promise<void>((resolve, reject) =>
      new ReplayLoader({
        url: '/api/datasources/uid/ds/resources/sessions/s/replay?from=1',
        fetchImpl,
        assets: new AssetFetcher('ds', fetchImpl),
        handlers: { onMeta: () => {}, onChunk: (c) => got.push(c), onDone: resolve, onError: reject },
      }).start()
    );
    expect(urls[0]).toBe('/api/datasources/uid/ds/resources/sessions/s/replay?from=1&assets=refs');
    expect(got).toHaveLength(1);
    expect(JSON.stringify(got[0].events)).toBe(JSON.stringify(JSON.parse(whole)));
  });
});
