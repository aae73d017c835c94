import { switchFrom, trackLabel, trackOptions } from './tracks';
import type { ReplayMeta, ReplayTrack } from './types';

const page: ReplayTrack = {
  index: 0,
  windowIds: ['p1', 'p2', 'p3'],
  start: 1000,
  end: 30000,
  url: 'https://shop.test/1',
};
const frame: ReplayTrack = { index: 1, windowIds: ['frame:0'], start: 2000, end: 12000 };

function meta(tracks?: ReplayTrack[]): ReplayMeta {
  return { type: 'meta', sessionId: 's', start: 1000, end: 30000, from: 1000, track: 0, tracks };
}

describe('trackOptions', () => {
  it('offers no choice for a session with one track, or a backend that lists none', () => {
    expect(trackOptions(undefined)).toEqual([]);
    expect(trackOptions(meta())).toEqual([]);
    expect(trackOptions(meta([page]))).toEqual([]);
  });

  it('names the top page track "Page" and the others "Frame n", described by their first URL or windows', () => {
    expect(trackOptions(meta([page, frame]))).toEqual([
      { value: 0, label: 'Page', description: 'https://shop.test/1', ariaLabel: 'Track Page' },
      { value: 1, label: 'Frame 1', description: 'frame:0', ariaLabel: 'Track Frame 1' },
    ]);
    expect(trackLabel(2)).toBe('Frame 2');
  });
});

describe('switchFrom', () => {
  it('keeps the playback moment when the other track was recording then', () => {
    expect(switchFrom(5000, frame)).toBe(5000);
    expect(switchFrom(2000, frame)).toBe(2000);
  });

  it('starts the other track at its beginning when it was not recording at that moment, or nothing is known', () => {
    expect(switchFrom(20000, frame)).toBeUndefined();
    expect(switchFrom(1500, frame)).toBeUndefined();
    expect(switchFrom(undefined, frame)).toBeUndefined();
    expect(switchFrom(5000, undefined)).toBeUndefined();
  });
});
