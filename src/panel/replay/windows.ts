import { ReplayChunk } from './types';

/**
 * Picks the windows of a session the player shows. One rrweb Replayer plays
 * one DOM, but a session can record several windows at once: a same-origin
 * iframe that runs its own SDK (Faro, HyperDX) records a window of its own
 * beside the page's, and feeding both DOM trees, whose node ids collide, into
 * one player corrupts both. The page is the largest window (the viewport of its
 * Meta events); a window smaller than the largest seen is not played. Windows
 * that follow one another (page loads an SDK records as new windows) are all
 * played. A window is played from a Meta or a full snapshot on: a window
 * first seen in the middle cannot be rebuilt, whatever its size.
 */
export class WindowPicker {
  /** Area of each window's largest Meta viewport; 0 when it has a snapshot but no Meta (old recordings). */
  private readonly areas = new Map<string, number>();
  private largest = 0;

  /** Whether the player should play this chunk (call for every chunk, in stream order). */
  accept(chunk: ReplayChunk): boolean {
    for (const e of chunk.events) {
      if (e.type === META) {
        const d = (e.data ?? {}) as { width?: unknown; height?: unknown };
        const area = (Number(d.width) || 0) * (Number(d.height) || 0);
        this.areas.set(chunk.windowId, Math.max(area, this.areas.get(chunk.windowId) ?? 0));
        this.largest = Math.max(this.largest, area);
      } else if (e.type === FULL_SNAPSHOT && !this.areas.has(chunk.windowId)) {
        this.areas.set(chunk.windowId, 0);
      }
    }
    const area = this.areas.get(chunk.windowId);
    return area !== undefined && area >= this.largest;
  }
}

const FULL_SNAPSHOT = 2;
const META = 4;
