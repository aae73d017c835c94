/** Hand-written OTLP/JSON encoding of log records (no OTel logs SDK: it is too big for a page). */
import type { AttrValue, Attributes } from './options';

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values: OtlpAnyValue[] };
}
export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}
export interface OtlpLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  eventName: string;
  body?: OtlpAnyValue;
  attributes: OtlpKeyValue[];
}

export const SCOPE_NAME = '@seed/sessionreplay-recorder';
export const VERSION = '0.1.0';

export function anyValue(v: AttrValue): OtlpAnyValue | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: (v as AttrValue[]).map((x) => anyValue(x) || {}) } };
  return { stringValue: String(v) };
}

export function kvs(attrs: Attributes): OtlpKeyValue[] {
  const out: OtlpKeyValue[] = [];
  for (const key of Object.keys(attrs)) {
    const value = anyValue(attrs[key]);
    if (value) out.push({ key, value });
  }
  return out;
}

export function nanos(ms: number): string {
  // integer ms -> ns as a decimal string, without float precision loss
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6);
  return String(whole) + String(frac).padStart(6, '0');
}

export function logRecord(
  eventName: string,
  timeMs: number,
  attrs: Attributes,
  body?: OtlpAnyValue,
  severityNumber = 9,
  severityText = 'INFO'
): OtlpLogRecord {
  const rec: OtlpLogRecord = {
    timeUnixNano: nanos(timeMs),
    observedTimeUnixNano: nanos(Date.now()),
    severityNumber,
    severityText,
    eventName,
    attributes: kvs({ 'event.name': eventName, ...attrs }),
  };
  if (body) rec.body = body;
  return rec;
}

export function logsRequest(resource: OtlpKeyValue[], records: OtlpLogRecord[]): string {
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: resource },
        scopeLogs: [{ scope: { name: SCOPE_NAME, version: VERSION }, logRecords: records }],
      },
    ],
  });
}

/** Resource attributes of the page: service, environment, user agent and browser.* (semconv). */
export function browserResource(
  serviceName: string,
  serviceVersion?: string,
  environment?: string,
  extra?: Attributes
): Attributes {
  const nav: any = typeof navigator !== 'undefined' ? navigator : {};
  const uad = nav.userAgentData;
  const attrs: Attributes = {
    'service.name': serviceName,
    'service.version': serviceVersion,
    'deployment.environment.name': environment,
    'telemetry.sdk.name': SCOPE_NAME,
    'telemetry.sdk.language': 'webjs',
    'telemetry.sdk.version': VERSION,
    'user_agent.original': nav.userAgent,
    'browser.language': nav.language,
    'browser.platform': uad && uad.platform ? uad.platform : nav.platform,
    'browser.mobile': uad ? !!uad.mobile : /Mobi/i.test(nav.userAgent || ''),
    'browser.brands':
      uad && uad.brands ? uad.brands.map((b: { brand: string; version: string }) => b.brand + ' ' + b.version) : undefined,
  };
  return { ...attrs, ...(extra || {}) };
}
