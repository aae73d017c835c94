import type { ReplayChunk } from './types';

/**
 * Assets re-inlined in the panel (docs/plugin-api.md). Large values that repeat (stylesheets) are stored once per
 * site; with `assets=refs` the replay stream sends a chunk as stored — each value cut out of its quotes, leaving the
 * empty string `""` — with references next to it, and the panel fetches each asset once from the data source's
 * `assets/<hash>` resource (content-addressed, cacheable for good: the browser keeps it across sessions of the site)
 * and puts it back between the quotes before parsing the events.
 */

/** One reference of a chunk line: the asset's hash and the UTF-16 index of its `""` in the events text. */
export interface AssetRef {
  hash: string;
  at: number;
}

/** A chunk line with references, before its assets are in. */
export interface AssetChunkLine {
  type: 'asset_chunk';
  head: Omit<ReplayChunk, 'events'>;
  site: string;
  refs: AssetRef[];
  /** The events' JSON text as stored: the placeholders of `refs` in it. */
  events: string;
}

const EVENTS_KEY = ',"events":';

/**
 * Splits a chunk line that carries references into its head and its events text; undefined for any other line. The
 * backend writes `events` last, and nothing before it can hold `,"events":` (inside a JSON string every quote is
 * escaped), so the first one starts the events.
 */
export function splitAssetLine(line: string): AssetChunkLine | undefined {
  if (!line.startsWith('{"type":"chunk"')) {
    return undefined;
  }
  const at = line.indexOf(EVENTS_KEY);
  if (at < 0 || line.lastIndexOf('"assets":', at) < 0) {
    return undefined;
  }
  const { site, assets, ...head } = JSON.parse(line.slice(0, at) + '}') as ReplayChunk & {
    site: string;
    assets?: AssetRef[];
  };
  if (!Array.isArray(assets)) {
    return undefined;
  }
  return { type: 'asset_chunk', head, site, refs: assets, events: line.slice(at + EVENTS_KEY.length, -1) };
}

/** Puts each value between the quotes of its reference's empty string token (refs in increasing order). */
export function inlineAssets(events: string, refs: AssetRef[], values: string[]): string {
  const out: string[] = [];
  let last = 0;
  refs.forEach((r, i) => {
    if (r.at < last || events.charCodeAt(r.at) !== 0x22 || events.charCodeAt(r.at + 1) !== 0x22) {
      throw new Error(`asset reference ${i} (${r.hash}) does not point at an empty string`);
    }
    out.push(events.slice(last, r.at + 1), values[i]);
    last = r.at + 1;
  });
  out.push(events.slice(last));
  return out.join('');
}

/** Values kept in memory across loads of one page (seeks, other sessions), at most this many UTF-16 units. */
const KEEP_UNITS = 32 << 20;

/**
 * Fetches assets of one data source, each once: a request in flight is shared, a value fetched is kept (up to
 * KEEP_UNITS, oldest dropped first), and beyond that the browser's HTTP cache answers (the resource is immutable).
 */
export class AssetFetcher {
  private readonly values = new Map<string, Promise<string>>();
  private readonly sizes = new Map<string, number>();
  private units = 0;

  constructor(
    private readonly datasourceUid: string,
    private readonly fetchImpl: typeof fetch = fetch.bind(globalThis)
  ) {}

  url(site: string, hash: string): string {
    return `/api/datasources/uid/${encodeURIComponent(this.datasourceUid)}/resources/assets/${encodeURIComponent(
      hash
    )}?site=${encodeURIComponent(site)}`;
  }

  get(site: string, hash: string): Promise<string> {
    const url = this.url(site, hash);
    let value = this.values.get(url);
    if (!value) {
      value = this.fetchImpl(url, { credentials: 'same-origin' }).then(async (res) => {
        if (!res.ok) {
          throw new Error(`asset ${hash} of ${site}: ${res.status} ${res.statusText}`);
        }
        const text = await res.text();
        this.keep(url, text.length);
        return text;
      });
      // a failure is not kept: the next load asks again
      value.catch(() => this.values.delete(url));
      this.values.set(url, value);
    }
    return value;
  }

  private keep(url: string, units: number) {
    this.sizes.set(url, units);
    this.units += units;
    for (const [old, n] of this.sizes) {
      if (this.units <= KEEP_UNITS || old === url) {
        break;
      }
      this.sizes.delete(old);
      this.values.delete(old);
      this.units -= n;
    }
  }

  /** The chunk a line stands for, its assets in. */
  async chunk(line: AssetChunkLine): Promise<ReplayChunk> {
    const values = await Promise.all(line.refs.map((r) => this.get(line.site, r.hash)));
    return { ...line.head, events: JSON.parse(inlineAssets(line.events, line.refs, values)) };
  }
}

const fetchers = new Map<string, AssetFetcher>();

/** The page's fetcher of a data source's assets (shared by every panel and load of the page). */
export function assetFetcher(datasourceUid: string, fetchImpl?: typeof fetch): AssetFetcher {
  if (fetchImpl) {
    return new AssetFetcher(datasourceUid, fetchImpl);
  }
  let f = fetchers.get(datasourceUid);
  if (!f) {
    f = new AssetFetcher(datasourceUid);
    fetchers.set(datasourceUid, f);
  }
  return f;
}
