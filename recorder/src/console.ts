/** Console capture: calls of the chosen console levels become rrweb plugin events in the format of rrweb's console
 * record plugin (`rrweb/console@1`: `{ level, payload, trace }`, each argument serialised, strings as JSON string
 * literals), so the receiver and any rrweb tooling read them alike. A small hook instead of
 * `@rrweb/rrweb-plugin-console-record`, which serialises whole objects and stacks and is too big for the core
 * bundle's budget. Messages are masked like the recording: card-like numbers always, all text in mask-all-text
 * mode. */

export type ConsoleLevel = 'error' | 'warn' | 'info' | 'log' | 'debug';

export const CONSOLE_LEVELS: ConsoleLevel[] = ['error', 'warn', 'info', 'log', 'debug'];
export const DEFAULT_CONSOLE_LEVELS: ConsoleLevel[] = ['error', 'warn'];
export const CONSOLE_PLUGIN = 'rrweb/console@1';
const EVENT_PLUGIN = 6;
const MAX_ARG = 1000;
const MAX_ARGS = 10;

/** The levels an option value asks for: `true` the defaults, `false` none, a list (or comma-separated string of a
 * data attribute) those of it that are levels. */
export function consoleLevels(v: unknown): ConsoleLevel[] {
  if (v === true) return DEFAULT_CONSOLE_LEVELS.slice();
  if (v === false || v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : String(v).split(/[\s,]+/);
  const words = list.map((x) => String(x).toLowerCase());
  if (words.includes('false') || words.includes('none')) return [];
  if (words.includes('true')) return DEFAULT_CONSOLE_LEVELS.slice();
  return CONSOLE_LEVELS.filter((l) => words.includes(l));
}

/** Digit runs of 13-19 digits (spaces or dashes between) that pass the Luhn check: card numbers. */
const CARD = /\b\d(?:[ -]?\d){12,18}\b/g;

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** `text` with card numbers replaced by `*` (one per character, separators kept), and every non-space character
 * replaced in mask-all-text mode. */
export function maskConsoleText(text: string, maskAll: boolean): string {
  if (maskAll) return text.replace(/\S/g, '*');
  return text.replace(CARD, (m) => (luhn(m.replace(/\D/g, '')) ? m.replace(/\d/g, '*') : m));
}

/** One argument as the console plugin writes it, masked: text as a JSON string literal, other values as JSON. */
function serialise(a: unknown, maskAll: boolean): string {
  if (typeof a === 'string' || a instanceof Error) {
    const text = typeof a === 'string' ? a : (a.stack || `${a.name}: ${a.message}`) + '';
    return JSON.stringify(maskConsoleText(text.slice(0, MAX_ARG), maskAll));
  }
  let s: string;
  try {
    s = JSON.stringify(a) ?? String(a);
  } catch {
    s = String(a);
  }
  return maskConsoleText(s.slice(0, MAX_ARG), maskAll);
}

/** Wraps the console methods of `levels`; `emit` receives each call as an rrweb plugin event. Returns the undo. */
export function captureConsole(levels: ConsoleLevel[], maskAll: boolean, emit: (event: any) => void): () => void {
  const c = console as any;
  const undo: Array<() => void> = [];
  for (const level of levels) {
    const orig = c[level];
    if (typeof orig !== 'function') continue;
    let inside = false;
    c[level] = (...args: unknown[]) => {
      if (!inside) {
        inside = true; // a console call made while recording one is not recorded again
        try {
          const payload = args.slice(0, MAX_ARGS).map((a) => serialise(a, maskAll));
          emit({ type: EVENT_PLUGIN, timestamp: Date.now(), data: { plugin: CONSOLE_PLUGIN, payload: { level, payload, trace: [] } } });
        } catch {
          /* never break the page's logging */
        }
        inside = false;
      }
      return orig.apply(console, args);
    };
    undo.push(() => (c[level] = orig));
  }
  return () => undo.forEach((u) => u());
}
