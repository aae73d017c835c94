import { isLive, LIVE_WINDOW_MS } from './useReplaySession';
import type { ReplayMeta } from './types';

const meta = (end: number): ReplayMeta => ({ type: 'meta', sessionId: 's', start: 0, end, from: 0 });

describe('isLive', () => {
  it('takes a session whose last chunk is under a minute old as still recording', () => {
    const now = 1_700_000_000_000;
    expect(isLive(meta(now - 5_000), now)).toBe(true);
    expect(isLive(meta(now - LIVE_WINDOW_MS - 1), now)).toBe(false);
    expect(isLive(undefined, now)).toBe(false);
  });
});
