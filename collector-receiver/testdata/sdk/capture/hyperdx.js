import HyperDX from '@hyperdx/browser';
HyperDX.init({ url: location.origin, apiKey: 'test-key', service: 'shop-hyperdx', maskAllInputs: false, consoleCapture: false, disableIntercom: true });
