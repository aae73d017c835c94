package sessionreplayreceiver

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/retention"
	"github.com/seed/sessionreplay/collector-receiver/internal/useragent"
	"github.com/seed/sessionreplay/pkg/store"
)

// engine holds the receiver's caches: the decision cache, trace -> session
// links, parsed user agents and the privacy state of open tabs. None of it
// is the only copy of anything (issue 15): session-rule inputs, decisions
// and span rule matches waiting for their trace's session are in ClickHouse,
// and the retention sweeper (internal/retention) judges them from there.
type engine struct {
	r *srReceiver

	mu        sync.Mutex
	sessions  map[string]*sessState
	retained  map[string]map[string]bool // session -> rules known to have retained it
	negative  map[string]time.Time       // session -> when ClickHouse said "not retained"
	traceSess map[string]string          // trace id -> session id
	traceRing []string
	traceNext int
	uaCache   map[string]useragent.Info
	sweeper   *retention.Sweeper

	copyCh chan copyReq
	quit   chan struct{}
	wg     sync.WaitGroup
}

// sessState is the privacy state of a session's tabs (which nodes are
// masked inputs), kept while the session sends.
type sessState struct {
	mu       sync.Mutex // guards windows
	lastSeen time.Time
	windows  map[string]*privacy.State
	signals  sessionSignals // click target names (signals.go)
}

type copyReq struct {
	session string
	again   bool // schedule a second copy after in-flight writes settle
}

const (
	maxTraceLinks = 200000
	maxUACache    = 10000
)

func newEngine(r *srReceiver) *engine {
	return &engine{
		r:         r,
		sessions:  map[string]*sessState{},
		retained:  map[string]map[string]bool{},
		negative:  map[string]time.Time{},
		traceSess: map[string]string{},
		traceRing: make([]string, 0, 1024),
		uaCache:   map[string]useragent.Info{},
		copyCh:    make(chan copyReq, 4096),
		quit:      make(chan struct{}),
	}
}

func (e *engine) start() {
	cfg := e.r.cfg.Sessions
	e.sweeper = retention.New(retention.Config{IdleTimeout: cfg.IdleTimeout, PendingTTL: cfg.PendingTraceTTL,
		QueryTimeout: e.r.cfg.ClickHouse.Timeout, Batch: cfg.MaxPendingTraces},
		e.r.reader, e.r.rules, func(ctx context.Context, b *store.Batch) error { return e.r.add(ctx, b, 64*b.Len()) },
		e.r.writer.CopyToRetained, e.decidedElsewhere, e.r.logger)
	e.wg.Add(3)
	go e.idleLoop()
	go func() { defer e.wg.Done(); e.sweeper.Run(e.quit) }()
	go e.copyLoop()
}

// decidedElsewhere hears of decisions the sweeper stored: cache them, count
// them and copy their sessions' buffered chunks.
func (e *engine) decidedElsewhere(decs []store.Decision) {
	for _, d := range decs {
		e.claim(d.SessionID, d.Rule)
	}
	e.committed(decs)
}

func (e *engine) stop(ctx context.Context) {
	close(e.quit)
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// touch returns the state of a session, creating it (isNew) if needed.
func (e *engine) touch(id string, now time.Time) (st *sessState, isNew bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st = e.sessions[id]
	if st == nil {
		if len(e.sessions) >= e.r.cfg.Sessions.MaxSessions {
			e.evictOldestLocked()
		}
		st = &sessState{}
		e.sessions[id] = st
		isNew = true
	}
	st.lastSeen = now
	return st, isNew
}

func (e *engine) evictOldestLocked() {
	var oldest string
	var t time.Time
	for id, s := range e.sessions {
		if oldest == "" || s.lastSeen.Before(t) {
			oldest, t = id, s.lastSeen
		}
	}
	if oldest != "" {
		delete(e.sessions, oldest)
	}
}

func (e *engine) privacyState(st *sessState, window string) *privacy.State {
	if st.windows == nil {
		st.windows = map[string]*privacy.State{}
	}
	ps := st.windows[window]
	if ps == nil {
		ps = &privacy.State{}
		st.windows[window] = ps
	}
	return ps
}

func (e *engine) userAgent(ua string) useragent.Info {
	if ua == "" {
		return useragent.Info{}
	}
	e.mu.Lock()
	info, ok := e.uaCache[ua]
	e.mu.Unlock()
	if ok {
		return info
	}
	info = useragent.Parse(ua)
	e.mu.Lock()
	if len(e.uaCache) >= maxUACache {
		clear(e.uaCache)
	}
	e.uaCache[ua] = info
	e.mu.Unlock()
	return info
}

// decided reports which sessions are retained, from the cache or, on a
// miss (or a stale "no"), from ClickHouse.
func (e *engine) decided(ctx context.Context, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	var miss []string
	now := time.Now()
	ttl := e.r.cfg.Sessions.DecisionCacheTTL
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
	qctx, cancel := context.WithTimeout(ctx, e.r.cfg.ClickHouse.Timeout)
	defer cancel()
	found, err := e.r.reader.RetainedSessions(qctx, miss)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if len(e.negative) > 4*e.r.cfg.Sessions.MaxSessions {
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

// claim records that rule retains session; false when already known.
func (e *engine) claim(session, rule string) bool {
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

func (e *engine) unclaim(session, rule string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m := e.retained[session]; m != nil {
		delete(m, rule)
		if len(m) == 0 {
			delete(e.retained, session)
		}
	}
}

// committed is called once decisions are in ClickHouse: copy the buffered
// chunks of the sessions and count them.
func (e *engine) committed(decs []store.Decision) {
	seen := map[string]bool{}
	for _, d := range decs {
		e.r.tb.ReceiverSessionreplaySessionsRetained.Add(context.Background(), 1, metric.WithAttributes(attribute.String("rule", d.Rule)))
		if !seen[d.SessionID] {
			seen[d.SessionID] = true
			e.scheduleCopy(d.SessionID)
		}
	}
}

func (e *engine) scheduleCopy(session string) {
	select {
	case e.copyCh <- copyReq{session: session, again: true}:
	case <-e.quit:
	}
}

func (e *engine) copyLoop() {
	defer e.wg.Done()
	// A second copy a little later catches chunks that were being written to
	// the buffer while the decision was made (the copy is idempotent).
	delay := 2*e.r.cfg.Batch.MaxDelay + 2*time.Second
	for {
		select {
		case <-e.quit:
			return
		case req := <-e.copyCh:
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			err := e.r.writer.CopyToRetained(ctx, req.session)
			cancel()
			e.r.logger.Debug("copied session to retained table", zap.String("session.id", req.session), zap.Error(err))
			if err != nil {
				e.r.logger.Warn("copy to retained table failed; will retry", zap.String("session.id", req.session), zap.Error(err))
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

// linkTrace remembers that trace belongs to session (a cache: the link is
// stored in session_traces, where the sweeper resolves waiting matches).
func (e *engine) linkTrace(traceID, session string) {
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

// sessionOfTrace is the in-memory link, if any.
func (e *engine) sessionOfTrace(traceID string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.traceSess[traceID]
}

// ---- idle sessions ----

// idleLoop forgets the cached state (privacy, click target names) of
// sessions that went idle; the sweeper judges them from ClickHouse.
func (e *engine) idleLoop() {
	defer e.wg.Done()
	t := time.NewTicker(e.sweeper.Interval())
	defer t.Stop()
	for {
		select {
		case <-e.quit:
			return
		case <-t.C:
		}
		now := time.Now()
		e.mu.Lock()
		for id, st := range e.sessions {
			if now.Sub(st.lastSeen) >= e.r.cfg.Sessions.IdleTimeout {
				delete(e.sessions, id)
			}
		}
		e.mu.Unlock()
	}
}
