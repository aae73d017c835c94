package retention

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/seed/sessionreplay/collector-receiver/internal/rules"
	"github.com/seed/sessionreplay/pkg/store"
)

// Engine is the receiver's side of retention: the decision cache in front
// of ClickHouse, the claims of decisions a request is about to write, the
// trace -> session links of recent spans and logs, the copies of retained
// sessions' buffered chunks, and the Sweeper. None of it is the only copy
// of anything (issue 15): session-rule inputs, decisions and span rule
// matches waiting for their trace's session are in ClickHouse, and the
// sweeper judges them from there. Its methods are safe for concurrent use.
type Engine struct {
	cfg  EngineConfig
	deps Deps

	mu        sync.Mutex
	retained  map[string]map[string]bool // session -> rules known to have retained it
	negative  map[string]time.Time       // session -> when ClickHouse said "not retained"
	traceSess map[string]string          // trace id -> session id
	traceRing []string
	traceNext int
	sweeper   *Sweeper

	copyCh chan copyReq
	quit   chan struct{}
	wg     sync.WaitGroup
}

// EngineConfig tunes the engine and its sweeper.
type EngineConfig struct {
	// Sweep is the sweeper's; its QueryTimeout bounds the engine's queries too.
	Sweep Config
	// DecisionCacheTTL: how long "not retained" is believed before asking
	// ClickHouse again (other replicas decide too).
	DecisionCacheTTL time.Duration
	// MaxNegative: past this many cached "not retained" answers, the stale
	// ones are dropped.
	MaxNegative int
	// CopyAgainAfter: a retained session's buffered chunks are copied again
	// this long after the first copy, for the chunks being written to the
	// buffer while the decision was made.
	CopyAgainAfter time.Duration
}

// Deps are what the engine reads, writes and tells.
type Deps struct {
	Store Store
	Rules *rules.Set
	// Write stores rows and returns once they are in ClickHouse.
	Write func(ctx context.Context, b *store.Batch) error
	// Copy copies a retained session's buffered chunks (idempotent).
	Copy func(ctx context.Context, session string) error
	// Retained (may be nil) counts a stored decision of rule.
	Retained func(rule string)
	Logger   *zap.Logger
}

type copyReq struct {
	session string
	again   bool // schedule a second copy after in-flight writes settle
}

const maxTraceLinks = 200000

// NewEngine returns an engine; Start runs its sweeper and copy loop.
func NewEngine(cfg EngineConfig, d Deps) *Engine {
	e := &Engine{
		cfg:       cfg,
		deps:      d,
		retained:  map[string]map[string]bool{},
		negative:  map[string]time.Time{},
		traceSess: map[string]string{},
		traceRing: make([]string, 0, 1024),
		copyCh:    make(chan copyReq, 4096),
		quit:      make(chan struct{}),
	}
	e.sweeper = New(cfg.Sweep, d.Store, d.Rules, d.Write, d.Copy, e.decidedElsewhere, d.Logger)
	return e
}

// Start runs the sweeper and the copy loop until Stop.
func (e *Engine) Start() {
	e.wg.Add(2)
	go func() { defer e.wg.Done(); e.sweeper.Run(e.quit) }()
	go e.copyLoop()
}

// Interval is how often the sweeper looks for idle sessions.
func (e *Engine) Interval() time.Duration { return e.sweeper.Interval() }

// decidedElsewhere hears of decisions the sweeper stored: cache them, count
// them and copy their sessions' buffered chunks.
func (e *Engine) decidedElsewhere(decs []store.Decision) {
	for _, d := range decs {
		e.Claim(d.SessionID, d.Rule)
	}
	e.Committed(decs)
}

// Stop ends the sweeper and the copy loop, waiting for them within ctx.
func (e *Engine) Stop(ctx context.Context) {
	close(e.quit)
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Decided reports which sessions are retained, from the cache or, on a
// miss (or a stale "no"), from ClickHouse.
func (e *Engine) Decided(ctx context.Context, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	var miss []string
	now := time.Now()
	ttl := e.cfg.DecisionCacheTTL
	e.mu.Lock()
	for _, id := range ids {
		if len(e.retained[id]) > 0 {
			out[id] = true
		} else if t, ok := e.negative[id]; ok && now.Sub(t) < ttl {
			out[id] = false
		} else {
			miss = append(miss, id)
		}
	}
	e.mu.Unlock()
	if len(miss) == 0 {
		return out, nil
	}
	qctx, cancel := context.WithTimeout(ctx, e.cfg.Sweep.QueryTimeout)
	defer cancel()
	found, err := e.deps.Store.RetainedSessions(qctx, miss)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if len(e.negative) > e.cfg.MaxNegative {
		for id, t := range e.negative {
			if now.Sub(t) >= ttl {
				delete(e.negative, id)
			}
		}
	}
	var learned []string
	for _, id := range miss {
		if found[id] {
			out[id] = true
			if len(e.retained[id]) == 0 {
				// decided by another replica: copy what we buffered meanwhile
				e.retained[id] = map[string]bool{"": true}
				learned = append(learned, id)
			}
			delete(e.negative, id)
		} else {
			out[id] = false
			e.negative[id] = now
		}
	}
	e.mu.Unlock()
	for _, id := range learned {
		e.scheduleCopy(id)
	}
	return out, nil
}

// Claim records that rule retains session; false when already known.
func (e *Engine) Claim(session, rule string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.retained[session]
	if m == nil {
		m = map[string]bool{}
		e.retained[session] = m
	}
	if m[rule] {
		return false
	}
	m[rule] = true
	delete(e.negative, session)
	return true
}

// Unclaim forgets a claim whose decision was not stored.
func (e *Engine) Unclaim(session, rule string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m := e.retained[session]; m != nil {
		delete(m, rule)
		if len(m) == 0 {
			delete(e.retained, session)
		}
	}
}

// Committed is called once decisions are in ClickHouse: copy the buffered
// chunks of the sessions and count them.
func (e *Engine) Committed(decs []store.Decision) {
	seen := map[string]bool{}
	for _, d := range decs {
		if e.deps.Retained != nil {
			e.deps.Retained(d.Rule)
		}
		if !seen[d.SessionID] {
			seen[d.SessionID] = true
			e.scheduleCopy(d.SessionID)
		}
	}
}

func (e *Engine) scheduleCopy(session string) {
	select {
	case e.copyCh <- copyReq{session: session, again: true}:
	case <-e.quit:
	}
}

func (e *Engine) copyLoop() {
	defer e.wg.Done()
	// A second copy a little later catches chunks that were being written to
	// the buffer while the decision was made (the copy is idempotent).
	delay := e.cfg.CopyAgainAfter
	for {
		select {
		case <-e.quit:
			return
		case req := <-e.copyCh:
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			err := e.deps.Copy(ctx, req.session)
			cancel()
			e.deps.Logger.Debug("copied session to retained table", zap.String("session.id", req.session), zap.Error(err))
			if err != nil {
				e.deps.Logger.Warn("copy to retained table failed; will retry", zap.String("session.id", req.session), zap.Error(err))
			}
			if req.again || err != nil {
				s := req.session
				time.AfterFunc(delay, func() {
					select {
					case e.copyCh <- copyReq{session: s}:
					case <-e.quit:
					}
				})
			}
		}
	}
}

// ---- trace -> session ----

// LinkTrace remembers that trace belongs to session (a cache: the link is
// stored in session_traces, where the sweeper resolves waiting matches).
func (e *Engine) LinkTrace(traceID, session string) {
	if traceID == "" || session == "" {
		return
	}
	e.mu.Lock()
	if _, ok := e.traceSess[traceID]; !ok {
		if len(e.traceRing) < maxTraceLinks {
			e.traceRing = append(e.traceRing, traceID)
		} else {
			delete(e.traceSess, e.traceRing[e.traceNext])
			e.traceRing[e.traceNext] = traceID
			e.traceNext = (e.traceNext + 1) % maxTraceLinks
		}
	}
	e.traceSess[traceID] = session
	e.mu.Unlock()
}

// SessionOfTrace is the in-memory link, if any.
func (e *Engine) SessionOfTrace(traceID string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.traceSess[traceID]
}
