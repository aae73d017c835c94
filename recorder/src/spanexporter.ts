/** A small OTLP/HTTP JSON span exporter (structural SpanExporter): encodes spans by hand and sends them through
 * the recorder's Transport (ordered, retried with backoff, keepalive on page hide). Much smaller than the
 * official exporter, which matters for a script-tag bundle. */
import type { HrTime, Link, SpanContext } from '@opentelemetry/api';
import { kvs, SCOPE_NAME, VERSION, type OtlpKeyValue } from './otlp';
import { Transport } from './transport';

interface SpanLike {
  name: string;
  kind: number;
  spanContext(): SpanContext;
  parentSpanContext?: SpanContext;
  parentSpanId?: string;
  startTime: HrTime;
  endTime: HrTime;
  status: { code: number; message?: string };
  attributes: Record<string, any>;
  links: Link[];
  events: Array<{ name: string; time: HrTime; attributes?: Record<string, any>; droppedAttributesCount?: number }>;
  resource: { attributes: Record<string, any> };
  instrumentationScope?: { name: string; version?: string };
  droppedAttributesCount?: number;
  droppedEventsCount?: number;
  droppedLinksCount?: number;
}

const hr = (t: HrTime): string => (t[0] ? String(t[0]) + String(t[1]).padStart(9, '0') : String(t[1]));

export function encodeSpans(spans: SpanLike[]): string {
  const byResource = new Map<unknown, Map<string, { scope: { name: string; version?: string }; spans: unknown[] }>>();
  const resources = new Map<unknown, OtlpKeyValue[]>();
  for (const s of spans) {
    let scopes = byResource.get(s.resource);
    if (!scopes) {
      byResource.set(s.resource, (scopes = new Map()));
      resources.set(s.resource, kvs(s.resource.attributes));
    }
    const scope = s.instrumentationScope || { name: SCOPE_NAME, version: VERSION };
    const key = scope.name + '@' + (scope.version || '');
    let entry = scopes.get(key);
    if (!entry) scopes.set(key, (entry = { scope: { name: scope.name, version: scope.version }, spans: [] }));
    const ctx = s.spanContext();
    const parent = s.parentSpanContext ? s.parentSpanContext.spanId : s.parentSpanId;
    entry.spans.push({
      traceId: ctx.traceId,
      spanId: ctx.spanId,
      parentSpanId: parent || undefined,
      traceState: ctx.traceState ? ctx.traceState.serialize() : undefined,
      name: s.name,
      kind: s.kind + 1,
      startTimeUnixNano: hr(s.startTime),
      endTimeUnixNano: hr(s.endTime),
      attributes: kvs(s.attributes),
      droppedAttributesCount: s.droppedAttributesCount || 0,
      events: s.events.map((e) => ({
        timeUnixNano: hr(e.time),
        name: e.name,
        attributes: kvs(e.attributes || {}),
        droppedAttributesCount: e.droppedAttributesCount || 0,
      })),
      droppedEventsCount: s.droppedEventsCount || 0,
      links: s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: kvs((l.attributes || {}) as any) })),
      droppedLinksCount: s.droppedLinksCount || 0,
      status: { code: s.status.code, message: s.status.message },
    });
  }
  const resourceSpans = [];
  for (const [res, scopes] of byResource)
    resourceSpans.push({ resource: { attributes: resources.get(res) }, scopeSpans: [...scopes.values()] });
  return JSON.stringify({ resourceSpans });
}

export class OtlpJsonSpanExporter {
  private transport: Transport;
  constructor(url: string, headers: Record<string, string>, maxQueueBytes: number, debug: boolean) {
    this.transport = new Transport(url, headers, maxQueueBytes, debug);
  }
  /** The page is going away: pagehide fires while the document is still visible, so spans exported from now on,
   * and those already queued, go out at once with keepalive, not on a timer the unload would cancel. */
  private leaving = false;
  pageHide(): void {
    this.leaving = true;
    this.transport.sendAllNow([], true);
  }
  /** Back from the back/forward cache: sending returns to its usual pace. */
  pageShow(): void {
    this.leaving = false;
  }
  export(spans: SpanLike[], done: (r: { code: number; error?: Error }) => void): void {
    try {
      if (spans.length) this.transport.enqueue(encodeSpans(spans), 0);
      if (this.leaving || (typeof document !== 'undefined' && document.visibilityState === 'hidden')) this.transport.sendAllNow([], this.leaving);
      done({ code: 0 });
    } catch (e) {
      done({ code: 1, error: e as Error });
    }
  }
  forceFlush(): Promise<void> {
    return this.transport.drained(10_000);
  }
  shutdown(): Promise<void> {
    return this.forceFlush();
  }
}

