// Pages in the tests talk to loopback only. A replayed page asks for the
// recorded site's own stylesheets and images; with no network those requests
// can hang instead of failing, and hold the page's load event (and any
// screenshot) until they time out. Aborting them at once keeps every run the
// same.
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Aborts every request of page (or browser context) that is not to loopback or inline data. */
export async function loopbackOnly(page) {
  await page.route(
    (url) => !(url.protocol === 'data:' || url.protocol === 'blob:' || LOOPBACK.has(url.hostname)),
    (route) => route.abort()
  );
}
