package retention_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/seed/sessionreplay/collector-receiver/internal/retention"
	"github.com/seed/sessionreplay/pkg/store"
)

func (wd *world) engine(t *testing.T, cacheTTL time.Duration, counted *sync.Map) *retention.Engine {
	e := retention.NewEngine(retention.EngineConfig{
		Sweep:            retention.Config{IdleTimeout: time.Hour, PendingTTL: time.Hour, QueryTimeout: 10 * time.Second},
		DecisionCacheTTL: cacheTTL, MaxNegative: 1000, CopyAgainAfter: 200 * time.Millisecond,
	}, retention.Deps{Store: wd.r, Rules: wd.rs, Write: wd.w.Write, Copy: wd.w.CopyToRetained,
		Retained: func(rule string) {
			n, _ := counted.LoadOrStore(rule, new(int))
			*n.(*int)++
		}, Logger: zap.NewNop()})
	e.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Stop(ctx)
	})
	return e
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEngineLearnsOtherReplicasDecisionsAndCopiesTheirSessions: a session
// another replica retained (its decision only in ClickHouse) is answered
// retained and its buffered chunks are copied, including one buffered just
// after (the second copy); a "not retained" answer is believed for
// the decision cache TTL only, so a later decision of another replica is
// seen once it runs out.
func TestEngineLearnsOtherReplicasDecisionsAndCopiesTheirSessions(t *testing.T) {
	ctx := context.Background()
	wd := newWorld(t)
	const cacheTTL = 2 * time.Second
	e := wd.engine(t, cacheTTL, &sync.Map{})
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	chunk := func(sid string, seq uint64) store.Chunk {
		return store.Chunk{SessionID: sid, WindowID: "w", Seq: seq, Start: t0, End: t0, Data: []byte("[]")}
	}
	if err := wd.w.Write(ctx, &store.Batch{Buffered: []store.Chunk{chunk("kept", 0), chunk("kept", 1), chunk("later", 0)},
		Decisions: []store.Decision{{SessionID: "kept", Rule: "elsewhere", TriggerTime: t0}}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.Decided(ctx, []string{"kept", "later"})
	if err != nil || !got["kept"] || got["later"] {
		t.Fatalf("decided %v (%v), want kept retained and later not", got, err)
	}
	// Right after: a chunk of the retained session lands in the buffer (the
	// engine's second copy catches it if the first ran before), and another
	// replica retains the other session.
	if err := wd.w.Write(ctx, &store.Batch{Buffered: []store.Chunk{chunk("kept", 2)},
		Decisions: []store.Decision{{SessionID: "later", Rule: "elsewhere", TriggerTime: t0}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.Decided(ctx, []string{"later"}); err != nil || got["later"] {
		t.Errorf("within the cache TTL: decided %v (%v), want the cached not retained", got, err)
	}
	time.Sleep(cacheTTL + 100*time.Millisecond)
	if got, err := e.Decided(ctx, []string{"later"}); err != nil || !got["later"] {
		t.Errorf("after the cache TTL: decided %v (%v), want retained", got, err)
	}
	eventually(t, "the retained session's three buffered chunks copied", func() bool {
		return wd.count("SELECT uniqExact(window_id, seq) FROM %s.replay_chunks WHERE session_id = 'kept'") == 3
	})
	eventually(t, "the later session's chunk copied", func() bool {
		return wd.count("SELECT uniqExact(window_id, seq) FROM %s.replay_chunks WHERE session_id = 'later'") == 1
	})
}

// TestEngineClaimsOnceUntilGivenBack: a rule's decision is claimed by one
// request only, a claimed session is retained without asking ClickHouse, a
// claim given back (its rows not stored) can be made again, and a committed
// decision is counted and copies the session.
func TestEngineClaimsOnceUntilGivenBack(t *testing.T) {
	ctx := context.Background()
	wd := newWorld(t)
	counted := &sync.Map{}
	e := wd.engine(t, time.Minute, counted)
	if !e.Claim("s", "errors") || e.Claim("s", "errors") {
		t.Fatal("a decision claimed twice, or not at all")
	}
	if !e.Claim("s", "sampled") {
		t.Error("a second rule of the same session not claimed")
	}
	if got, err := e.Decided(ctx, []string{"s"}); err != nil || !got["s"] {
		t.Errorf("claimed session decided %v (%v)", got, err)
	}
	e.Unclaim("s", "errors")
	e.Unclaim("s", "sampled")
	if !e.Claim("s", "errors") {
		t.Error("a claim given back cannot be made again")
	}
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	if err := wd.w.Write(ctx, &store.Batch{Buffered: []store.Chunk{{SessionID: "s", WindowID: "w", Start: t0, End: t0, Data: []byte("[]")}}}); err != nil {
		t.Fatal(err)
	}
	e.Committed([]store.Decision{{SessionID: "s", Rule: "errors", TriggerTime: t0}})
	eventually(t, "the committed session's chunk copied", func() bool {
		return wd.count("SELECT uniqExact(window_id, seq) FROM %s.replay_chunks WHERE session_id = 's'") == 1
	})
	if n, ok := counted.Load("errors"); !ok || *n.(*int) != 1 {
		t.Errorf("committed decision counted %v times, want 1", n)
	}
	e.LinkTrace("trace-1", "s")
	if got := e.SessionOfTrace("trace-1"); got != "s" {
		t.Errorf("trace-1 links to %q", got)
	}
}
