import { type RefObject, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';

import { ReplayLoader } from './loader';
import { inactiveStretches, type Stretch } from './navigation';
import { ReplayPlayer } from './player';
import { replayResourceUrl } from './stream';
import { mark } from './timing';
import { switchFrom } from './tracks';
import type { ReplayMeta } from './types';

/** How far ahead of the playback position (recorded time) the stream is read. */
export const LOOKAHEAD_MS = 60_000;
/** A session whose last chunk is this recent is taken as still in progress (the recorder ships every few seconds). */
export const LIVE_WINDOW_MS = 60_000;
/** How often a live session is asked for new chunks. */
export const LIVE_POLL_MS = 2_000;
/** Seeking to more than this before the newest event stops following a live session. */
export const LIVE_SLACK_MS = 3_000;

export function isLive(meta: ReplayMeta | undefined, now = Date.now()): boolean {
  return Boolean(meta) && meta!.end >= now - LIVE_WINDOW_MS;
}

export interface ReplayState {
  meta?: ReplayMeta;
  loading: boolean;
  buffering: boolean;
  ready: boolean;
  error?: string;
  playing: boolean;
  current?: number;
  url?: string;
  viewport?: { width: number; height: number };
  /** Start of the recording held by the player (the full snapshot the stream started at). */
  loadedFrom?: number;
  loadedUntil?: number;
  requests: number;
  /** Session the state belongs to. */
  sessionId?: string;
  /** Still recording: new chunks are fetched as they land. */
  live: boolean;
  /** Following a live session: the frame stays at its newest moment (until the viewer seeks back). */
  following: boolean;
  /** Stretches without user activity in what is loaded (shaded on the timeline). */
  inactive: Stretch[];
}

interface Args {
  dsUid?: string;
  sessionId?: string;
  /** Which of the session's tracks to play (0: the top page's). */
  track?: number;
  startAt?: number;
  /** The element the replayer renders into; a ref (not state) so the stream is requested in the panel's first
   * commit, not one render later. */
  container: RefObject<HTMLElement | null>;
  speed: number;
  skipInactive: boolean;
  autoPlay: boolean;
  fetchImpl?: typeof fetch;
}

const INITIAL: ReplayState = {
  loading: false,
  buffering: false,
  ready: false,
  playing: false,
  requests: 0,
  live: false,
  following: false,
  inactive: [],
};

/** Drives a ReplayPlayer fed by a ReplayLoader for one session; React state mirrors the player's. */
export function useReplaySession({
  dsUid,
  sessionId,
  track = 0,
  startAt,
  container,
  speed,
  skipInactive,
  autoPlay,
  fetchImpl,
}: Args) {
  const [state, setState] = useState<ReplayState>(INITIAL);
  const player = useRef<ReplayPlayer | null>(null);
  const loader = useRef<ReplayLoader | null>(null);
  const meta = useRef<ReplayMeta | undefined>(undefined);
  // the track every load streams, and what was last loaded: a new track of the same session reloads from where the
  // playback was (position/playing mirror the player, which is gone by then)
  const trackRef = useRef(track);
  const last = useRef<{ sessionId?: string; track?: number }>({});
  const position = useRef<{ current?: number; playing: boolean }>({ playing: false });
  const settings = useRef({ speed, skipInactive, autoPlay });
  useEffect(() => {
    settings.current = { speed, skipInactive, autoPlay };
  }, [speed, skipInactive, autoPlay]);

  const live = useRef<{ timer?: number; loader?: ReplayLoader; following: boolean }>({ following: false });
  const stop = useCallback(() => {
    window.clearTimeout(live.current.timer);
    live.current.loader?.abort();
    live.current = { following: false };
    loader.current?.abort();
    loader.current = null;
    player.current?.destroy();
    player.current = null;
  }, []);

  /** (Re)loads the stream, starting from the nearest full snapshot before `from` when given. */
  const load = useCallback(
    (from: number | undefined, play: boolean) => {
      const root = container.current;
      if (!dsUid || !sessionId || !root) {
        return;
      }
      stop();
      const buffering = { current: false };
      const p = new ReplayPlayer(
        root,
        {
          onResize: (width, height) => setState((s) => ({ ...s, viewport: { width, height } })),
          onReady: () => {
            mark('replayer');
            // show the position at once rather than at the next tick of the playback clock
            const current = p.currentTime();
            const page = current !== undefined ? p.pageAt(current) : undefined;
            setState((s) => ({
              ...s,
              ready: true,
              loading: false,
              loadedFrom: p.startTime,
              current,
              url: page?.href ?? s.url,
              viewport: s.viewport ?? (page ? { width: page.width, height: page.height } : undefined),
            }));
          },
          onFinish: (wasPlaying) => {
            // Only a playing player waits for more events; a paused one positioned past what has arrived stays
            // paused (ReplayPlayer re-applies its position as the events come in).
            if (wasPlaying && loader.current && !loader.current.done) {
              setState((s) => ({ ...s, buffering: true }));
              p.holdPlaying(); // resumes when the next chunk arrives
              buffering.current = true;
            } else {
              setState((s) => ({ ...s, playing: false }));
            }
          },
        },
        { speed: settings.current.speed, skipInactive: settings.current.skipInactive, startAt: from }
      );
      if (play) {
        p.play();
      }
      player.current = p;
      // chunks held, by window and sequence: a live poll asks from the newest chunk's start and drops what it has
      const held = new Set<string>();
      let newestStart = -Infinity;
      const hold = (c: { windowId: string; seq: number; start: number }) => {
        const key = `${c.windowId}:${c.seq}`;
        if (held.has(key)) {
          return false;
        }
        held.add(key);
        newestStart = Math.max(newestStart, c.start);
        return true;
      };
      const shade = () => {
        const first = p.startTime;
        if (first !== undefined) {
          const inactive = inactiveStretches(p.activityTimes, first, p.lastEventTime);
          setState((s) => ({ ...s, inactive }));
        }
      };
      const toEdge = () => {
        if (player.current === p && live.current.following && p.ready) {
          p.seek(p.lastEventTime);
          setState((s) => ({ ...s, current: p.lastEventTime }));
        }
      };
      // a live session: after the stream ends, ask for what landed since, every LIVE_POLL_MS, while still live
      const follow = () => {
        window.clearTimeout(live.current.timer);
        live.current.timer = window.setTimeout(() => {
          if (player.current !== p) {
            return;
          }
          const next = new ReplayLoader({
            url: replayResourceUrl(dsUid, sessionId, undefined, trackRef.current, newestStart),
            fetchImpl,
            handlers: {
              onMeta: (m) => {
                const prev = meta.current;
                meta.current = prev ? { ...prev, end: Math.max(prev.end, m.end) } : m;
                const updated = meta.current;
                setState((s) => ({ ...s, meta: updated, live: isLive(updated) }));
              },
              onChunk: (c) => {
                if (!hold(c)) {
                  return;
                }
                p.addEvents(c.events);
                shade();
                setState((s) => ({ ...s, loadedUntil: Math.max(s.loadedUntil ?? -Infinity, c.end) }));
                toEdge();
              },
              onDone: () => {
                if (player.current === p && isLive(meta.current)) {
                  follow();
                }
              },
              // a failed poll (a restarting backend) is tried again; the replay so far stays
              onError: () => player.current === p && follow(),
            },
          });
          live.current.loader = next;
          void next.start();
        }, LIVE_POLL_MS);
      };
      const l = new ReplayLoader({
        url: replayResourceUrl(dsUid, sessionId, from, trackRef.current),
        wantUntil: -Infinity,
        fetchImpl,
        handlers: {
          onMeta: (m) => {
            mark('meta');
            meta.current = m;
            const liveNow = isLive(m);
            // opened without a time, a live session is followed: read it to its end and stand there
            live.current.following = liveNow && from === undefined;
            l.setWantUntil(live.current.following ? Infinity : Math.max(m.from, from ?? m.from) + LOOKAHEAD_MS);
            setState((s) => ({ ...s, meta: m, live: liveNow, following: live.current.following }));
          },
          onChunk: (c) => {
            if (l.chunks === 1) {
              mark('first-chunk');
            }
            hold(c);
            p.addEvents(c.events);
            if (p.ready) {
              shade();
            }
            if (buffering.current) {
              buffering.current = false;
              p.resume();
              setState((s) => ({ ...s, buffering: false }));
            }
            setState((s) => ({ ...s, loadedUntil: l.loadedUntil }));
          },
          onDone: () => {
            p.end();
            if (!p.ready) {
              setState((s) => ({ ...s, loading: false, error: 'The recording of this session has no full snapshot.' }));
              return;
            }
            shade();
            if (isLive(meta.current)) {
              toEdge();
              follow();
            }
          },
          onError: (e) => setState((s) => ({ ...s, loading: false, error: e.message })),
        },
      });
      loader.current = l;
      setState((s) => ({
        ...INITIAL,
        sessionId,
        meta: s.meta && s.meta.sessionId === sessionId ? s.meta : undefined,
        loading: true,
        playing: play,
        current: from,
        requests: s.requests + 1,
      }));
      mark('request');
      void l.start();
    },
    [dsUid, sessionId, container, stop, fetchImpl]
  );

  // a new session (or start time): load from scratch; another track of the same session: load it from the moment
  // the playback was at. A layout effect: the request goes out before the browser paints the panel's first render
  // (a passive effect waits for that paint, ~100-200 ms of Grafana UI's first layout)
  useLayoutEffect(() => {
    const prev = last.current;
    last.current = { sessionId, track };
    trackRef.current = track;
    const switched = prev.sessionId === sessionId && prev.track !== track;
    if (!switched) {
      meta.current = undefined;
    }
    if (sessionId && dsUid && container.current) {
      if (switched) {
        load(switchFrom(position.current.current, meta.current?.tracks?.[track]), position.current.playing);
      } else {
        load(startAt, settings.current.autoPlay);
      }
    }
    return stop;
  }, [sessionId, dsUid, container, startAt, track, load, stop]);

  useEffect(() => player.current?.setSpeed(speed), [speed]);
  useEffect(() => player.current?.setSkipInactive(skipInactive), [skipInactive]);

  // playback clock: mirrors the player's time and lets the loader read further ahead
  useEffect(() => {
    const id = window.setInterval(() => {
      const p = player.current;
      if (!p) {
        return;
      }
      const current = p.currentTime();
      position.current = { current: current ?? position.current.current, playing: p.isPlaying() };
      if (current !== undefined) {
        loader.current?.setWantUntil(current + LOOKAHEAD_MS);
      }
      const page = current !== undefined ? p.pageAt(current) : undefined;
      setState((s) =>
        s.current === current && s.playing === p.isPlaying() && s.url === page?.href
          ? s
          : {
              ...s,
              current,
              playing: p.isPlaying(),
              url: page?.href ?? s.url,
              viewport: s.viewport ?? (page ? { width: page.width, height: page.height } : undefined),
            }
      );
    }, 100);
    return () => window.clearInterval(id);
  }, []);

  const play = useCallback(() => {
    player.current?.play();
    setState((s) => ({ ...s, playing: true }));
  }, []);
  const pause = useCallback(() => {
    player.current?.pause();
    setState((s) => ({ ...s, playing: false }));
  }, []);

  /** Seeks to an absolute time: within what is loaded it seeks in place, else it reloads from that time. */
  const seek = useCallback(
    (ts: number) => {
      const p = player.current;
      const l = loader.current;
      const m = meta.current;
      const t = m ? Math.min(Math.max(ts, m.start), m.end) : ts;
      if (live.current.following && p && t < p.lastEventTime - LIVE_SLACK_MS) {
        live.current.following = false;
        setState((s) => ({ ...s, following: false }));
      }
      const from = p?.startTime;
      const loaded = p?.ready && from !== undefined && t >= from && (t <= p.lastEventTime || Boolean(l?.done));
      if (p && loaded) {
        p.seek(t);
        l?.setWantUntil(t + LOOKAHEAD_MS);
        setState((s) => ({ ...s, current: t }));
        return;
      }
      load(t, p?.isPlaying() ?? false);
    },
    [load]
  );

  /** Follow a live session again: jump to its newest moment and stay there as chunks land. */
  const goLive = useCallback(() => {
    const p = player.current;
    if (!p || !isLive(meta.current)) {
      return;
    }
    live.current.following = true;
    p.seek(p.lastEventTime);
    setState((s) => ({ ...s, following: true, current: p.lastEventTime }));
  }, []);

  return { state: sessionId && state.sessionId === sessionId ? state : INITIAL, play, pause, seek, goLive, player };
}
