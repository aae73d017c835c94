// What the Go page server tells a page (window.SDK_TEST, set in the HTML
// before the bundle): where the collector is, as a user's page config would.
export interface PageConfig {
  /** OTLP/HTTP base URL of the collector (the test's recording proxy in front of it). */
  endpoint: string;
  /** service.name of the page. */
  service: string;
}

declare global {
  interface Window {
    SDK_TEST: PageConfig;
    /** The SDK's session id, for the driver (each page sets it the SDK's own way). */
    sdkSessionId?: () => string | undefined;
  }
}

export const config: PageConfig = window.SDK_TEST;

/** True in the same-origin iframe of the checkout page, which loads the SDK too. */
export const inFrame = window.top !== window;

/**
 * Wires the checkout page's "Pay" button: a fetch to the shop's backend that
 * fails (HTTP 502 from shop-api after payments refuses), then an uncaught
 * exception, the two errors every SDK must report.
 */
export function wireCheckout(headers: () => Record<string, string> = () => ({}), onFailure?: () => void): void {
  // the SDK loads in <head>, before the body is parsed
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', () => wireCheckout(headers, onFailure));
    return;
  }
  const pay = document.getElementById('pay');
  const status = document.getElementById('status');
  if (!pay || !status) {
    return;
  }
  pay.addEventListener('click', async () => {
    status.textContent = 'Paying...';
    let failure: Error;
    try {
      const resp = await fetch('/api/checkout', { method: 'POST', headers: headers() });
      failure = new Error(`checkout failed with HTTP ${resp.status}`);
    } catch (err) {
      console.error('checkout request failed:', err);
      failure = err instanceof Error ? err : new Error(String(err));
    }
    status.textContent = 'Payment failed';
    status.className = 'status error';
    onFailure?.();
    setTimeout(() => {
      throw failure;
    }, 0);
  });
}
