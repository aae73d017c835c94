package store

import (
	"time"

	"github.com/seed/sessionreplay/pkg/assetref"
)

// Chunk is one replay chunk: a JSON array of rrweb events from one tab.
type Chunk struct {
	SessionID    string
	WindowID     string
	Seq          uint64
	Start        time.Time
	End          time.Time
	EventCount   uint32
	FullSnapshot bool
	ServiceName  string
	// Data is the JSON array of rrweb events (uncompressed; the column is ZSTD).
	// Written with Refs, it holds their placeholders; read back, the Reader
	// has put the assets in again and Refs is empty.
	Data []byte
	// Refs are the placeholders of extracted assets in Data, by offset.
	Refs []assetref.Ref
	// Assets are the values Refs point at, stored by the Writer in the asset
	// table of the chunk's site (ServiceName) before the chunk itself.
	Assets []assetref.Asset
}

// SessionSummary is what one chunk (or span/log) adds to its session's row;
// readers aggregate the rows of a session (min start, max end, sums, ...).
type SessionSummary struct {
	SessionID string
	// PartID names the contribution within its session (the chunk's window
	// and seq, the error span's trace and span id): a retried write of the
	// same contribution replaces the first instead of adding to it. Zero
	// derives it from the row's content (see SummaryPartID).
	PartID      uint64
	Start       time.Time
	End         time.Time
	ActiveMs    uint64
	Chunks      uint64
	Events      uint64
	Bytes       uint64
	PageViews   uint64
	Clicks      uint64
	Inputs      uint64
	RageClicks  uint64
	DeadClicks  uint64
	Errors      uint64
	URLs        []string
	EntryURL    string
	UserID      string
	ServiceName string
	Device      string
	OS          string
	Browser     string
	Country     string
	UserAgent   string
	Attributes  map[string]string
	// ReceivedAt is when the contribution arrived (zero: now, at write). A
	// row derived later from what arrived then (a dead click judged by the
	// sweeper) keeps that time, so it does not make its session active.
	ReceivedAt time.Time
}

// Event kinds of the session timeline.
const (
	KindError      = "error"
	KindClick      = "click"
	KindRageClick  = "rage_click"
	KindDeadClick  = "dead_click"
	KindConsole    = "console"
	KindNavigation = "navigation"
	KindRequest    = "request"
	KindInput      = "input"
	KindCustom     = "custom"
)

// Event is one timeline marker of a session.
type Event struct {
	SessionID string
	Time      time.Time
	Kind      string
	Name      string
	URL       string
	Detail    string
	TraceID   string
	SpanID    string
	WindowID  string
	// ID makes a marker idempotent: the same source (chunk+index, span id)
	// always yields the same ID, so a retried write collapses in ClickHouse.
	ID uint64
}

// TraceLink ties a trace (one of its spans) to a session.
type TraceLink struct {
	TraceID     string
	SessionID   string
	SpanID      string
	ServiceName string
	Time        time.Time
	IsError     bool
}

// Decision records that a rule retained a session.
type Decision struct {
	SessionID   string
	Rule        string
	TriggerTime time.Time
	TraceID     string
}
