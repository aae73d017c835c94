/**
 * Performance marks of the panel's way to the first frame (mount, replay request, meta line, first chunk, Replayer
 * built, frame positioned). They cost nothing noticeable and let a benchmark, or anyone with the browser's
 * performance tools, see where the time goes without a debug build.
 */
export type TimingMark = 'mount' | 'request' | 'meta' | 'first-chunk' | 'replayer' | 'first-frame';

export const MARK_PREFIX = 'sessionreplay:';

export function mark(name: TimingMark) {
  try {
    performance.mark(MARK_PREFIX + name);
  } catch {
    // no User Timing API (jsdom without it): nothing to record
  }
}
