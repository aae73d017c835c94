import type { ConsoleLevel } from './console';

/** Options of {@link init}. Every option is documented in README.md. */
export interface RecorderOptions {
  /** Base URL of the OTLP/HTTP receiver, e.g. `https://otel.example.com`. Logs go to `${endpoint}/v1/logs`. */
  endpoint: string;
  /** OTel resource `service.name`. */
  serviceName: string;
  /** OTel resource `service.version`. */
  serviceVersion?: string;
  /** OTel resource `deployment.environment.name`. */
  environment?: string;
  /** Extra resource attributes. */
  resourceAttributes?: Record<string, AttrValue>;
  /** Extra HTTP headers on every export request (e.g. an ingest token). */
  headers?: Record<string, string>;

  // --- recording ---
  /** Take a full DOM snapshot at least this often (rrweb checkoutEveryNms). Default 120000 (2 min). */
  checkoutEveryMs?: number;
  /** Mouse-move sampling interval in ms (rrweb sampling.mousemove). Default 50. */
  mousemoveSampleMs?: number;
  /** Scroll sampling interval in ms (rrweb sampling.scroll). Default 150. */
  scrollSampleMs?: number;
  /** Console levels recorded as rrweb console plugin events (`rrweb/console@1`), masked like the recording:
   * a list of `error`, `warn`, `info`, `log`, `debug`; `true` = `['error', 'warn']`, `false` = none.
   * Default `['error', 'warn']`. */
  recordConsole?: boolean | ConsoleLevel[];
  /** Record rrweb canvas snapshots. Default false. */
  recordCanvas?: boolean;

  // --- privacy ---
  /** Mask the value of every input/textarea/select (rrweb maskAllInputs). Default true. Passwords are always masked. */
  maskAllInputs?: boolean;
  /** What a masked input value becomes, whatever its length (rrweb maskInputFn), so a replay reveals neither the
   * value nor its length; an empty value stays empty. Default `******`, the receiver's `privacy.mask_placeholder`. */
  maskPlaceholder?: string;
  /** Replace every text node by `*` (mask-all-text mode). Default false. */
  maskAllText?: boolean;
  /** CSS selector of elements whose text is masked. */
  maskTextSelector?: string;
  /** Class name (string or RegExp) of elements whose text is masked. Default `sr-mask`. */
  maskTextClass?: string | RegExp;
  /** CSS selector of elements replaced by a same-size placeholder. `iframe` is always added. */
  blockSelector?: string;
  /** Class name (string or RegExp) of blocked elements. Default `sr-block`. */
  blockClass?: string | RegExp;
  /** CSS selector of elements whose input events are not recorded. */
  ignoreSelector?: string;
  /** Class name of elements whose input events are not recorded. Default `sr-ignore`. */
  ignoreClass?: string;
  /** Remove query strings (and fragments) from the URLs the recorder reports. Default false. */
  stripQueryString?: boolean;

  // --- sessions ---
  /** A session ends after this much inactivity. Default 1800000 (30 min). */
  idleTimeoutMs?: number;
  /** A session ends after this duration. Default 14400000 (4 h). */
  maxSessionMs?: number;
  /** Origins (string `https://api.example.com`, full-URL prefix, or RegExp) whose fetch/XHR requests get the
   * `baggage: session.id=...` header. Same-origin is always included. Default: same-origin only. */
  propagateToOrigins?: Array<string | RegExp>;

  // --- shipping ---
  /** Send a chunk this often. Default 5000. */
  flushIntervalMs?: number;
  /** Send a chunk early once its estimated uncompressed size passes this bound. Default 512000. */
  maxChunkBytes?: number;
  /** At most this many rrweb events are buffered; beyond it the oldest mouse moves (then other
   * non-snapshot incremental events) are dropped. Default 20000. */
  maxBufferedEvents?: number;
  /** At most this many bytes of encoded chunks wait for (re)sending; the oldest are dropped beyond. Default 5 MB. */
  maxQueueBytes?: number;
  /** Compress chunks with gzip (CompressionStream). Default true. */
  compress?: boolean;
  /** Compress in a Worker built from a Blob (falls back to the main thread). Default true. */
  useWorker?: boolean;
  /** Record uncaught errors and unhandled rejections as `exception` log records. Default true. */
  captureErrors?: boolean;
  /** Start recording at init. Default true. */
  autoStart?: boolean;
  /** Key prefix for localStorage / sessionStorage. Default `sr`. */
  storagePrefix?: string;
  /** Log internal problems to the console. Default false. */
  debug?: boolean;
}

export type AttrValue = string | number | boolean | string[] | undefined | null;
export type Attributes = Record<string, AttrValue>;

export type ResolvedOptions = Required<
  Omit<
    RecorderOptions,
    | 'serviceVersion'
    | 'environment'
    | 'maskTextSelector'
    | 'blockSelector'
    | 'ignoreSelector'
    | 'resourceAttributes'
    | 'headers'
  >
> &
  Pick<
    RecorderOptions,
    | 'serviceVersion'
    | 'environment'
    | 'maskTextSelector'
    | 'blockSelector'
    | 'ignoreSelector'
    | 'resourceAttributes'
    | 'headers'
  >;

export const DEFAULTS = {
  checkoutEveryMs: 120_000,
  mousemoveSampleMs: 50,
  scrollSampleMs: 150,
  recordConsole: ['error', 'warn'] as boolean | ConsoleLevel[],
  recordCanvas: false,
  maskAllInputs: true,
  maskPlaceholder: '******',
  maskAllText: false,
  maskTextClass: 'sr-mask',
  blockClass: 'sr-block',
  ignoreClass: 'sr-ignore',
  stripQueryString: false,
  idleTimeoutMs: 30 * 60_000,
  maxSessionMs: 4 * 3600_000,
  propagateToOrigins: [] as Array<string | RegExp>,
  flushIntervalMs: 5000,
  maxChunkBytes: 512_000,
  maxBufferedEvents: 20_000,
  maxQueueBytes: 5_000_000,
  compress: true,
  useWorker: true,
  captureErrors: true,
  autoStart: true,
  storagePrefix: 'sr',
  debug: false,
};

export function resolveOptions(o: RecorderOptions): ResolvedOptions {
  if (!o || !o.endpoint) throw new Error('SessionReplay: `endpoint` is required');
  const r = { ...DEFAULTS } as ResolvedOptions;
  for (const k of Object.keys(o) as Array<keyof RecorderOptions>) {
    const v = o[k];
    if (v !== undefined && v !== null && !(typeof v === 'number' && isNaN(v))) (r as any)[k] = v;
  }
  r.endpoint = o.endpoint.replace(/\/+$/, '');
  r.serviceName = o.serviceName || 'browser';
  return r;
}

/** Options that can be given as `data-*` attributes of the script tag: every option with a default (typed by
 * that default) plus these strings. */
const DATA_STRINGS = [
  'endpoint',
  'serviceName',
  'serviceVersion',
  'environment',
  'maskTextSelector',
  'blockSelector',
  'ignoreSelector',
];

/** Reads options from a script tag's data attributes (`data-endpoint`, `data-service-name`, ...). */
export function optionsFromDataset(ds: DOMStringMap): Partial<RecorderOptions> {
  const out: Record<string, unknown> = {};
  for (const key of DATA_STRINGS.concat(Object.keys(DEFAULTS))) {
    const raw = ds[key];
    if (raw === undefined) continue;
    const d = (DEFAULTS as Record<string, unknown>)[key];
    out[key] =
      typeof d === 'number'
        ? Number(raw)
        : typeof d === 'boolean'
          ? raw === '' || raw === 'true' || raw === '1'
          : Array.isArray(d)
            ? raw.split(/[\s,]+/).filter(Boolean)
            : raw;
  }
  return out as Partial<RecorderOptions>;
}
