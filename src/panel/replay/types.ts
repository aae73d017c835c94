/** A recorded rrweb event (kept loose: the replayer validates them). */
export interface RrwebEvent {
  type: number;
  timestamp: number;
  data?: unknown;
  delay?: number;
}

/** First line of the replay stream (docs/plugin-api.md). */
export interface ReplayMeta {
  type: 'meta';
  sessionId: string;
  start: number;
  end: number;
  from: number;
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
