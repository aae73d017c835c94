/** session.id propagation: W3C baggage on fetch/XHR to allowed origins, an OTel TextMapPropagator and an
 * OTel SpanProcessor. Only *types* come from @opentelemetry/api, so the core bundle carries no OTel code. */
import type { Context, TextMapGetter, TextMapPropagator, TextMapSetter, Span } from '@opentelemetry/api';

export const SESSION_KEY = 'session.id';

/** Returns `existing` baggage with `session.id=<id>` set (replacing an older session.id member). */
export function mergeBaggage(existing: string | null | undefined, sessionId: string): string {
  const members = (existing || '')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m && m.split('=')[0].trim() !== SESSION_KEY);
  members.push(SESSION_KEY + '=' + encodeURIComponent(sessionId));
  return members.join(',');
}

export type OriginRule = string | RegExp;

/** Whether a request URL should carry the baggage header: same origin, or matching one of the rules
 * (an origin `https://api.example.com`, a URL prefix, or a RegExp tested against the full URL). */
export function shouldPropagate(url: string, rules: OriginRule[], base = location.href): boolean {
  let u: URL;
  try {
    u = new URL(url, base);
  } catch {
    return false;
  }
  if (u.origin === new URL(base).origin) return true;
  for (const r of rules) {
    if (typeof r === 'string') {
      if (r === '*' || u.origin === r.replace(/\/+$/, '') || u.href.startsWith(r)) return true;
    } else if (r.test(u.href)) return true;
  }
  return false;
}

type Getter = () => { id: string } | undefined;

let installed: { getId: Getter; rules: OriginRule[]; exclude: string } | undefined;
let origFetch: typeof fetch | undefined;
let origOpen: XMLHttpRequest['open'] | undefined;
let origSend: XMLHttpRequest['send'] | undefined;
let origSetHeader: XMLHttpRequest['setRequestHeader'] | undefined;

/** Patches window.fetch and XMLHttpRequest to add `baggage: session.id=<id>` (merged with any baggage the
 * request already has) to requests for allowed origins. Requests to `exclude` (the OTLP endpoint) are left alone. */
export function installBaggagePatch(getId: Getter, rules: OriginRule[], exclude: string): void {
  installed = { getId, rules, exclude };
  if (origFetch || typeof window === 'undefined') return;
  if (typeof window.fetch === 'function') {
    origFetch = window.fetch;
    const f = origFetch;
    window.fetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
      try {
        const cfg = installed;
        const s = cfg && cfg.getId();
        const url = typeof input === 'string' ? input : input instanceof URL ? input.href : (input as Request).url;
        if (cfg && s && !url.startsWith(cfg.exclude) && shouldPropagate(url, cfg.rules)) {
          const headers = new Headers(
            (init && init.headers) || (typeof input === 'object' && !(input instanceof URL) ? (input as Request).headers : undefined)
          );
          headers.set('baggage', mergeBaggage(headers.get('baggage'), s.id));
          init = { ...(init || {}), headers };
        }
      } catch {
        /* never break the page's request */
      }
      return f.call(this, input as RequestInfo, init);
    } as typeof fetch;
  }
  if (typeof XMLHttpRequest !== 'undefined') {
    const P = XMLHttpRequest.prototype as any;
    origOpen = P.open;
    origSend = P.send;
    origSetHeader = P.setRequestHeader;
    P.open = function (this: any, method: string, url: string | URL, ...rest: unknown[]) {
      this.__srUrl = String(url);
      this.__srBaggage = undefined;
      return (origOpen as any).call(this, method, url, ...rest);
    };
    P.setRequestHeader = function (this: any, name: string, value: string) {
      if (String(name).toLowerCase() === 'baggage') {
        // collect and set once at send(), merged with session.id
        this.__srBaggage = this.__srBaggage ? this.__srBaggage + ',' + value : value;
        return;
      }
      return (origSetHeader as any).call(this, name, value);
    };
    P.send = function (this: any, body?: Document | XMLHttpRequestBodyInit | null) {
      try {
        const cfg = installed;
        const s = cfg && cfg.getId();
        const url: string = this.__srUrl || '';
        if (cfg && s && !url.startsWith(cfg.exclude) && shouldPropagate(url, cfg.rules)) {
          (origSetHeader as any).call(this, 'baggage', mergeBaggage(this.__srBaggage, s.id));
        } else if (this.__srBaggage) {
          (origSetHeader as any).call(this, 'baggage', this.__srBaggage);
        }
      } catch {
        /* ignore */
      }
      return (origSend as any).call(this, body);
    };
  }
}

export function uninstallBaggagePatch(): void {
  installed = undefined;
  if (origFetch) window.fetch = origFetch;
  if (origOpen) {
    const P = XMLHttpRequest.prototype as any;
    P.open = origOpen;
    P.send = origSend;
    P.setRequestHeader = origSetHeader;
  }
  origFetch = origOpen = origSend = origSetHeader = undefined;
}

/** An OTel TextMapPropagator (structural) that adds `session.id` to the `baggage` field, merged with the
 * baggage already in the carrier (register it after W3CBaggagePropagator in a CompositePropagator). */
export class SessionBaggagePropagator implements TextMapPropagator {
  constructor(private getId: () => string | undefined) {}
  inject(_context: Context, carrier: unknown, setter: TextMapSetter): void {
    const id = this.getId();
    if (!id || !carrier) return;
    const c = carrier as Record<string, unknown> & { get?: (k: string) => unknown };
    let existing: unknown;
    if (typeof c.get === 'function') existing = c.get('baggage');
    else existing = c['baggage'] ?? c['Baggage'];
    setter.set(carrier, 'baggage', mergeBaggage(typeof existing === 'string' ? existing : undefined, id));
  }
  extract(context: Context, _carrier: unknown, _getter: TextMapGetter): Context {
    return context;
  }
  fields(): string[] {
    return ['baggage'];
  }
}

/** An OTel SpanProcessor (structural) that stamps `session.id` (and `user.id` once identified) on every span. */
export class SessionSpanProcessor {
  constructor(private getAttrs: () => Record<string, string | undefined>) {}
  onStart(span: Span, _parentContext?: Context): void {
    const a = this.getAttrs();
    for (const k of Object.keys(a)) {
      const v = a[k];
      if (v !== undefined) span.setAttribute(k, v);
    }
  }
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
