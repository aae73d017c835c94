import { adjacentMarker, inactiveStretches, keyAction, momentLink } from './navigation';
import type { Marker } from './types';

const mk = (time: number, kind: string): Marker => ({
  time,
  kind,
  offsetMs: 0,
  name: '',
  url: '',
  detail: '',
  traceId: '',
  spanId: '',
});

describe('adjacentMarker', () => {
  const markers = [mk(1000, 'error'), mk(2000, 'click'), mk(3000, 'error'), mk(5000, 'error')];
  it('finds the next and previous error, skipping other kinds and the one being shown', () => {
    expect(adjacentMarker(markers, 0, 1)?.time).toBe(1000);
    expect(adjacentMarker(markers, 1000, 1)?.time).toBe(3000);
    expect(adjacentMarker(markers, 3100, -1)?.time).toBe(1000);
    expect(adjacentMarker(markers, 5000, 1)).toBeUndefined();
    expect(adjacentMarker(markers, 900, -1)).toBeUndefined();
  });
});

describe('inactiveStretches', () => {
  it('shades the gaps over the threshold, also at the start and the end', () => {
    expect(inactiveStretches([12_000, 13_000, 40_000], 0, 60_000, 10_000)).toEqual([
      { from: 0, to: 12_000 },
      { from: 13_000, to: 40_000 },
      { from: 40_000, to: 60_000 },
    ]);
    expect(inactiveStretches([1000, 5000, 9000], 0, 10_000, 10_000)).toEqual([]);
  });
});

describe('momentLink', () => {
  it('sets the session variable and the replay time and keeps the rest of the dashboard URL', () => {
    const link = momentLink(
      'http://g.test/d/abc?orgId=1&from=now-1h&var-session=old',
      '$session',
      's-1',
      '$replay_time',
      1700000000123.4
    );
    const u = new URL(link);
    expect(u.pathname).toBe('/d/abc');
    expect(u.searchParams.get('orgId')).toBe('1');
    expect(u.searchParams.get('from')).toBe('now-1h');
    expect(u.searchParams.get('var-session')).toBe('s-1');
    expect(u.searchParams.get('var-replay_time')).toBe('1700000000123');
    expect(new URL(momentLink('http://g.test/d/abc', '${sid}', 'x', '', 5)).searchParams.get('var-sid')).toBe('x');
  });
});

describe('keyAction', () => {
  it('maps space, arrows and 1-4 to the player, and nothing else', () => {
    const speeds = [1, 2, 4, 8];
    expect(keyAction(' ', speeds)).toEqual({ type: 'toggle' });
    expect(keyAction('ArrowLeft', speeds)).toEqual({ type: 'step', ms: -5000 });
    expect(keyAction('ArrowRight', speeds)).toEqual({ type: 'step', ms: 5000 });
    expect(keyAction('3', speeds)).toEqual({ type: 'speed', speed: 4 });
    expect(keyAction('5', speeds)).toBeUndefined();
    expect(keyAction('a', speeds)).toBeUndefined();
  });
});
