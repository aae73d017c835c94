// The page of a team that brings its own OpenTelemetry JS SDK: the plain logs
// SDK (@opentelemetry/sdk-logs + exporter-logs-otlp-http 0.223.1) emitting
// rrweb's events (rrweb 2.0.0-alpha.20 record) as `session_replay.chunk` log
// records in the wire format of DESIGN.md, no recorder of ours. Input masking
// is off so the server's masking is what the test sees.
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { record } from 'rrweb';

import { config, inFrame, wireCheckout } from './config';

// One session per tab (sessionStorage, which a same-origin iframe shares),
// one window per browsing context: the top page and the iframe each count
// their own seq across page loads, as the wire format asks.
function stored(key: string, make: () => string): string {
  let v = sessionStorage.getItem(key);
  if (!v) {
    v = make();
    sessionStorage.setItem(key, v);
  }
  return v;
}
const hex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
const sessionId = stored('sdk-test.session', () => hex(16));
const role = inFrame ? 'frame' : 'top';
const windowId = stored('sdk-test.window.' + role, () => hex(8));
const seqKey = 'sdk-test.seq.' + role;
const nextSeq = () => {
  const n = Number(sessionStorage.getItem(seqKey) || '0');
  sessionStorage.setItem(seqKey, String(n + 1));
  return n;
};

const provider = new LoggerProvider({
  resource: resourceFromAttributes({
    'service.name': config.service,
    'service.version': '1.0.0',
    'user_agent.original': navigator.userAgent,
  }),
  processors: [
    new BatchLogRecordProcessor({
      exporter: new OTLPLogExporter({ url: config.endpoint + '/v1/logs' }),
      scheduledDelayMillis: 500,
    }),
  ],
});
const logger = provider.getLogger('sdk-test-page', '1.0.0');

let events: Array<{ type: number; timestamp: number }> = [];
function flush(): void {
  if (events.length === 0) {
    return;
  }
  const batch = events;
  events = [];
  logger.emit({
    eventName: 'session_replay.chunk',
    severityNumber: SeverityNumber.INFO,
    body: JSON.stringify(batch),
    attributes: {
      'session.id': sessionId,
      'session_replay.window_id': windowId,
      'session_replay.seq': nextSeq(),
      'session_replay.start': batch[0].timestamp,
      'session_replay.end': batch[batch.length - 1].timestamp,
      'session_replay.event_count': batch.length,
      'session_replay.full_snapshot': batch.some((e) => e.type === 2),
      'session_replay.encoding': 'json',
      'session_replay.rrweb_version': '2.0.0-alpha.20',
    },
  });
}
record({
  emit: (e) => {
    events.push(e as { type: number; timestamp: number });
  },
  maskAllInputs: false,
  maskInputOptions: { password: false },
});
setInterval(flush, 1000);
addEventListener('pagehide', () => {
  flush();
  void provider.forceFlush();
});

function exception(err: unknown, traceId?: string, spanId?: string): void {
  const e = err instanceof Error ? err : new Error(String(err));
  const ctx =
    traceId && spanId
      ? trace.setSpanContext(context.active(), { traceId, spanId, traceFlags: TraceFlags.SAMPLED })
      : context.active();
  logger.emit({
    eventName: 'exception',
    severityNumber: SeverityNumber.ERROR,
    body: e.message,
    context: ctx,
    attributes: {
      'session.id': sessionId,
      'exception.type': e.name,
      'exception.message': e.message,
      'exception.stacktrace': e.stack ?? '',
      'url.full': location.href,
    },
  });
}
addEventListener('error', (ev) => exception(ev.error ?? ev.message));

window.sdkSessionId = () => sessionId;
if (!inFrame) {
  // No tracing SDK on this page: the fetch carries a W3C traceparent and the
  // session in baggage, and the failure is logged in that trace's context.
  let last = { traceId: '', spanId: '' };
  wireCheckout(
    () => {
      last = { traceId: hex(16), spanId: hex(8) };
      return { traceparent: `00-${last.traceId}-${last.spanId}-01`, baggage: `session.id=${sessionId}` };
    },
    () => exception(new Error('checkout request failed'), last.traceId, last.spanId)
  );
}
