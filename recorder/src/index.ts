/** @seed/sessionreplay-recorder — core build: rrweb record + sessions + OTLP/JSON shipping + errors + custom events. */
import type { Attributes, RecorderOptions } from './options';
import { Recorder } from './recorder';
import type { SessionBaggagePropagator, SessionSpanProcessor } from './propagation';

export type { RecorderOptions, Attributes, AttrValue } from './options';
export type { ConsoleLevel } from './console';
export { Recorder, RRWEB_VERSION, stripUrl } from './recorder';
export type { RRWebEvent } from './recorder';
export { SessionSpanProcessor, SessionBaggagePropagator, mergeBaggage, shouldPropagate } from './propagation';
export { VERSION } from './otlp';

let current: Recorder | undefined;

/** Starts recording (once per page; a second call returns the running recorder). */
export function init(options: RecorderOptions): Recorder {
  if (current) return current;
  current = new Recorder(options);
  return current;
}

/** The running recorder, if any. */
export function getRecorder(): Recorder | undefined {
  return current;
}

/** Stops recording and sends what is buffered. */
export async function stop(): Promise<void> {
  const r = current;
  current = undefined;
  if (r) await r.stop();
}

/** Sends the buffered events and logs now; resolves when the requests are done (or after 10 s). */
export function flush(): Promise<void> {
  return current ? current.flush() : Promise.resolve();
}

/** Custom event: an OTLP log record with eventName = name, attributes + session.id. */
export function track(name: string, attrs?: Attributes): void {
  current && current.track(name, attrs);
}

/** Sets `user.id` (and extra attributes) on subsequent chunks, logs and spans. */
export function identify(userId: string | undefined, attrs?: Record<string, unknown>): void {
  current && current.identify(userId, attrs);
}

/** The current session id ('' before init). */
export function getSessionId(): string {
  return current ? current.sessionId : '';
}

/** A SpanProcessor for the page's own OTel tracer provider: stamps session.id (and user.id) on every span. */
export function sessionSpanProcessor(): SessionSpanProcessor {
  if (!current) throw new Error('SessionReplay: call init() first');
  return current.createSpanProcessor();
}

/** A TextMapPropagator for the page's own OTel setup: adds session.id to the baggage header. */
export function sessionBaggagePropagator(): SessionBaggagePropagator {
  if (!current) throw new Error('SessionReplay: call init() first');
  return current.createPropagator();
}
