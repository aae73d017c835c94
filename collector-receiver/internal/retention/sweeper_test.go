package retention_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap"

	"github.com/seed/sessionreplay/collector-receiver/internal/retention"
	"github.com/seed/sessionreplay/collector-receiver/internal/rules"
	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/store"
)

func TestMain(m *testing.M) { os.Exit(chembedtest.Main(m)) }

func ruleSet(t *testing.T) *rules.Set {
	t.Helper()
	rs, err := rules.Compile([]rules.Rule{
		{Name: "pricing-no-signup", Session: &rules.SessionRule{Visited: []string{"^/pricing"}, NotVisited: []string{"^/signup"}}},
		{Name: "many-errors", Session: &rules.SessionRule{MinErrors: 2}},
		{Name: "carted", Session: &rules.SessionRule{Events: []string{"add_to_cart"}}},
		{Name: "long", Session: &rules.SessionRule{MinDuration: time.Minute}},
		{Name: "backend-errors", Span: `status.code == STATUS_CODE_ERROR`},
	}, componenttest.NewNopTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

type world struct {
	w     *store.Writer
	r     *store.Reader
	rs    *rules.Set
	db    string
	copy  sync.Map // session -> copies
	count func(q string) uint64
}

func (wd *world) sweeper() *retention.Sweeper {
	return retention.New(retention.Config{IdleTimeout: 300 * time.Millisecond, PendingTTL: time.Hour, QueryTimeout: 10 * time.Second},
		wd.r, wd.rs, wd.w.Write, func(ctx context.Context, s string) error {
			n, _ := wd.copy.LoadOrStore(s, new(int))
			*n.(*int)++
			return wd.w.CopyToRetained(ctx, s)
		}, nil, zap.NewNop())
}

func newWorld(t *testing.T) *world {
	conn, db := chembedtest.NewMigratedDatabase(t)
	wd := &world{w: store.NewWriter(conn, db), r: store.NewReader(conn, db), rs: ruleSet(t), db: db}
	wd.count = func(q string) uint64 {
		var n uint64
		if err := conn.QueryRow(context.Background(), fmt.Sprintf(q, db)).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	return wd
}

// TestTwoSweepersJudgeIdleSessionsOnceFromStoredData: two replicas' sweepers
// run at the same time, then again, over sessions whose inputs are only in
// ClickHouse (written by "another replica"): each matching session gets its
// rule once, the one non-matching session none, every decision row written
// is the same row (trigger time from the stored end, not the clock), and a
// session that sends again after its evaluation is judged again.
func TestTwoSweepersJudgeIdleSessionsOnceFromStoredData(t *testing.T) {
	ctx := context.Background()
	wd := newWorld(t)
	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond).UTC()
	sum := func(sid string, part uint64, at time.Duration, urls ...string) store.SessionSummary {
		return store.SessionSummary{SessionID: sid, PartID: part, Start: t0.Add(at), End: t0.Add(at + time.Second), Chunks: 1, URLs: urls}
	}
	rows := []store.SessionSummary{
		sum("pricing", 1, 0, "https://shop.example/pricing"),
		sum("converted", 1, 0, "https://shop.example/pricing"), sum("converted", 2, time.Second, "https://shop.example/signup/done"),
		sum("errors", 1, 0, "https://shop.example/"),
		{SessionID: "errors", PartID: 2, Start: t0, End: t0, Errors: 1}, {SessionID: "errors", PartID: 3, Start: t0, End: t0, Errors: 1},
		sum("cart", 1, 0, "https://shop.example/p/1"),
		sum("long", 1, 0, "https://shop.example/"), sum("long", 2, 2*time.Minute, "https://shop.example/"),
	}
	// the error rows retried: still two errors
	rows = append(rows, rows[4], rows[5])
	if err := wd.w.Write(ctx, &store.Batch{Sessions: rows,
		Buffered: []store.Chunk{{SessionID: "pricing", WindowID: "w", Seq: 0, Start: t0, End: t0, Data: []byte("[]")}},
		Events:   []store.Event{{SessionID: "cart", Time: t0, Kind: store.KindCustom, Name: "add_to_cart", ID: 1}}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	a, b := wd.sweeper(), wd.sweeper()
	var wg sync.WaitGroup
	judged := make([]int, 2)
	for i, s := range []*retention.Sweeper{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.SweepIdle(ctx, time.Now())
			if err != nil {
				t.Error(err)
			}
			judged[i] = n
		}()
	}
	wg.Wait()
	again, err := a.SweepIdle(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("judged by the two sweepers: %v, by a third sweep: %d", judged, again)
	if judged[0]+judged[1] < 5 || again != 0 {
		t.Errorf("judged %v then %d: want all 5 sessions judged, none twice after the evaluations are recorded", judged, again)
	}
	want := map[string]string{"pricing": "pricing-no-signup", "errors": "many-errors", "cart": "carted", "long": "long"}
	for sid, rule := range want {
		d, err := wd.r.Decisions(ctx, sid)
		if err != nil || len(d) != 1 || d[0].Rule != rule {
			t.Errorf("session %s: decisions %v (%v), want one %s", sid, d, err, rule)
		}
	}
	if d, _ := wd.r.Decisions(ctx, "converted"); len(d) != 0 {
		t.Errorf("converted session retained: %v", d)
	}
	if n := wd.count("SELECT uniqExact(session_id, rule, trigger_time, trace_id) FROM %s.retained_sessions"); n != 4 {
		t.Errorf("%d distinct decision rows, want 4: two sweepers wrote different rows for one decision", n)
	}
	if n := wd.count("SELECT uniqExact(window_id, seq) FROM %s.replay_chunks WHERE session_id = 'pricing'"); n != 1 {
		t.Errorf("retained session's buffered chunk not copied (%d)", n)
	}
	// The session sends again: judged again, still one decision.
	if err := wd.w.Write(ctx, &store.Batch{Sessions: []store.SessionSummary{sum("pricing", 9, 5*time.Second, "https://shop.example/pricing/2")}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if n, err := b.SweepIdle(ctx, time.Now()); err != nil || n != 1 {
		t.Errorf("session active again after its evaluation: judged %d (%v), want 1", n, err)
	}
	if n := wd.count("SELECT count() FROM %s.retained_sessions FINAL WHERE session_id = 'pricing'"); n != 1 {
		t.Errorf("pricing has %d decisions after a second evaluation, want 1", n)
	}
}

// TestPendingTraceMatchesResolveInEitherOrderAfterRestart: a backend error
// span's match is stored before its trace's session link arrives, another
// after; a fresh sweeper (a restarted or other replica, nothing in memory)
// resolves both; a match past pending_trace_ttl is not resolved; a second
// sweep writes nothing new.
func TestPendingTraceMatchesResolveInEitherOrderAfterRestart(t *testing.T) {
	ctx := context.Background()
	wd := newWorld(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	link := func(trace, sid string) store.TraceLink {
		return store.TraceLink{TraceID: trace, SessionID: sid, SpanID: "s", Time: now}
	}
	pending := func(trace string, created time.Time) store.PendingMatch {
		return store.PendingMatch{TraceID: trace, Rule: "backend-errors", TriggerTime: now.Add(-time.Second), CreatedAt: created}
	}
	// match first, link later
	if err := wd.w.Write(ctx, &store.Batch{Pending: []store.PendingMatch{pending("t-first", now), pending("t-expired", now.Add(-2*time.Hour))}}); err != nil {
		t.Fatal(err)
	}
	if n, err := wd.sweeper().SweepPending(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("resolved %d (%v) before any link", n, err)
	}
	// link first, match later
	if err := wd.w.Write(ctx, &store.Batch{Links: []store.TraceLink{link("t-first", "s1"), link("t-later", "s2"), link("t-expired", "s3")}}); err != nil {
		t.Fatal(err)
	}
	if err := wd.w.Write(ctx, &store.Batch{Pending: []store.PendingMatch{pending("t-later", now)}}); err != nil {
		t.Fatal(err)
	}
	restarted := wd.sweeper()
	if n, err := restarted.SweepPending(ctx, time.Now()); err != nil || n != 2 {
		t.Errorf("resolved %d (%v), want 2", n, err)
	}
	if n, err := restarted.SweepPending(ctx, time.Now()); err != nil || n != 0 {
		t.Errorf("second sweep resolved %d (%v), want 0", n, err)
	}
	for sid, trace := range map[string]string{"s1": "t-first", "s2": "t-later"} {
		d, err := wd.r.Decisions(ctx, sid)
		if err != nil || len(d) != 1 || d[0].Rule != "backend-errors" || d[0].TraceID != trace || !d[0].TriggerTime.Equal(now.Add(-time.Second)) {
			t.Errorf("session %s: decisions %+v (%v), want backend-errors from %s at the span's time", sid, d, err, trace)
		}
	}
	if d, _ := wd.r.Decisions(ctx, "s3"); len(d) != 0 {
		t.Errorf("a match past pending_trace_ttl retained its session: %v", d)
	}
	if n := wd.count("SELECT count() FROM %s.retained_sessions"); n != 2 {
		t.Errorf("%d decision rows written, want 2", n)
	}
}
