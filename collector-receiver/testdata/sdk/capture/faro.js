import { initializeFaro, getWebInstrumentations } from '@grafana/faro-web-sdk';
import { ReplayInstrumentation } from '@grafana/faro-instrumentation-replay';
import { OtlpHttpTransport } from '@grafana/faro-transport-otlp-http';
import { TracingInstrumentation } from '@grafana/faro-web-tracing';
const base = location.origin;
initializeFaro({
  app: { name: 'shop-faro', version: '1.0.0', environment: 'test' },
  transports: [new OtlpHttpTransport({ logsURL: base + '/v1/logs', tracesURL: base + '/v1/traces' })],
  instrumentations: [...getWebInstrumentations({ captureConsole: false }), new TracingInstrumentation(), new ReplayInstrumentation({ maskAllInputs: false, maskTextSelector: undefined })],
  batching: { sendTimeout: 300 },
});
