package retention_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/seed/sessionreplay/collector-receiver/internal/retention"
	"github.com/seed/sessionreplay/pkg/store"
)

// TestSweepClicksJudgesFromStoredRequestsAndLaterChunks: candidates as two
// replicas' ingest leaves them, judged by a sweeper that saw none of it:
// a click a request answered is alive; a closed click nothing answered is
// dead; an open click is alive when the tab's next chunk answers it, dead
// when the next chunk covers its bound without an answer, and waits while
// no later chunk came, until the tab has been silent for the idle timeout.
// Judging twice writes nothing new; the dead clicks are markers and count
// once in the summary.
func TestSweepClicksJudgesFromStoredRequestsAndLaterChunks(t *testing.T) {
	ctx := context.Background()
	wd := newWorld(t)
	// a minute of idle timeout: the clicks settle (ClickSettle) before it ends
	sw := retention.New(retention.Config{IdleTimeout: time.Minute, QueryTimeout: 10 * time.Second}, wd.r, wd.rs, wd.w.Write,
		wd.w.CopyToRetained, nil, zap.NewNop())
	now := time.Now().Truncate(time.Millisecond).UTC()
	t0 := now.Add(-time.Minute)
	received := now.Add(-10 * time.Second) // settled
	ms := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	cand := func(id uint64, at time.Duration, seq uint64, open bool, recv time.Time) store.ClickCandidate {
		return store.ClickCandidate{SessionID: "s1", ID: id, WindowID: "w", Seq: seq, Time: t0.Add(at), Open: open,
			Name: fmt.Sprintf("button#b%d", id), Detail: "{}", ReceivedAt: recv}
	}
	chunk := func(seq uint64, from, to time.Duration, events ...string) store.Chunk {
		return store.Chunk{SessionID: "s1", WindowID: "w", Seq: seq, Start: t0.Add(from), End: t0.Add(to), EventCount: uint32(len(events)),
			ServiceName: "shop", Data: []byte("[" + strings.Join(events, ",") + "]")}
	}
	move := func(d time.Duration) string {
		return fmt.Sprintf(`{"type":3,"data":{"source":1,"positions":[]},"timestamp":%d}`, ms(d))
	}
	mutation := func(d time.Duration) string {
		return fmt.Sprintf(`{"type":3,"data":{"source":0,"texts":[],"attributes":[],"removes":[],"adds":[]},"timestamp":%d}`, ms(d))
	}
	b := &store.Batch{
		Candidates: []store.ClickCandidate{
			cand(1, 1*time.Second, 0, false, received),         // a request answers it
			cand(2, 3*time.Second, 0, false, received),         // dead
			cand(3, 9500*time.Millisecond, 0, true, received),  // chunk 1 answers it at 10.2 s
			cand(4, 19500*time.Millisecond, 1, true, received), // chunk 2 covers it without an answer
			cand(5, 29800*time.Millisecond, 2, true, received), // no later chunk yet
			// another tab, whose next stored chunk does not parse: it answers
			// nothing, and the sweep goes on
			{SessionID: "s1", ID: 6, WindowID: "w2", Seq: 0, Time: t0.Add(40 * time.Second), Open: true, Name: "button#b6", Detail: "{}", ReceivedAt: received},
		},
		Buffered: []store.Chunk{
			chunk(1, 10*time.Second, 19800*time.Millisecond, move(10*time.Second), mutation(10200*time.Millisecond), move(19800*time.Millisecond)),
			chunk(2, 20*time.Second, 30*time.Second, move(20*time.Second), mutation(20600*time.Millisecond), move(30*time.Second)),
			{SessionID: "s1", WindowID: "w2", Seq: 1, Start: t0.Add(40500 * time.Millisecond), End: t0.Add(42 * time.Second), EventCount: 1,
				ServiceName: "shop", Data: []byte(`[{"type":3,"data":`)},
		},
		Events: []store.Event{{SessionID: "s1", Time: t0.Add(1500 * time.Millisecond), Kind: store.KindRequest, Name: "POST /api", ID: 99}},
	}
	if err := wd.w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	deadNames := func() []string {
		ms, err := wd.r.Markers(ctx, store.MarkersQuery{TimeRange: store.TimeRange{From: t0.Add(-time.Hour), To: now.Add(time.Hour)}, SessionID: "s1", Kinds: []string{store.KindDeadClick}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}

	if n, err := sw.SweepClicks(ctx, now); err != nil || n != 5 {
		t.Fatalf("first sweep judged %d (%v), want 5: click 5 waits for a later chunk", n, err)
	}
	if got := strings.Join(deadNames(), " "); got != "button#b2 button#b4 button#b6" {
		t.Fatalf("dead clicks %q, want button#b2 button#b4 button#b6", got)
	}
	if n, err := sw.SweepClicks(ctx, now); err != nil || n != 0 {
		t.Fatalf("second sweep judged %d (%v), want 0", n, err)
	}
	// the tab stays silent: click 5 is dead once the idle timeout passed
	// since its chunk arrived
	if n, err := sw.SweepClicks(ctx, received.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("idle sweep judged %d (%v), want 1", n, err)
	}
	if got := strings.Join(deadNames(), " "); got != "button#b2 button#b4 button#b5 button#b6" {
		t.Fatalf("dead clicks %q", got)
	}
	facts, err := wd.r.SessionFactsOf(ctx, []string{"s1"})
	if err != nil || facts["s1"] == nil || facts["s1"].DeadClicks != 4 {
		t.Fatalf("facts %+v (%v), want 4 dead clicks", facts["s1"], err)
	}
	if !facts["s1"].LastReceived.Equal(received) {
		t.Errorf("the judged rows moved the session's last activity to %v (received %v)", facts["s1"].LastReceived, received)
	}
}
