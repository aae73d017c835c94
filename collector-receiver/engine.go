package sessionreplayreceiver

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/rules"
	"github.com/seed/sessionreplay/collector-receiver/internal/useragent"
	"github.com/seed/sessionreplay/pkg/store"
)

// engine is the receiver's small in-memory state: per-session facts for the
// session rules, the decision cache, trace -> session links and the span
// rule matches still waiting for their trace's session.
type engine struct {
	r *srReceiver

	mu        sync.Mutex
	sessions  map[string]*sessState
	retained  map[string]map[string]bool // session -> rules known to have retained it
	negative  map[string]time.Time       // session -> when ClickHouse said "not retained"
	traceSess map[string]string          // trace id -> session id
	traceRing []string
	traceNext int
	pending   map[string]*pendingTrace
	uaCache   map[string]useragent.Info
	rrParts   map[rrKey]*rrPartial

	copyCh chan copyReq
	quit   chan struct{}
	wg     sync.WaitGroup
}

type sessState struct {
	mu       sync.Mutex // guards windows (privacy state)
	facts    rules.Facts
	lastSeen time.Time
	windows  map[string]*privacy.State
	signals  sessionSignals // click targets and dead clicks (signals.go)
}

type pendingTrace struct {
	matches   []store.Decision // SessionID empty
	deadline  time.Time
	lastCheck time.Time
}

type copyReq struct {
	session string
	again   bool // schedule a second copy after in-flight writes settle
}

const (
	maxTraceLinks = 200000
	maxUACache    = 10000
	maxRRParts    = 10000
)

func newEngine(r *srReceiver) *engine {
	return &engine{
		r:         r,
		sessions:  map[string]*sessState{},
		retained:  map[string]map[string]bool{},
		negative:  map[string]time.Time{},
		traceSess: map[string]string{},
		traceRing: make([]string, 0, 1024),
		pending:   map[string]*pendingTrace{},
		uaCache:   map[string]useragent.Info{},
		rrParts:   map[rrKey]*rrPartial{},
		copyCh:    make(chan copyReq, 4096),
		quit:      make(chan struct{}),
	}
}

func (e *engine) start() {
	e.wg.Add(3)
	go e.idleLoop()
	go e.pendingLoop()
	go e.copyLoop()
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
		st = &sessState{facts: rules.Facts{URLs: map[string]bool{}, Events: map[string]bool{}}}
		e.sessions[id] = st
		isNew = true
	}
	st.lastSeen = now
	return st, isNew
}

// update applies f to a session's facts under the engine lock.
func (e *engine) update(id string, now time.Time, f func(*rules.Facts)) {
	st, _ := e.touch(id, now)
	e.mu.Lock()
	f(&st.facts)
	e.mu.Unlock()
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
		st := e.sessions[oldest]
		delete(e.sessions, oldest)
		go e.evaluate(oldest, st)
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

// decideAsync writes decisions made outside a request (idle sessions,
// resolved traces), retrying while ClickHouse is unavailable.
func (e *engine) decideAsync(decs []store.Decision) {
	var fresh []store.Decision
	for _, d := range decs {
		if e.claim(d.SessionID, d.Rule) {
			fresh = append(fresh, d)
		}
	}
	if len(fresh) == 0 {
		return
	}
	backoff := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := e.r.add(ctx, &store.Batch{Decisions: fresh}, 64*len(fresh))
		cancel()
		if err == nil {
			e.committed(fresh)
			return
		}
		if attempt >= 20 {
			e.r.logger.Error("retention decision not stored", zap.Any("decisions", fresh), zap.Error(err))
			for _, d := range fresh {
				e.unclaim(d.SessionID, d.Rule)
			}
			return
		}
		select {
		case <-e.quit:
			return
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

// ---- trace -> session ----

// linkTrace remembers that trace belongs to session and resolves span rule
// matches that were waiting for it.
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
	p := e.pending[traceID]
	delete(e.pending, traceID)
	e.mu.Unlock()
	if p != nil {
		go e.decideAsync(withSession(p.matches, session))
	}
}

func withSession(decs []store.Decision, session string) []store.Decision {
	out := make([]store.Decision, len(decs))
	for i, d := range decs {
		d.SessionID = session
		out[i] = d
	}
	return out
}

// sessionOfTrace is the in-memory link, if any.
func (e *engine) sessionOfTrace(traceID string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.traceSess[traceID]
}

// matchByTrace handles a rule match on a span/log without session.id: it
// resolves through the trace id now (memory) or later (links arriving, or
// ClickHouse, checked in the background).
func (e *engine) matchByTrace(d store.Decision) {
	if d.TraceID == "" {
		return
	}
	if s := e.sessionOfTrace(d.TraceID); s != "" {
		go e.decideAsync(withSession([]store.Decision{d}, s))
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.pending[d.TraceID]
	if p == nil {
		if len(e.pending) >= e.r.cfg.Sessions.MaxPendingTraces {
			e.r.logger.Warn("too many span rule matches waiting for their session; dropping", zap.String("trace_id", d.TraceID), zap.String("rule", d.Rule))
			return
		}
		p = &pendingTrace{deadline: time.Now().Add(e.r.cfg.Sessions.PendingTraceTTL)}
		e.pending[d.TraceID] = p
	}
	for _, m := range p.matches {
		if m.Rule == d.Rule {
			return
		}
	}
	p.matches = append(p.matches, d)
}

func (e *engine) pendingLoop() {
	defer e.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-e.quit:
			return
		case <-t.C:
		}
		now := time.Now()
		var check []string
		e.mu.Lock()
		for id, p := range e.pending {
			if now.After(p.deadline) {
				delete(e.pending, id)
				continue
			}
			if now.Sub(p.lastCheck) >= time.Second {
				p.lastCheck = now
				check = append(check, id)
			}
		}
		e.mu.Unlock()
		for _, id := range check {
			ctx, cancel := context.WithTimeout(context.Background(), e.r.cfg.ClickHouse.Timeout)
			sessions, err := e.r.reader.SessionsOfTrace(ctx, id)
			cancel()
			if err != nil || len(sessions) == 0 {
				continue
			}
			e.mu.Lock()
			p := e.pending[id]
			delete(e.pending, id)
			e.mu.Unlock()
			if p == nil {
				continue
			}
			for _, s := range sessions {
				e.decideAsync(withSession(p.matches, s))
			}
		}
	}
}

// ---- idle sessions ----

func (e *engine) idleLoop() {
	defer e.wg.Done()
	tick := e.r.cfg.Sessions.IdleTimeout / 4
	if tick > time.Second {
		tick = time.Second
	}
	if tick < 20*time.Millisecond {
		tick = 20 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-e.quit:
			return
		case <-t.C:
		}
		now := time.Now()
		idle := map[string]*sessState{}
		e.mu.Lock()
		for id, st := range e.sessions {
			if now.Sub(st.lastSeen) >= e.r.cfg.Sessions.IdleTimeout {
				idle[id] = st
				delete(e.sessions, id)
			}
		}
		e.mu.Unlock()
		for id, st := range idle {
			e.evaluate(id, st)
		}
	}
}

// evaluate runs the session rules on a session that went idle.
func (e *engine) evaluate(id string, st *sessState) {
	e.idleSignals(id, st)
	if !e.r.rules.HasSessionRules() {
		return
	}
	e.mu.Lock()
	names := e.r.rules.MatchSession(&st.facts)
	end := st.facts.End
	e.mu.Unlock()
	if len(names) == 0 {
		return
	}
	if end.IsZero() {
		end = time.Now()
	}
	decs := make([]store.Decision, len(names))
	for i, n := range names {
		decs[i] = store.Decision{SessionID: id, Rule: n, TriggerTime: end}
	}
	e.decideAsync(decs)
}

// ---- rr-web split events ----

type rrKey struct {
	session string
	event   int64
}

type rrPartial struct {
	parts   map[int64][]byte
	total   int64
	created time.Time
}

// rrPart stores one part of a split rr-web event; it returns the whole
// event once every part has arrived.
func (e *engine) rrPart(session string, event, part, total int64, body []byte) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := rrKey{session, event}
	p := e.rrParts[k]
	if p == nil {
		if len(e.rrParts) >= maxRRParts {
			for k2, p2 := range e.rrParts {
				if time.Since(p2.created) > 5*time.Minute {
					delete(e.rrParts, k2)
				}
			}
		}
		p = &rrPartial{parts: map[int64][]byte{}, total: total, created: time.Now()}
		e.rrParts[k] = p
	}
	p.parts[part] = append([]byte(nil), body...)
	if int64(len(p.parts)) < p.total {
		return nil
	}
	delete(e.rrParts, k)
	// parts are numbered 0..n-1 or 1..n; join in order
	min := int64(1 << 62)
	for n := range p.parts {
		if n < min {
			min = n
		}
	}
	var out []byte
	for n := min; n < min+p.total; n++ {
		out = append(out, p.parts[n]...)
	}
	return out
}
