/**
 * @jest-environment node
 */
import { WindowPicker } from './windows';
import { ReplayChunk, RrwebEvent } from './types';

const meta = (width: number, height: number): RrwebEvent => ({
  type: 4,
  timestamp: 1,
  data: { href: 'x', width, height },
});
const snapshot: RrwebEvent = { type: 2, timestamp: 2, data: {} };
const move: RrwebEvent = { type: 3, timestamp: 3, data: {} };
const chunk = (windowId: string, ...events: RrwebEvent[]): ReplayChunk => ({
  type: 'chunk',
  windowId,
  seq: 0,
  start: 0,
  end: 0,
  fullSnapshot: events.includes(snapshot),
  events,
});

describe('WindowPicker', () => {
  it('plays the page and not the iframe that records its own window beside it', () => {
    const p = new WindowPicker();
    expect(p.accept(chunk('page', meta(1024, 768), snapshot))).toBe(true);
    expect(p.accept(chunk('frame', meta(420, 110), snapshot))).toBe(false);
    expect(p.accept(chunk('page', move))).toBe(true);
    expect(p.accept(chunk('frame', move))).toBe(false);
  });

  it('plays page loads recorded as windows one after the other', () => {
    const p = new WindowPicker();
    expect(p.accept(chunk('load-1', meta(1024, 768), snapshot, move))).toBe(true);
    expect(p.accept(chunk('load-2', meta(1024, 768), snapshot))).toBe(true);
    expect(p.accept(chunk('load-2', move))).toBe(true);
  });

  it('does not play a window first seen in the middle, without a snapshot', () => {
    const p = new WindowPicker();
    expect(p.accept(chunk('page', meta(1024, 768), snapshot))).toBe(true);
    expect(p.accept(chunk('other', move))).toBe(false);
  });

  it('plays an old recording without Meta events', () => {
    const p = new WindowPicker();
    expect(p.accept(chunk('w', snapshot, move))).toBe(true);
    expect(p.accept(chunk('w', move))).toBe(true);
  });
});
