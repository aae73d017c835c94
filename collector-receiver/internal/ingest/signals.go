package ingest

import (
	"context"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
	"github.com/seed/sessionreplay/pkg/store"
)

// Frustration signals between requests.
//
// A click is dead when nothing answers it within rrweb.DeadClickMs: no DOM
// change, scroll, input or navigation of its tab (read from the recording,
// across the tab's chunks: internal/rrweb) and no request of its session
// (client spans, which arrive on their own, usually a little later than the
// chunk). So a click the recording leaves unanswered is a candidate for
// deadClickSettle of wall-clock time, giving the page's spans time to land,
// and becomes a dead_click marker with a later chunk of the session, or when
// the session goes idle.
//
// This state is in memory, per session, like the privacy state of a tab: a
// replica that did not see a tab's snapshot names its clicks "click" until
// the tab's next full snapshot (checkoutEveryMs, 2 min by default), and a
// candidate whose session moves to another replica before it settles is not
// reported. A click in the same chunk as its snapshot or mutations always
// resolves.
const (
	deadClickSettle = 5 * time.Second
	// maxSignalWindows bounds the tabs of a session whose nodes are indexed.
	maxSignalWindows = 16
	// maxRequests bounds the request start times kept per session.
	maxRequests = 256
	// maxCandidates bounds the dead-click candidates per session.
	maxCandidates = 256
)

// sessionSignals is one session's signal state, guarded by sessState.mu.
type sessionSignals struct {
	windows    map[string]*rrweb.Window
	candidates []deadCandidate
	requests   []int64 // start (unix ms) of recent client spans
	next       int     // ring position in requests once full
}

type deadCandidate struct {
	m      rrweb.Marker
	window string
	found  time.Time
}

// window is the tab's summary state; nil past maxSignalWindows (its chunks
// are then read alone).
func (s *sessionSignals) window(id string) *rrweb.Window {
	if s.windows == nil {
		s.windows = map[string]*rrweb.Window{}
	}
	w := s.windows[id]
	if w == nil && len(s.windows) < maxSignalWindows {
		w = &rrweb.Window{}
		s.windows[id] = w
	}
	return w
}

func (s *sessionSignals) request(startMs int64) {
	if len(s.requests) < maxRequests {
		s.requests = append(s.requests, startMs)
		return
	}
	s.requests[s.next] = startMs
	s.next = (s.next + 1) % maxRequests
}

// answered reports whether a request of the session started within the
// click's bound.
func (s *sessionSignals) answered(t int64) bool {
	for _, r := range s.requests {
		if r >= t && r <= t+rrweb.DeadClickMs {
			return true
		}
	}
	return false
}

// settle adds a chunk's unanswered clicks as candidates and returns those
// that are dead: settled by now (all of them when all is set) with no
// request in their bound.
func (s *sessionSignals) settle(window string, found []rrweb.Marker, now time.Time, all bool) []deadCandidate {
	for _, m := range found {
		if len(s.candidates) < maxCandidates {
			s.candidates = append(s.candidates, deadCandidate{m: m, window: window, found: now})
		}
	}
	var dead []deadCandidate
	keep := s.candidates[:0]
	for _, c := range s.candidates {
		switch {
		case !all && now.Sub(c.found) < deadClickSettle:
			keep = append(keep, c)
		case !s.answered(c.m.Time):
			dead = append(dead, c)
		}
	}
	s.candidates = keep
	return dead
}

// deadClickEvents are the markers of dead clicks of a session.
func deadClickEvents(session string, dead []deadCandidate, clamp func(int64) int64) []store.Event {
	out := make([]store.Event, 0, len(dead))
	for _, d := range dead {
		m := d.m
		out = append(out, store.Event{SessionID: session, Time: time.UnixMilli(clamp(m.Time)).UTC(), Kind: store.KindDeadClick,
			Name: privacy.ScrubCardsString(m.Name), Detail: privacy.ScrubCardsString(m.Detail), WindowID: d.window,
			ID: store.PartID(session, d.window, strconv.FormatUint(m.Seq, 10), strconv.Itoa(m.Index), m.Kind)})
	}
	return out
}

// chunkSignals settles the session's dead-click candidates with a chunk of
// window: the markers go with the chunk's rows, and each dead click counts
// in a summary row of its own, keyed by its marker, so a retried chunk (whose
// candidates are already settled) never takes the count back and a resent
// one never adds it twice.
func chunkSignals(q *request, st *sessState, sessionID, window string, stats *rrweb.Stats) {
	st.mu.Lock()
	dead := st.signals.settle(window, stats.DeadClicks, q.now, false)
	st.mu.Unlock()
	if len(dead) == 0 {
		return
	}
	events := deadClickEvents(sessionID, dead, q.clampMs)
	q.batch.Events = append(q.batch.Events, events...)
	q.batch.Sessions = append(q.batch.Sessions, deadClickSummaries(events)...)
}

// deadClickSummaries are the summary rows that count dead clicks, one per
// marker, at the click's time.
func deadClickSummaries(events []store.Event) []store.SessionSummary {
	out := make([]store.SessionSummary, len(events))
	for i, e := range events {
		out[i] = store.SessionSummary{SessionID: e.SessionID, PartID: store.PartID("dead_click", strconv.FormatUint(e.ID, 10)),
			Start: e.Time, End: e.Time, DeadClicks: 1}
	}
	return out
}

// requestSignal notes a client span of a session: a request that answers
// the clicks just before it.
func requestSignal(st *sessState, startMs int64) {
	st.mu.Lock()
	st.signals.request(startMs)
	st.mu.Unlock()
}

// idleSignals runs when a session goes idle (or is evicted): its tabs sent
// no later chunk, so their waiting clicks and the candidates are judged now.
// The facts are updated before the session rules look at them; the rows are
// written in the background.
func (g *Ingester) idleSignals(id string, st *sessState) {
	st.mu.Lock()
	for w, win := range st.signals.windows {
		for _, m := range win.Pending() {
			st.signals.candidates = append(st.signals.candidates, deadCandidate{m: m, window: w})
		}
	}
	dead := st.signals.settle("", nil, time.Now(), true)
	st.mu.Unlock()
	if len(dead) == 0 {
		return
	}
	now := time.Now()
	clamp := func(ms int64) int64 { return clampMs(ms, now, g.cfg.MaxClockSkew) }
	events := deadClickEvents(id, dead, clamp)
	b := &store.Batch{Events: events, Sessions: deadClickSummaries(events)}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		backoff := 200 * time.Millisecond
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(g.writes, 60*time.Second)
			err := g.deps.Write(ctx, b, 256*len(events))
			cancel()
			if err == nil {
				return
			}
			if attempt >= 10 {
				g.deps.Logger.Warn("dead clicks of an idle session not stored", zap.String("session.id", id), zap.Int("dead_clicks", len(dead)), zap.Error(err))
				return
			}
			select {
			case <-g.quit:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
}
