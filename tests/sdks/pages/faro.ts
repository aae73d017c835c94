// The page of a team on the Grafana stack: Grafana Faro 2.12.1 with session
// replay, web tracing and the OTLP HTTP transport pointed at our collector's
// /v1/logs and /v1/traces. Replay input and text masking are off so the
// server's masking is what the test sees.
import { getWebInstrumentations, initializeFaro } from '@grafana/faro-web-sdk';
import { ReplayInstrumentation } from '@grafana/faro-instrumentation-replay';
import { OtlpHttpTransport } from '@grafana/faro-transport-otlp-http';
import { TracingInstrumentation } from '@grafana/faro-web-tracing';

import { config, inFrame, wireCheckout } from './config';

const faro = initializeFaro({
  app: { name: config.service, version: '1.0.0', environment: 'test' },
  transports: [
    new OtlpHttpTransport({ logsURL: config.endpoint + '/v1/logs', tracesURL: config.endpoint + '/v1/traces' }),
  ],
  instrumentations: [
    ...getWebInstrumentations({ captureConsole: false }),
    new TracingInstrumentation(),
    new ReplayInstrumentation({
      maskAllInputs: false,
      maskInputOptions: { password: false },
      maskTextSelector: '.faro-mask-text',
      recordAfter: 'DOMContentLoaded',
      inactivityThresholdMs: 0,
    }),
  ],
});
window.sdkSessionId = () => faro.api.getSession()?.id;
if (!inFrame) {
  wireCheckout();
}
