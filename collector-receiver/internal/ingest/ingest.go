// Package ingest turns OTLP requests into the rows the receiver stores: the
// replay chunks of every format (decoded, masked, card-scrubbed and
// summarised), session summaries, timeline markers, trace links, the
// clicks a chunk leaves unanswered (dead-click candidates, judged later by
// the retention sweeper), and the decisions and pending matches of span and
// log rules. It holds the memory decoding needs between requests (the
// privacy state and click target names of open tabs, parsed user agents;
// parts of split rr-web events are in ClickHouse), none of it the only copy
// of anything; the retention decisions it asks and claims are the retention
// engine's (internal/retention). Transports, limits and status codes are the
// receiver's: errors come back unchanged for it to map.
package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/collector-receiver/internal/metadata"
	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/rules"
	"github.com/seed/sessionreplay/collector-receiver/internal/useragent"
	"github.com/seed/sessionreplay/pkg/store"
)

// Config is the part of the receiver's configuration decoding follows.
type Config struct {
	// MaxChunkBytes bounds one decompressed chunk; MaxChunkEvents its events.
	MaxChunkBytes  int64
	MaxChunkEvents int
	// MaxClockSkew: row times later than now plus this are clamped to now.
	MaxClockSkew time.Duration
	// ForwardReplayChunks keeps replay records in the logs passed on.
	ForwardReplayChunks bool
	// MaxSessions bounds the sessions whose tabs' state is kept.
	MaxSessions int
	// IdleTimeout: a session that sent nothing for this long is forgotten
	// (its tabs' privacy state and click target names), looked for every
	// IdleInterval.
	IdleTimeout  time.Duration
	IdleInterval time.Duration
}

// Decisions is the retention engine as decoding sees it: a cache of
// decisions in front of ClickHouse, claims for decisions about to be
// written, and trace -> session links (retention.Engine).
type Decisions interface {
	// Decided reports which sessions are retained.
	Decided(ctx context.Context, sessions []string) (map[string]bool, error)
	// Claim notes that rule retains session; false when already known.
	Claim(session, rule string) bool
	// Unclaim gives a claim back (its rows were not stored).
	Unclaim(session, rule string)
	// Committed hears of decisions once they are stored.
	Committed(decs []store.Decision)
	// LinkTrace remembers a trace's session; SessionOfTrace is that link.
	LinkTrace(traceID, session string)
	SessionOfTrace(traceID string) string
}

// Deps are the parts of the receiver an Ingester works with.
type Deps struct {
	Masker    *privacy.Masker
	Rules     *rules.Set
	Decisions Decisions
	// Write hands rows to the group-commit writers and returns once they
	// are stored; bytes is their approximate size.
	Write func(ctx context.Context, b *store.Batch, bytes int) error
	// AdmitSessions applies the per-session rate limit to a request's
	// chunks (n per session id); its error is returned as is.
	AdmitSessions func(perSession map[string]int) error
	Telemetry     *metadata.TelemetryBuilder
	// Parts holds the parts of split rr-web events that straddle requests
	// (in ClickHouse, for every replica: the receiver's storedParts).
	Parts formats.PartStore
}

// Ingester decodes requests into rows. Its methods are safe for concurrent
// use by any number of requests.
type Ingester struct {
	cfg  Config
	deps Deps

	mu       sync.Mutex // guards sessions and uaCache
	sessions map[string]*sessState
	uaCache  map[string]useragent.Info

	quit chan struct{}
	wg   sync.WaitGroup // the idle loop
}

// New returns an Ingester; Start runs its idle loop.
func New(cfg Config, d Deps) *Ingester {
	g := &Ingester{cfg: cfg, deps: d,
		sessions: map[string]*sessState{}, uaCache: map[string]useragent.Info{}, quit: make(chan struct{})}
	return g
}

// Start runs the loop that forgets idle sessions.
func (g *Ingester) Start() {
	g.wg.Add(1)
	go g.idleLoop()
}

// Stop ends the idle loop (it holds nothing to write).
func (g *Ingester) Stop() {
	close(g.quit)
	g.wg.Wait()
}
