import type { SelectableValue } from '@grafana/data';

import type { ReplayMeta, ReplayTrack } from './types';

/**
 * What a track is called in the selector: track 0 holds the session's earliest document (the top page) and the pages
 * that follow it; every other track is a document recorded at the same time, in practice a same-origin iframe.
 */
export function trackLabel(index: number): string {
  return index === 0 ? 'Page' : `Frame ${index}`;
}

/** The selector's options, or none when the session has a single track (nothing to choose). */
export function trackOptions(meta: ReplayMeta | undefined): Array<SelectableValue<number>> {
  const tracks = meta?.tracks ?? [];
  if (tracks.length < 2) {
    return [];
  }
  return tracks.map((t) => ({
    value: t.index,
    label: trackLabel(t.index),
    description: t.url || t.windowIds.join(', '),
    ariaLabel: `Track ${trackLabel(t.index)}`,
  }));
}

/**
 * Where the replay of another track starts when the user switches to it: at the same moment of the session when the
 * track was recording then (the backend finds the track's full snapshot before it), else at the track's beginning
 * (undefined: the whole track).
 */
export function switchFrom(current: number | undefined, track: ReplayTrack | undefined): number | undefined {
  if (current === undefined || !track || current < track.start || current > track.end) {
    return undefined;
  }
  return current;
}
