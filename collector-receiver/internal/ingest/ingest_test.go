package ingest

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/seed/sessionreplay/collector-receiver/internal/metadata"
	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/retention"
	"github.com/seed/sessionreplay/collector-receiver/internal/rules"
	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/store"
)

func TestMain(m *testing.M) { os.Exit(chembedtest.Main(m)) }

// stack is an Ingester on its real neighbours: the retention engine and a
// writer on the embedded ClickHouse. fail, when set, refuses writes.
type stack struct {
	g      *Ingester
	reader *store.Reader
	count  func(q string, args ...any) uint64
	fail   error
}

func newStack(t *testing.T, rs []rules.Rule) *stack {
	t.Helper()
	conn, db := chembedtest.NewMigratedDatabase(t)
	set, err := rules.Compile(rs, componenttest.NewNopTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	m, err := privacy.New(privacy.Config{MaskInputs: true})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	w, r := store.NewWriter(conn, db), store.NewReader(conn, db)
	s := &stack{reader: r}
	s.count = func(q string, args ...any) uint64 {
		var n uint64
		if err := conn.QueryRow(context.Background(), strings.ReplaceAll(q, "DB.", db+"."), args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	write := func(ctx context.Context, b *store.Batch) error {
		if s.fail != nil {
			return s.fail
		}
		return w.Write(ctx, b)
	}
	e := retention.NewEngine(retention.EngineConfig{Sweep: retention.Config{IdleTimeout: time.Hour, PendingTTL: time.Hour, QueryTimeout: 10 * time.Second},
		DecisionCacheTTL: time.Minute, MaxNegative: 1000, CopyAgainAfter: time.Second},
		retention.Deps{Store: r, Rules: set, Write: write, Copy: w.CopyToRetained, Logger: zap.NewNop()})
	s.g = New(Config{MaxChunkBytes: 1 << 20, MaxChunkEvents: 1000, MaxClockSkew: time.Hour, MaxSessions: 100, IdleTimeout: time.Hour, IdleInterval: time.Hour},
		Deps{Masker: m, Rules: set, Decisions: e, Write: func(ctx context.Context, b *store.Batch, _ int) error { return write(ctx, b) },
			AdmitSessions: func(map[string]int) error { return nil }, Telemetry: tb})
	e.Start()
	s.g.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.g.Stop()
		e.Stop(ctx)
	})
	return s
}

func span(td ptrace.Traces, session string, trace byte, id byte, failed bool) {
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("GET /api/cart")
	sp.SetTraceID(pcommon.TraceID([16]byte{trace}))
	sp.SetSpanID(pcommon.SpanID([8]byte{id}))
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	if session != "" {
		sp.Attributes().PutStr("session.id", session)
	}
	if failed {
		sp.Status().SetCode(ptrace.StatusCodeError)
	}
}

// A backend error span without session.id retains the session of its trace
// at once when a span of the session linked the trace on this replica, and
// waits as a pending match (no decision yet) when nothing linked it; a
// request whose write fails returns the write's error unchanged and gives
// its claims back, so its retry decides again.
func TestSpanRuleMatchesThroughTheTraceOrWaitAndRetriesDecideAgain(t *testing.T) {
	ctx := context.Background()
	s := newStack(t, []rules.Rule{{Name: "backend-errors", Span: `status.code == STATUS_CODE_ERROR`}})

	td := ptrace.NewTraces()
	span(td, "checkout", 1, 1, false) // the page's fetch span links trace 1
	span(td, "", 1, 2, true)          // the backend's failing span of trace 1
	span(td, "", 2, 3, true)          // a failing span of a trace no page linked
	if err := s.g.ConsumeTraces(ctx, td); err != nil {
		t.Fatal(err)
	}
	if d, err := s.reader.Decisions(ctx, "checkout"); err != nil || len(d) != 1 || d[0].Rule != "backend-errors" || d[0].TraceID != pcommon.TraceID([16]byte{1}).String() {
		t.Errorf("decisions of the linked session: %+v (%v)", d, err)
	}
	if n := s.count("SELECT count() FROM DB.pending_matches WHERE trace_id = $1", pcommon.TraceID([16]byte{2}).String()); n != 1 {
		t.Errorf("%d pending matches for the unlinked trace, want 1", n)
	}
	if n := s.count("SELECT count() FROM DB.retained_sessions"); n != 1 {
		t.Errorf("%d decisions, want 1", n)
	}

	down := errors.New("clickhouse down")
	s.fail = down
	retry := ptrace.NewTraces()
	span(retry, "cart", 3, 4, true)
	if err := s.g.ConsumeTraces(ctx, retry); !errors.Is(err, down) {
		t.Fatalf("failed write answered %v, want the write's error", err)
	}
	s.fail = nil
	if err := s.g.ConsumeTraces(ctx, retry); err != nil {
		t.Fatal(err)
	}
	if d, err := s.reader.Decisions(ctx, "cart"); err != nil || len(d) != 1 {
		t.Errorf("the retried request's decisions: %+v (%v), want 1", d, err)
	}
}

// A logs request: its replay chunk is stored masked (typed text, card
// number) with its summary, straight into the retained table when a sample
// rule retains the new session; a malformed chunk next to it is rejected
// alone with a message; a custom event becomes a marker; what is passed on
// holds the custom event and not the replay records.
func TestLogsRequestStoresMaskedChunksAndPassesOnTheRest(t *testing.T) {
	ctx := context.Background()
	all := 1.0
	s := newStack(t, []rules.Rule{{Name: "everyone", Sample: &all}})
	events := `[{"type":4,"timestamp":` + strconv.FormatInt(time.Now().Add(-time.Minute).UnixMilli(), 10) + `,"data":{"href":"https://shop.example/pay"}},` +
		`{"type":3,"timestamp":` + strconv.FormatInt(time.Now().Add(-time.Minute+time.Second).UnixMilli(), 10) + `,"data":{"source":5,"text":"4111 1111 1111 1111","isChecked":false,"id":2}}]`
	ld := chunkRequest(t, events, true)
	bad := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).CopyTo(bad)
	bad.Attributes().PutInt("session_replay.seq", 4)
	bad.Attributes().PutStr("session_replay.encoding", "json")
	bad.Body().SetStr("not json")
	custom := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
	custom.SetEventName("add_to_cart")
	custom.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	custom.Attributes().PutStr("session.id", "s1")
	custom.Body().SetStr(`{"sku":"42"}`)

	res, err := s.g.ConsumeLogs(ctx, ld, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected != 1 || !strings.Contains(res.Message, "seq 4") {
		t.Errorf("rejected %d: %q, want the malformed chunk alone", res.Rejected, res.Message)
	}
	if n := res.Forward.LogRecordCount(); n != 1 || res.Forward.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).EventName() != "add_to_cart" {
		t.Errorf("%d records passed on, want the custom event only", n)
	}
	if n := s.count("SELECT count() FROM DB.replay_chunks WHERE session_id = 's1' AND seq = 3 AND position(data, '4111') = 0 AND position(data, '******') > 0"); n != 1 {
		t.Errorf("%d masked chunks in the retained table, want 1", n)
	}
	if n := s.count("SELECT count() FROM DB.replay_chunks_buffer WHERE session_id = 's1'"); n != 0 {
		t.Errorf("%d chunks of a retained session in the buffer", n)
	}
	if n := s.count("SELECT count() FROM DB.session_events WHERE session_id = 's1' AND kind = 'custom' AND name = 'add_to_cart'"); n != 1 {
		t.Errorf("%d custom markers, want 1", n)
	}
	sum, ok, err := s.reader.Session(ctx, "s1")
	if err != nil || !ok || sum.Chunks != 1 || sum.Browser != "Chrome" || sum.EntryURL != "https://shop.example/pay" {
		t.Errorf("summary %+v (%v %v): want 1 chunk, Chrome from the request's User-Agent, the entry URL", sum, ok, err)
	}
	if d, err := s.reader.Decisions(ctx, "s1"); err != nil || len(d) != 1 || d[0].Rule != "everyone" {
		t.Errorf("decisions %+v (%v)", d, err)
	}
}

// The clicks a chunk leaves unanswered are stored with its rows as
// dead-click candidates, named by their target: one the chunk shows
// unanswered to the end of its bound (closed), one whose bound reaches past
// the chunk's last event (open: the tab's next chunk, on any replica, may
// answer it). A click the page answered is not a candidate.
func TestUnansweredClicksAreStoredAsCandidatesWithTheirChunk(t *testing.T) {
	ctx := context.Background()
	s := newStack(t, nil)
	t0 := time.Now().Add(-time.Minute).UnixMilli()
	at := func(d int64) string { return strconv.FormatInt(t0+d, 10) }
	click := func(d int64, id string) string {
		return `{"type":3,"timestamp":` + at(d) + `,"data":{"source":2,"type":2,"id":` + id + `,"x":1,"y":1}}`
	}
	move := func(d int64) string {
		return `{"type":3,"timestamp":` + at(d) + `,"data":{"source":1,"positions":[{"x":1,"y":1,"id":3,"timeOffset":0}]}}`
	}
	events := `[{"type":4,"timestamp":` + at(0) + `,"data":{"href":"https://shop.example/"}},` +
		`{"type":2,"timestamp":` + at(1) + `,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"html","attributes":{},"childNodes":[{"type":2,"id":3,"tagName":"body","attributes":{},"childNodes":[` +
		`{"type":2,"id":10,"tagName":"button","attributes":{"id":"pay"},"childNodes":[{"type":3,"id":11,"textContent":"Pay"}]},` +
		`{"type":2,"id":12,"tagName":"span","attributes":{"class":"coupon"},"childNodes":[{"type":3,"id":13,"textContent":"Coupon"}]}]}]}]},"initialOffset":{"left":0,"top":0}}},` +
		click(1000, "10") + `,{"type":3,"timestamp":` + at(1100) + `,"data":{"source":0,"texts":[{"id":11,"value":"Paid"}],"attributes":[],"removes":[],"adds":[]}},` +
		click(2000, "12") + "," + move(3500) + "," + click(4000, "13") + `]`
	if _, err := s.g.ConsumeLogs(ctx, chunkRequest(t, events, false), ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		open uint8
		want uint64
	}{{0, 1}, {1, 1}} {
		if n := s.count(`SELECT count() FROM DB.click_candidates WHERE session_id = 's1' AND seq = 3 AND open = $1 AND name = 'span.coupon "Coupon"'`, c.open); n != c.want {
			t.Errorf("%d candidates with open = %d named after the coupon, want %d", n, c.open, c.want)
		}
	}
	if n := s.count(`SELECT count() FROM DB.click_candidates WHERE session_id = 's1'`); n != 2 {
		t.Errorf("%d candidates, want 2 (the answered pay click is none)", n)
	}
}

// A sampled session whose first request fails to store is sampled again by
// the retry: sampling depends on the session id alone, never on whether
// this replica has seen the session before.
func TestSampledSessionIsRetainedWhenItsFirstRequestFailed(t *testing.T) {
	ctx := context.Background()
	all := 1.0
	s := newStack(t, []rules.Rule{{Name: "everyone", Sample: &all}})
	td := ptrace.NewTraces()
	span(td, "sampled", 5, 1, false)
	down := errors.New("clickhouse down")
	s.fail = down
	if err := s.g.ConsumeTraces(ctx, td); !errors.Is(err, down) {
		t.Fatalf("failed write answered %v, want the write's error", err)
	}
	s.fail = nil
	if err := s.g.ConsumeTraces(ctx, td); err != nil {
		t.Fatal(err)
	}
	if d, err := s.reader.Decisions(ctx, "sampled"); err != nil || len(d) != 1 || d[0].Rule != "everyone" {
		t.Errorf("decisions after the retry: %+v (%v), want the sample rule's", d, err)
	}
}
