import type { Marker } from './types';

/** The marker of one of `kinds` after (dir 1) or before (dir -1) the time `current`; undefined at the end. A marker
 * less than `slackMs` from `current` counts as the one being shown, so pressing "next" twice moves twice. */
export function adjacentMarker(
  markers: Marker[],
  current: number,
  dir: 1 | -1,
  kinds: string[] = ['error'],
  slackMs = 250
): Marker | undefined {
  const of = markers.filter((m) => kinds.includes(m.kind));
  if (dir > 0) {
    return of.find((m) => m.time > current + slackMs);
  }
  return of.filter((m) => m.time < current - slackMs).at(-1);
}

/** A stretch of the recording where the user did nothing (no mouse, scroll, resize or input). */
export interface Stretch {
  from: number;
  to: number;
}

/** rrweb's own threshold for skipping inactivity: gaps longer than this are shaded on the timeline. */
export const INACTIVE_MS = 10_000;

/** The gaps longer than `threshold` between user interactions (sorted times) within [from, to]. */
export function inactiveStretches(activity: number[], from: number, to: number, threshold = INACTIVE_MS): Stretch[] {
  const out: Stretch[] = [];
  let last = from;
  for (const t of activity) {
    if (t < from || t > to) {
      continue;
    }
    if (t - last > threshold) {
      out.push({ from: last, to: t });
    }
    last = Math.max(last, t);
  }
  if (to - last > threshold) {
    out.push({ from: last, to });
  }
  return out;
}

/**
 * The dashboard URL that opens this session at this moment: the current URL with the session variable and the
 * replay time (`var-<name>=`, Grafana's URL form of a template variable) set, everything else (dashboard, range,
 * other variables) kept.
 */
export function momentLink(
  href: string,
  sessionVariable: string,
  sessionId: string,
  timeVariable: string,
  ms: number
): string {
  const u = new URL(href);
  const name = (v: string, fallback: string) =>
    v
      .replace(/^\$\{?/, '')
      .replace(/\}$/, '')
      .trim() || fallback;
  // a literal session id in the options has no variable to set: the link still carries the time
  if (sessionVariable.trim().startsWith('$')) {
    u.searchParams.set(`var-${name(sessionVariable, 'session')}`, sessionId);
  }
  u.searchParams.set(`var-${name(timeVariable, 'replay_time')}`, String(Math.round(ms)));
  return u.toString();
}

/** Keyboard shortcuts of the player; undefined: not ours (let the key through). */
export type KeyAction = { type: 'toggle' } | { type: 'step'; ms: number } | { type: 'speed'; speed: number };

export const STEP_MS = 5_000;

export function keyAction(key: string, speeds: number[]): KeyAction | undefined {
  switch (key) {
    case ' ':
    case 'Spacebar':
      return { type: 'toggle' };
    case 'ArrowLeft':
      return { type: 'step', ms: -STEP_MS };
    case 'ArrowRight':
      return { type: 'step', ms: STEP_MS };
  }
  const n = Number(key);
  if (Number.isInteger(n) && n >= 1 && n <= speeds.length) {
    return { type: 'speed', speed: speeds[n - 1] };
  }
  return undefined;
}
