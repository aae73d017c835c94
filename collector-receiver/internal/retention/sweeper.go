// Package retention takes the retention decisions that need no request:
// session rules on sessions gone idle, and span/log rule matches whose trace
// got its session link later; and it judges the clicks whose answer (a
// request, the tab's next chunk) came in another request, whose dead clicks
// the session rules count. It reads everything from ClickHouse and keeps
// nothing in memory, so any replica may run it, any number at once, and a
// restarted one carries on where the others are: every decision row is
// derived from stored data only (the trigger time of a session rule is the
// session's stored end), so two evaluations of the same data write the same
// row, which retained_sessions (ReplacingMergeTree by session and rule)
// keeps once.
package retention

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/seed/sessionreplay/collector-receiver/internal/rules"
	"github.com/seed/sessionreplay/pkg/store"
)

// Store is what the sweeper reads; *store.Reader implements it.
type Store interface {
	IdleSessions(ctx context.Context, since, idleBefore time.Time, limit int) ([]store.IdleSession, error)
	SessionFactsOf(ctx context.Context, ids []string) (map[string]*store.SessionFacts, error)
	RetainedSessions(ctx context.Context, ids []string) (map[string]bool, error)
	PendingMatches(ctx context.Context, since time.Time, limit int) ([]store.PendingMatch, error)
	SessionsOfTraces(ctx context.Context, traceIDs []string) (map[string][]string, error)
	ClickCandidates(ctx context.Context, since, settledBefore time.Time, limit int) ([]store.ClickCandidate, error)
	RequestTimes(ctx context.Context, ids []string, from, to time.Time) (map[string][]time.Time, error)
	StreamChunksIn(ctx context.Context, sessionID string, windows []string, since time.Time, fn func(*store.Chunk) error) error
}

// Config tunes the sweeps.
type Config struct {
	// IdleTimeout: a session that received nothing for this long is judged.
	IdleTimeout time.Duration
	// PendingTTL: how long a match waits for its trace's session.
	PendingTTL time.Duration
	// Lookback bounds how far back idle sessions are looked for (replicas
	// all down longer than this miss the sessions that went idle then).
	Lookback time.Duration
	// QueryTimeout bounds each ClickHouse query.
	QueryTimeout time.Duration
	// Batch is the most sessions or matches one sweep handles.
	Batch int
}

// Sweeper runs the idle and pending sweeps.
type Sweeper struct {
	cfg   Config
	st    Store
	rules *rules.Set
	// write stores rows and returns once they are in ClickHouse.
	write func(ctx context.Context, b *store.Batch) error
	// copy copies a retained session's buffered chunks to the retained
	// table (idempotent).
	copy func(ctx context.Context, session string) error
	// decided is told about decisions once they are stored.
	decided func([]store.Decision)
	log     *zap.Logger
}

// New returns a sweeper: write stores rows (returning once they are stored),
// copy copies a session's buffered chunks to the retained table, decided (may
// be nil) hears of stored decisions.
func New(cfg Config, st Store, rs *rules.Set, write func(context.Context, *store.Batch) error,
	copy func(context.Context, string) error, decided func([]store.Decision), log *zap.Logger) *Sweeper {
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Lookback <= 0 {
		cfg.Lookback = store.MaxSessionDuration + cfg.IdleTimeout
	}
	return &Sweeper{cfg: cfg, st: st, rules: rs, write: write, copy: copy, decided: decided, log: log}
}

// Interval is how often Run sweeps: a quarter of the idle timeout, within
// [50ms, 5s].
func (s *Sweeper) Interval() time.Duration {
	return min(max(s.cfg.IdleTimeout/4, 50*time.Millisecond), 5*time.Second)
}

// Run sweeps until quit closes. Errors (ClickHouse down) are logged and the
// next sweep tries again: nothing is lost, the state is in ClickHouse.
func (s *Sweeper) Run(quit <-chan struct{}) {
	t := time.NewTicker(s.Interval())
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		now := time.Now()
		// clicks first: their dead clicks are facts of the idle sessions
		if _, err := s.SweepClicks(context.Background(), now); err != nil {
			s.log.Warn("dead-click candidates not judged; retrying", zap.Error(err))
		}
		if _, err := s.SweepPending(context.Background(), now); err != nil {
			s.log.Warn("pending trace matches not resolved; retrying", zap.Error(err))
		}
		if _, err := s.SweepIdle(context.Background(), now); err != nil {
			s.log.Warn("idle sessions not evaluated; retrying", zap.Error(err))
		}
	}
}

// SweepIdle judges the sessions idle at now that no evaluation covers: the
// session rules on their stored facts, then, for every one of them that has
// a decision (new or older), the copy of its buffered chunks; only then the
// evaluation is recorded, so a replica killed midway leaves the session to
// the next sweep. It returns how many sessions it judged.
func (s *Sweeper) SweepIdle(ctx context.Context, now time.Time) (int, error) {
	idle, err := query(ctx, s.cfg.QueryTimeout, func(ctx context.Context) ([]store.IdleSession, error) {
		return s.st.IdleSessions(ctx, now.Add(-s.cfg.Lookback), now.Add(-s.cfg.IdleTimeout), s.cfg.Batch)
	})
	if err != nil || len(idle) == 0 {
		return 0, err
	}
	ids := make([]string, len(idle))
	for i, is := range idle {
		ids[i] = is.SessionID
	}
	var decs []store.Decision
	if s.rules.HasSessionRules() {
		facts, err := query(ctx, s.cfg.QueryTimeout, func(ctx context.Context) (map[string]*store.SessionFacts, error) {
			return s.st.SessionFactsOf(ctx, ids)
		})
		if err != nil {
			return 0, err
		}
		for _, id := range ids {
			if f := facts[id]; f != nil {
				decs = append(decs, Judge(s.rules, f)...)
			}
		}
	}
	if len(decs) > 0 {
		if err := s.write(ctx, &store.Batch{Decisions: decs}); err != nil {
			return 0, fmt.Errorf("store decisions: %w", err)
		}
	}
	retained, err := query(ctx, s.cfg.QueryTimeout, func(ctx context.Context) (map[string]bool, error) {
		return s.st.RetainedSessions(ctx, ids)
	})
	if err != nil {
		return 0, err
	}
	if s.decided != nil && len(decs) > 0 {
		s.decided(decs)
	}
	// Whichever replica took the decision, and whenever: once the session is
	// idle every chunk it buffered is copied, here, before the evaluation
	// is recorded.
	for _, id := range ids {
		if retained[id] {
			if err := s.copy(ctx, id); err != nil {
				return 0, fmt.Errorf("copy session to the retained table: %w", err)
			}
		}
	}
	evals := make([]store.Evaluation, len(idle))
	for i, is := range idle {
		evals[i] = store.Evaluation{SessionID: is.SessionID, Through: is.LastReceived}
	}
	if err := s.write(ctx, &store.Batch{Evaluations: evals}); err != nil {
		return 0, fmt.Errorf("record evaluations: %w", err)
	}
	return len(idle), nil
}

// Judge returns the decisions of the session rules on stored facts. The
// trigger time is the session's stored end, never the clock, so every
// replica judging the same data writes the same rows.
func Judge(rs *rules.Set, f *store.SessionFacts) []store.Decision {
	facts := rules.Facts{URLs: map[string]bool{}, Events: map[string]bool{}, Start: f.Start, End: f.End,
		RageClicks: int(f.RageClicks), DeadClicks: int(f.DeadClicks), Errors: int(f.Errors)}
	for _, u := range f.URLs {
		facts.URLs[u] = true
	}
	for _, e := range f.Events {
		facts.Events[e] = true
	}
	var out []store.Decision
	for _, name := range rs.MatchSession(&facts) {
		out = append(out, store.Decision{SessionID: f.SessionID, Rule: name, TriggerTime: f.End})
	}
	return out
}

// SweepPending resolves stored matches whose trace now has a session link:
// their decisions are written, then the matches are marked resolved. Matches
// older than the pending TTL are left to expire. It returns how many
// matches it resolved.
func (s *Sweeper) SweepPending(ctx context.Context, now time.Time) (int, error) {
	pending, err := query(ctx, s.cfg.QueryTimeout, func(ctx context.Context) ([]store.PendingMatch, error) {
		return s.st.PendingMatches(ctx, now.Add(-s.cfg.PendingTTL), s.cfg.Batch)
	})
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	traces := make([]string, 0, len(pending))
	seen := map[string]bool{}
	for _, p := range pending {
		if !seen[p.TraceID] {
			seen[p.TraceID] = true
			traces = append(traces, p.TraceID)
		}
	}
	links, err := query(ctx, s.cfg.QueryTimeout, func(ctx context.Context) (map[string][]string, error) {
		return s.st.SessionsOfTraces(ctx, traces)
	})
	if err != nil {
		return 0, err
	}
	var decs []store.Decision
	var done []store.PendingMatch
	for _, p := range pending {
		sessions := links[p.TraceID]
		if len(sessions) == 0 {
			continue
		}
		for _, sid := range sessions {
			decs = append(decs, store.Decision{SessionID: sid, Rule: p.Rule, TriggerTime: p.TriggerTime, TraceID: p.TraceID})
		}
		p.Resolved = true
		done = append(done, p)
	}
	if len(decs) == 0 {
		return 0, nil
	}
	if err := s.write(ctx, &store.Batch{Decisions: decs}); err != nil {
		return 0, fmt.Errorf("store decisions: %w", err)
	}
	if s.decided != nil {
		s.decided(decs)
	}
	if err := s.write(ctx, &store.Batch{Pending: done}); err != nil {
		return 0, fmt.Errorf("mark matches resolved: %w", err)
	}
	return len(done), nil
}

func query[T any](ctx context.Context, timeout time.Duration, f func(context.Context) (T, error)) (T, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return f(ctx)
}
