import { consoleInfo, describeMarker, requestInfo, urlPath } from './describe';
import type { Marker } from './types';

const base: Marker = { time: 0, offsetMs: 0, kind: '', name: '', url: '', detail: '', traceId: '', spanId: '' };
const m = (x: Partial<Marker>): Marker => ({ ...base, ...x });

describe('describeMarker', () => {
  it('names a click by its target: the stored label, else the target in detail, else "click"', () => {
    expect(describeMarker(m({ kind: 'click', name: 'button#pay.btn "Pay"' })).label).toBe('button#pay.btn "Pay"');
    const detail = JSON.stringify({
      id: 3,
      x: 1,
      y: 2,
      target: { tag: 'a', id: '', classes: ['nav', 'top'], text: 'Pricing' },
    });
    expect(describeMarker(m({ kind: 'dead_click', name: 'click', detail })).label).toBe('a.nav.top "Pricing"');
    expect(describeMarker(m({ kind: 'rage_click', name: 'click', detail: '{"id":3}' })).label).toBe('click');
  });

  it('shows a navigation by its URL path, the whole URL in the title', () => {
    const t = describeMarker(m({ kind: 'navigation', url: 'http://shop.test/checkout?step=2' }));
    expect(t).toEqual({ label: '/checkout?step=2', title: 'http://shop.test/checkout?step=2' });
  });

  it('shows an error as type and first line of its message', () => {
    const t = describeMarker(m({ kind: 'error', name: 'TypeError', detail: 'x is undefined\n  at app.js:1:1' }));
    expect(t.label).toBe('TypeError: x is undefined');
    expect(t.title).toContain('at app.js:1:1');
    const span = m({ kind: 'error', name: 'POST', url: 'http://127.0.0.1:8080/api/checkout' });
    expect(describeMarker(span).label).toBe('POST /api/checkout');
  });

  it('shows a request as method, path, status and duration; a 5xx or missing status is a failure', () => {
    const r = m({
      kind: 'request',
      name: 'HTTP POST',
      url: 'http://127.0.0.1:8080/api/checkout',
      detail: '{"method":"POST","status":"502","duration_ms":130}',
    });
    expect(describeMarker(r).label).toBe('POST /api/checkout · 502 · 130 ms');
    expect(requestInfo(r)).toEqual({
      method: 'POST',
      path: '/api/checkout',
      status: '502',
      durationMs: 130,
      failed: true,
    });
    expect(requestInfo(m({ kind: 'request', name: 'GET /x', detail: '{"method":"GET","status":"200"}' })).failed).toBe(
      false
    );
    expect(requestInfo(m({ kind: 'request', name: 'GET /x', detail: '{"method":"GET","status":""}' })).failed).toBe(
      true
    );
  });

  it('shows a console message with its level, as stored (masked text stays masked)', () => {
    const c = m({ kind: 'console', name: 'error', detail: '{"level":"error","message":"card ****** declined"}' });
    expect(describeMarker(c).label).toBe('error: card ****** declined');
    expect(consoleInfo(c)).toEqual({ level: 'error', message: 'card ****** declined' });
  });

  it('keeps paths of relative URLs', () => {
    expect(urlPath('/api/items')).toBe('/api/items');
    expect(urlPath('')).toBe('');
  });
});
