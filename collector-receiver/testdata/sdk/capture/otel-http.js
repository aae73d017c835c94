import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { record } from 'rrweb';

const provider = new LoggerProvider({
  resource: resourceFromAttributes({ 'service.name': 'shop-otel', 'user_agent.original': navigator.userAgent }),
  processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: location.origin + '/v1/logs' }), scheduledDelayMillis: 500 })],
});
const logger = provider.getLogger('sessionreplay-page');
const sessionId = localStorage.getItem('sid') || (localStorage.setItem('sid', 'otel-' + Math.random().toString(16).slice(2)), localStorage.getItem('sid'));
const windowId = sessionStorage.getItem('wid') || (sessionStorage.setItem('wid', crypto.randomUUID()), sessionStorage.getItem('wid'));
let seq = Number(sessionStorage.getItem('seq') || 0), events = [];
record({ emit: (e) => events.push(e), maskAllInputs: false });
function send() {
  if (events.length === 0) return;
  logger.emit({ eventName: 'session_replay.chunk', body: JSON.stringify(events), attributes: {
    'session.id': sessionId, 'session_replay.window_id': windowId, 'session_replay.seq': seq++,
    'session_replay.encoding': 'json' } });
  sessionStorage.setItem('seq', String(seq));
  events = [];
}
setInterval(send, 1000);
addEventListener('pagehide', () => { send(); provider.forceFlush(); });
