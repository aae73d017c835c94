/** @seed/sessionreplay-recorder/full — core + OTel web tracing (document load, fetch and XHR spans, exported
 * as OTLP/HTTP JSON to `${endpoint}/v1/traces`), for pages without an OTel setup of their own. Every span
 * carries session.id; fetch/XHR to `propagateToOrigins` carry traceparent and baggage with session.id. */
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { XMLHttpRequestInstrumentation } from '@opentelemetry/instrumentation-xml-http-request';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { init as coreInit } from './index';
import type { RecorderOptions } from './options';
import { browserResource } from './otlp';
import { OtlpJsonSpanExporter } from './spanexporter';
import type { Recorder } from './recorder';

export * from './index';

export interface FullOptions extends RecorderOptions {
  /** Trace document load. Default true. */
  traceDocumentLoad?: boolean;
  /** Trace fetch. Default true. */
  traceFetch?: boolean;
  /** Trace XMLHttpRequest. Default true. */
  traceXhr?: boolean;
  /** Span batch delay (BatchSpanProcessor scheduledDelayMillis). Default 2000. */
  spanFlushIntervalMs?: number;
}

let provider: WebTracerProvider | undefined;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Starts recording and OTel web tracing. */
export function init(options: FullOptions): Recorder {
  const rec = coreInit(options);
  if (provider) return rec;
  const o = rec.options;
  const resource = resourceFromAttributes(
    Object.fromEntries(
      Object.entries(browserResource(o.serviceName, o.serviceVersion, o.environment, o.resourceAttributes)).filter(
        ([, v]) => v !== undefined && v !== null
      )
    ) as Record<string, string | number | boolean | string[]>
  );
  const exporter = new OtlpJsonSpanExporter(o.endpoint + '/v1/traces', o.headers || {}, o.maxQueueBytes, o.debug);
  provider = new WebTracerProvider({
    resource,
    spanProcessors: [
      rec.createSpanProcessor(),
      new BatchSpanProcessor(exporter as any, {
        scheduledDelayMillis: options.spanFlushIntervalMs ?? 2000,
      }),
    ],
  });
  provider.register({
    propagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), rec.createPropagator()],
    }),
  });
  const corsUrls = o.propagateToOrigins.map((r) => (typeof r === 'string' ? new RegExp('^' + escapeRe(r.replace(/\/+$/, ''))) : r));
  const ignoreUrls = [new RegExp('^' + escapeRe(o.endpoint) + '/v1/')];
  const instrumentations = [];
  if (options.traceDocumentLoad !== false) instrumentations.push(new DocumentLoadInstrumentation());
  if (options.traceFetch !== false)
    instrumentations.push(new FetchInstrumentation({ propagateTraceHeaderCorsUrls: corsUrls, ignoreUrls, clearTimingResources: true }));
  if (options.traceXhr !== false)
    instrumentations.push(new XMLHttpRequestInstrumentation({ propagateTraceHeaderCorsUrls: corsUrls, ignoreUrls, clearTimingResources: true }));
  registerInstrumentations({ tracerProvider: provider, instrumentations });
  // send finished spans when the page is hidden
  const flushSpans = () => {
    if (document.visibilityState === 'hidden') void provider?.forceFlush();
  };
  document.addEventListener('visibilitychange', flushSpans);
  // a navigation fires pagehide before the document is hidden: the batch's spans (a request that just ended) are
  // exported and sent with keepalive now, or the unload cancels them
  window.addEventListener('pagehide', () => {
    exporter.pageHide();
    void provider?.forceFlush();
  });
  window.addEventListener('pageshow', () => exporter.pageShow());
  return rec;
}

/** Flushes spans and replay data. */
export async function flushAll(): Promise<void> {
  const { flush } = await import('./index');
  await Promise.all([provider ? provider.forceFlush() : undefined, flush()]);
}
