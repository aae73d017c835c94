package ingest

import (
	"testing"
	"time"

	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
	"github.com/seed/sessionreplay/pkg/store"
)

func click(ms int64, index int) rrweb.Marker {
	return rrweb.Marker{Time: ms, Kind: store.KindClick, Name: "span.coupon", Seq: 1, Index: index}
}

// A click the recording left unanswered waits deadClickSettle of wall-clock
// time for the session's requests: one starting within rrweb.DeadClickMs
// after it answers it; one before it, or later than the bound, does not.
func TestDeadClickCandidatesWaitForTheSessionsRequests(t *testing.T) {
	var s sessionSignals
	found := time.Now()
	const t0 = int64(1_700_000_000_000)
	answered, early, late := click(t0, 0), click(t0+10_000, 1), click(t0+20_000, 2)
	if dead := s.settle("w", []rrweb.Marker{answered, early, late}, found, false); len(dead) != 0 {
		t.Fatalf("dead before settling: %+v", dead)
	}
	s.request(t0 + 300)                            // answers the first
	s.request(t0 + 10_000 - 1)                     // before the second click
	s.request(t0 + 20_000 + rrweb.DeadClickMs + 1) // past the third's bound
	if dead := s.settle("w", nil, found.Add(deadClickSettle-time.Millisecond), false); len(dead) != 0 {
		t.Fatalf("dead before deadClickSettle: %+v", dead)
	}
	dead := s.settle("w", nil, found.Add(deadClickSettle), false)
	if len(dead) != 2 || dead[0].m.Index != 1 || dead[1].m.Index != 2 || dead[0].window != "w" {
		t.Fatalf("dead clicks %+v, want the second and third", dead)
	}
	if len(s.candidates) != 0 {
		t.Errorf("%d candidates left after settling", len(s.candidates))
	}
}

// When the session goes idle its candidates are judged at once, and the
// candidates and request times kept per session stay bounded.
func TestIdleSessionSettlesAllAndSignalStateIsBounded(t *testing.T) {
	var s sessionSignals
	now := time.Now()
	const t0 = int64(1_700_000_000_000)
	many := make([]rrweb.Marker, maxCandidates+10)
	for i := range many {
		many[i] = click(t0+int64(i)*10_000, i)
	}
	if dead := s.settle("w", many, now, false); len(dead) != 0 || len(s.candidates) != maxCandidates {
		t.Fatalf("%d dead, %d candidates: want 0 and %d", len(dead), len(s.candidates), maxCandidates)
	}
	for i := 0; i < maxRequests+5; i++ {
		s.request(t0 + int64(i)*10_000 + 100) // answers click i
	}
	if len(s.requests) != maxRequests {
		t.Errorf("%d request times kept, want %d", len(s.requests), maxRequests)
	}
	// the ring replaced the oldest five: those clicks are no longer answered
	dead := s.settle("", nil, now, true)
	if len(dead) != 5 || dead[0].m.Index != 0 || dead[4].m.Index != 4 {
		t.Errorf("settled at idle: %d dead (first %+v), want clicks 0-4", len(dead), dead)
	}
}

// The dead-click rows: a marker at the clamped click time with card numbers
// scrubbed from its name, and one summary row per marker keyed by it, so a
// resent chunk counts its dead click once.
func TestDeadClickRowsAreKeyedByTheirMarker(t *testing.T) {
	now := time.Now()
	m := click(now.Add(2*time.Hour).UnixMilli(), 3)
	m.Name = `button "4111 1111 1111 1111"`
	events := deadClickEvents("s", []deadCandidate{{m: m, window: "w"}}, func(ms int64) int64 { return clampMs(ms, now, time.Hour) })
	again := deadClickEvents("s", []deadCandidate{{m: m, window: "w"}}, func(ms int64) int64 { return clampMs(ms, now, time.Hour) })
	if len(events) != 1 || events[0].Kind != store.KindDeadClick || events[0].Time.UnixMilli() != now.UnixMilli() ||
		events[0].Name != `button "**** **** **** ****"` || events[0].ID != again[0].ID {
		t.Fatalf("dead click marker %+v", events)
	}
	sums := deadClickSummaries(events)
	if len(sums) != 1 || sums[0].DeadClicks != 1 || sums[0].PartID != deadClickSummaries(again)[0].PartID || !sums[0].Start.Equal(events[0].Time) {
		t.Errorf("dead click summary %+v", sums)
	}
}
