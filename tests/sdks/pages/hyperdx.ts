// The page of a team that runs HyperDX's browser SDK (@hyperdx/browser 0.26.0),
// configured as its README says, pointed at our collector instead of HyperDX's
// cloud. Input and text masking are off so the server's masking is what the
// test sees.
import HyperDX from '@hyperdx/browser';

import { config, inFrame, wireCheckout } from './config';

HyperDX.init({
  url: config.endpoint,
  apiKey: 'sdk-test-key',
  service: config.service,
  // the page's own backend: traceparent on same-origin fetches
  tracePropagationTargets: [/\/api\//],
  consoleCapture: false,
  advancedNetworkCapture: false,
  maskAllInputs: false,
  maskAllText: false,
  disableIntercom: true,
});
window.sdkSessionId = () => HyperDX.getSessionId();
if (!inFrame) {
  wireCheckout();
}
