package retention

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
	"github.com/seed/sessionreplay/pkg/store"
)

// ClickSettle is how long a click waits after its chunk arrived before it is
// judged: the page's client spans (a request answers a click as well as a
// DOM change does) are sent on their own, usually a little after the chunk.
// A session idle for less than this is judged when it goes idle.
const ClickSettle = 5 * time.Second

// deadClickBound is how long a click may go unanswered.
const deadClickBound = rrweb.DeadClickMs * time.Millisecond

// errEnough stops a chunk stream once the verdict is known.
var errEnough = errors.New("enough")

// verdict is what the stored data say of a candidate so far.
type verdict int

const (
	waiting verdict = iota // the tab's later chunks may still answer it
	alive                  // a request or a later chunk answered it
	dead
)

// SweepClicks judges the dead-click candidates that have settled: a
// candidate is alive when a request of its session started within the
// bound, or, for a click whose bound reached past its chunk, when a later
// chunk of its tab answers it; it is dead when neither did and the tab's
// later chunks cover the bound, or the tab sent nothing more for the idle
// timeout. Dead clicks become markers and summary rows keyed by the click,
// then every judged candidate is marked resolved, so a replica killed midway
// leaves the rest to the next sweep and a second judgement writes the same
// rows. It returns how many candidates it judged.
func (s *Sweeper) SweepClicks(ctx context.Context, now time.Time) (int, error) {
	ctx = store.Synchronous(ctx) // the idle sweep reads these rows next
	settle := min(ClickSettle, s.cfg.IdleTimeout)
	cands, err := query(ctx, s.cfg.QueryTimeout, func(ctx context.Context) ([]store.ClickCandidate, error) {
		return s.st.ClickCandidates(ctx, now.Add(-s.cfg.Lookback), now.Add(-settle), s.cfg.Batch)
	})
	if err != nil || len(cands) == 0 {
		return 0, err
	}
	var ids []string
	seen := map[string]bool{}
	from, to := cands[0].Time, cands[0].Time
	for _, c := range cands {
		if !seen[c.SessionID] {
			seen[c.SessionID] = true
			ids = append(ids, c.SessionID)
		}
		if c.Time.Before(from) {
			from = c.Time
		}
		if c.Time.After(to) {
			to = c.Time
		}
	}
	requests, err := query(ctx, s.cfg.QueryTimeout, func(ctx context.Context) (map[string][]time.Time, error) {
		return s.st.RequestTimes(ctx, ids, from, to.Add(deadClickBound))
	})
	if err != nil {
		return 0, err
	}
	var judged []store.ClickCandidate
	var rows store.Batch
	for _, c := range cands {
		v := alive
		if !answeredByRequest(requests[c.SessionID], c.Time) {
			if v, err = s.laterChunks(ctx, c, now); err != nil {
				return 0, err
			}
		}
		switch v {
		case waiting:
			continue
		case dead:
			rows.Events = append(rows.Events, store.Event{SessionID: c.SessionID, Time: c.Time, Kind: store.KindDeadClick,
				Name: c.Name, Detail: c.Detail, WindowID: c.WindowID, ID: c.ID})
			rows.Sessions = append(rows.Sessions, store.SessionSummary{SessionID: c.SessionID,
				PartID: store.PartID("dead_click", strconv.FormatUint(c.ID, 10)), Start: c.Time, End: c.Time, DeadClicks: 1,
				ReceivedAt: c.ReceivedAt})
		}
		c.Resolved = true
		judged = append(judged, c)
	}
	if rows.Len() > 0 {
		if err := s.write(ctx, &rows); err != nil {
			return 0, fmt.Errorf("store dead clicks: %w", err)
		}
	}
	if len(judged) > 0 {
		if err := s.write(ctx, &store.Batch{Candidates: judged}); err != nil {
			return 0, fmt.Errorf("mark clicks judged: %w", err)
		}
	}
	return len(judged), nil
}

// answeredByRequest reports whether a request started within the bound of a
// click at t.
func answeredByRequest(starts []time.Time, t time.Time) bool {
	for _, r := range starts {
		if !r.Before(t) && !r.After(t.Add(deadClickBound)) {
			return true
		}
	}
	return false
}

// laterChunks judges a candidate no request answered. A click its own chunk
// saw unanswered to the end of the bound is dead; one whose bound reached
// past its chunk is read against the tab's later chunks.
func (s *Sweeper) laterChunks(ctx context.Context, c store.ClickCandidate, now time.Time) (verdict, error) {
	if !c.Open {
		return dead, nil
	}
	bound := c.Time.Add(deadClickBound)
	v := waiting
	err := s.st.StreamChunksIn(ctx, c.SessionID, []string{c.WindowID}, c.Time, func(ch *store.Chunk) error {
		if ch.Seq == c.Seq {
			return nil
		}
		if ch.Start.After(bound) {
			v = dead
			return errEnough
		}
		ok, err := rrweb.Answers(ch.Data, c.Time.UnixMilli(), bound.UnixMilli())
		if err != nil {
			// a stored chunk that does not parse answers nothing; failing
			// here would hold every candidate, and the session, forever
			s.log.Warn("a later chunk of a click does not parse; read as answering nothing",
				zap.String("session.id", c.SessionID), zap.String("window", ch.WindowID), zap.Uint64("seq", ch.Seq), zap.Error(err))
		}
		switch {
		case ok:
			v = alive
			return errEnough
		case ch.End.After(bound):
			v = dead
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return waiting, fmt.Errorf("later chunks of a click: %w", err)
	}
	if v == waiting && now.Sub(c.ReceivedAt) >= s.cfg.IdleTimeout {
		v = dead // the tab sent nothing that answers it, and nothing more
	}
	return v, nil
}
