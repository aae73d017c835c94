/** Console capture: calls of the chosen console levels become rrweb plugin events in the format of rrweb's console
 * record plugin (`rrweb/console@1`: `{ level, payload }`, without the stack trace, each argument serialised, strings as JSON string
 * literals), so the receiver and any rrweb tooling read them alike. A small hook instead of
 * `@rrweb/rrweb-plugin-console-record`, which serialises whole objects and stacks and does not fit the core bundle's
 * 30 KiB budget. Messages are masked like the recording's text: every character in mask-all-text mode; card numbers
 * are masked by the receiver, in console events as in the page's text. */

export type ConsoleLevel = 'error' | 'warn' | 'info' | 'log' | 'debug';

const MAX = 1000;

/** Wraps the console methods `recordConsole` asks for, for rrweb's plugin observer: `emit` receives each call's
 * payload. `true` (or the data attribute `"true"`) means error and warn, `false` none, else the console methods named
 * in the list (or in the comma-separated data attribute). Returns the undo. Nothing here logs, so a recorded call
 * cannot recurse. */
export function captureConsole(recordConsole: unknown, maskAll: boolean, emit: (payload: unknown) => void): () => void {
  const c = console as any;
  const v = String(recordConsole);
  const levels = (/true/.test(v) ? 'error,warn' : v).split(/\W+/).filter((l) => typeof c[l] == 'function');
  const undo = levels.map((level) => {
    const orig = c[level];
    c[level] = (...args: any[]) => {
      try {
        const payload = args.map((a) => {
          // strings (and errors, by their stack) as string literals; cut past MAX, a literal is left unterminated
          const s = (
            JSON.stringify(typeof a == 'string' || a instanceof Error ? String((a as any).stack || a) : a) + ''
          ).slice(0, MAX);
          // masked text keeps the quotes of a string literal
          return maskAll ? s.replace(/[^\s"]/g, '*') : s;
        });
        emit({ level, payload });
      } catch {
        /* never break the page's logging (a circular object is not recorded) */
      }
      return orig.apply(console, args);
    };
    return () => (c[level] = orig);
  });
  return () => undo.forEach((u) => u());
}
