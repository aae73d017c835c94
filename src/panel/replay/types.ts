/** A recorded rrweb event (kept loose: the replayer validates them). */
export interface RrwebEvent {
  type: number;
  timestamp: number;
  data?: unknown;
  delay?: number;
}

/**
 * Windows (one document's recording each) that play one after another in one replayer; documents recorded at the
 * same time (an iframe loading the SDK) are on separate tracks (docs/plugin-api.md).
 */
export interface ReplayTrack {
  index: number;
  windowIds: string[];
  start: number;
  end: number;
  /** First page of the track, when known. */
  url?: string;
}

/** First line of the replay stream (docs/plugin-api.md). */
export interface ReplayMeta {
  type: 'meta';
  sessionId: string;
  /** The whole session. */
  start: number;
  end: number;
  from: number;
  /** The track this stream holds, and all of the session's (absent from older backends: one track). */
  track?: number;
  tracks?: ReplayTrack[];
}

/** A piece of recording as stored (one OTLP replay chunk). */
export interface ReplayChunk {
  type: 'chunk';
  windowId: string;
  seq: number;
  start: number;
  end: number;
  fullSnapshot: boolean;
  events: RrwebEvent[];
}

export type ReplayLine = ReplayMeta | ReplayChunk;

export type MarkerKind = 'error' | 'click' | 'navigation' | 'request' | 'custom' | 'rage_click' | 'input' | string;

export interface Marker {
  time: number;
  offsetMs: number;
  kind: MarkerKind;
  name: string;
  url: string;
  detail: string;
  traceId: string;
  spanId: string;
}
