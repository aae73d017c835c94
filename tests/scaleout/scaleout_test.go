//go:build scaleout

// Package scaleout runs the receiver the way issue 15 says production does:
// several replicas behind a balancer with no stickiness, against a sharded
// ClickHouse cluster, one replica killed (SIGKILL) and restarted midway; and
// compares what is stored with a single-replica run of the same input.
//
//	go test -tags scaleout -count=1 -v ./tests/scaleout | grep RELIABILITY
package scaleout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/seed/sessionreplay/pkg/chembed"
	"github.com/seed/sessionreplay/pkg/childproc"
	"github.com/seed/sessionreplay/pkg/fixtures"
	"github.com/seed/sessionreplay/pkg/store"
	"github.com/seed/sessionreplay/tests/internal/stack"
)

const (
	clusterName = "replay"
	// idleTimeout must outlast the longest time a session's requests are
	// refused and retried (a replica killed, or a shard restarted: up to
	// about 5 s here), or a session rule is judged before the session's
	// retried chunks are stored, as it would be in production with an
	// idle_timeout shorter than the clients' retry window.
	idleTimeout = 7 * time.Second
	chunksPer   = 8
	stepGap     = 250 * time.Millisecond
)

// rulesYAML: one rule of every session kind the issue names, and a span rule
// on backend spans that carry no session.id (resolved through the trace).
const rulesYAML = `
      - name: backend-errors
        span: 'status.code == STATUS_CODE_ERROR and resource.attributes["service.name"] == "backend"'
      - name: pricing-no-signup
        session:
          visited: ['^/pricing']
          not_visited: ['^/signup']
      - name: carted
        session:
          events: [add_to_cart]
      - name: long
        session:
          min_duration: 80s
      - name: error-prone
        session:
          min_errors: 2
`

// TestScaleOutReplicasAgreeWithOneReplica is issue 15's "done when".
func TestScaleOutReplicasAgreeWithOneReplica(t *testing.T) {
	ctx := context.Background()
	root := stack.RepoRoot(t)
	bin := stack.GoBuild(t, root, "./collector-receiver/cmd/otelcol-sessionreplay")
	shards := startCluster(t)
	conn := shards[0].conn
	load := buildLoad(t)

	single := runLoad(t, bin, shards, "scale_single", 1, false, false, load)
	multi := runLoad(t, bin, shards, "scale_replicas", 3, true, false, load)
	// The same load through a collector's own otlp exporter (OTLP/gRPC).
	viaGRPC := runLoad(t, bin, shards, "scale_grpc", 1, false, true, load)

	// Decisions: exactly the expected ones, once each, equal to the single run.
	for _, run := range []*runResult{single, multi, viaGRPC} {
		got := map[string][]string{}
		for _, d := range run.decisions {
			got[d.SessionID] = append(got[d.SessionID], d.Rule)
		}
		for _, s := range load {
			want := s.rules
			if !reflect.DeepEqual(got[s.id], want) && !(len(want) == 0 && len(got[s.id]) == 0) {
				t.Errorf("%s: session %s (%s): decisions %v, want %v", run.db, s.id, s.kind, got[s.id], want)
			}
		}
	}
	if !reflect.DeepEqual(single.decisions, multi.decisions) {
		t.Errorf("decisions differ:\n single %v\n 3 replicas %v", single.decisions, multi.decisions)
	}
	if !reflect.DeepEqual(single.decisions, viaGRPC.decisions) {
		t.Errorf("decisions differ:\n single %v\n via OTLP/gRPC %v", single.decisions, viaGRPC.decisions)
	}
	// Summaries equal.
	summariesEqual := true
	for _, s := range load {
		a, b, g := summary(t, conn, single.db, s.id), summary(t, conn, multi.db, s.id), summary(t, conn, viaGRPC.db, s.id)
		if !reflect.DeepEqual(a, b) {
			summariesEqual = false
			t.Errorf("session %s: summary differs:\n single     %+v\n 3 replicas %+v", s.id, a, b)
		}
		if !reflect.DeepEqual(a, g) {
			t.Errorf("session %s: summary differs:\n single        %+v\n via OTLP/gRPC %+v", s.id, a, g)
		}
		if a.Chunks != s.wantChunks() {
			t.Errorf("session %s: %d chunks in its summary, want %d", s.id, a.Chunks, s.wantChunks())
		}
		if s.sent != nil {
			// the split event went through ClickHouse in every run
			for _, run := range []*runResult{single, multi, viaGRPC} {
				if n := count(t, conn, fmt.Sprintf("SELECT uniqExact(part) FROM %s.pending_parts WHERE session_id = '%s'", run.db, s.id)); n != 3 {
					t.Errorf("%s: %d parts of the split snapshot stored, want 3", run.db, n)
				}
			}
			one := replayedEvents(t, conn, single.db, s)
			for _, run := range []*runResult{multi, viaGRPC} {
				if other := replayedEvents(t, conn, run.db, s); !reflect.DeepEqual(one, other) {
					t.Errorf("session %s: %s replays other events than the single replica", s.id, run.db)
				}
			}
		}
	}
	t.Logf("RELIABILITY scenario=replica_kill replicas=3 shards=2 sessions=%d %s decisions=%d expected_decisions=%d equal_to_single=%v summaries_equal=%v kill_to_ready_ms=%d settle_ms=%d",
		len(load), multi.ledger.String(), len(multi.decisions), expectedDecisions(load), reflect.DeepEqual(single.decisions, multi.decisions),
		summariesEqual, multi.killToReady.Milliseconds(), multi.settle.Milliseconds())
	t.Logf("RELIABILITY scenario=otlp_grpc_exporter replicas=1 shards=2 sessions=%d %s decisions=%d equal_to_single=%v settle_ms=%d",
		len(load), viaGRPC.ledger.String(), len(viaGRPC.decisions), reflect.DeepEqual(single.decisions, viaGRPC.decisions), viaGRPC.settle.Milliseconds())
	t.Logf("RELIABILITY scenario=single_replica replicas=1 shards=2 sessions=%d %s decisions=%d settle_ms=%d",
		len(load), single.ledger.String(), len(single.decisions), single.settle.Milliseconds())
	_ = ctx
}

// ---- the load ----

// session is one recorded session: its requests in order and the rules it
// must be retained by (sorted).
type session struct {
	id, kind string
	steps    []step
	rules    []string
	// chunks is how many chunks the session stores (0: chunksPer); sent,
	// when set, are its rrweb events in order, which every run must replay.
	chunks int
	sent   []json.RawMessage
}

func (s *session) wantChunks() uint64 {
	if s.chunks > 0 {
		return uint64(s.chunks)
	}
	return chunksPer
}

type step struct {
	path  string // /v1/logs or /v1/traces
	body  []byte // OTLP protobuf
	chunk string // "window/seq" for chunk requests
}

func expectedDecisions(load []session) int {
	n := 0
	for _, s := range load {
		n += len(s.rules)
	}
	return n
}

// buildLoad makes 16 sessions from the real recording smartx-90s (two of
// each kind): the recording's events, shifted to ten minutes ago, cut into
// chunks; a meta event names the page where the kind needs one.
func buildLoad(t *testing.T) []session {
	var raw []map[string]any
	if err := json.Unmarshal(fixtures.Read(t, "rrweb", "smartx-90s.events.json"), &raw); err != nil {
		t.Fatal(err)
	}
	minTS := int64(0)
	for _, e := range raw {
		if ts := int64(e["timestamp"].(float64)); minTS == 0 || ts < minTS {
			minTS = ts
		}
	}
	base := time.Now().Add(-10 * time.Minute).UnixMilli()
	kinds := []struct {
		kind  string
		rules []string
	}{
		{"pricing", []string{"pricing-no-signup"}}, {"converted", nil}, {"cart", []string{"carted"}}, {"long", []string{"long"}},
		{"errors", []string{"error-prone"}}, {"backend-before", []string{"backend-errors"}}, {"backend-after", []string{"backend-errors"}},
		{"plain", nil},
	}
	var out []session
	n := 0
	for rep := 0; rep < 2; rep++ {
		for _, k := range kinds {
			n++
			s := session{id: fmt.Sprintf("scale-%s-%d", k.kind, rep), kind: k.kind, rules: k.rules}
			shift := base + int64(n)*1000 - minTS
			events := make([]json.RawMessage, 0, len(raw))
			for _, e := range raw {
				ts := int64(e["timestamp"].(float64)) + shift
				// all but the long sessions keep the recording's first 45 s
				if k.kind != "long" && ts-shift-minTS > 45_000 {
					continue
				}
				c := map[string]any{}
				for key, v := range e {
					c[key] = v
				}
				c["timestamp"] = ts
				b, _ := json.Marshal(c)
				events = append(events, b)
			}
			first := base + int64(n)*1000
			meta := func(path string, at int64) json.RawMessage {
				return json.RawMessage(fmt.Sprintf(`{"type":4,"data":{"href":"https://shop.example%s","width":1200,"height":800},"timestamp":%d}`, path, at))
			}
			per := (len(events) + chunksPer - 1) / chunksPer
			var chunks []step
			for i := 0; i < chunksPer; i++ {
				evs := append([]json.RawMessage(nil), events[min(i*per, len(events)):min((i+1)*per, len(events))]...)
				switch {
				case (k.kind == "pricing" || k.kind == "converted") && i == 1:
					evs = append([]json.RawMessage{meta("/pricing", first+1)}, evs...)
				case k.kind == "converted" && i == 6:
					evs = append(evs, meta("/signup/complete", first+40_000))
				}
				if len(evs) == 0 {
					evs = []json.RawMessage{meta("/", first+int64(i))}
				}
				chunks = append(chunks, chunkStep(t, s.id, i, evs))
			}
			trace := pcommon.TraceID([16]byte{byte(n), 0xab, byte(rep), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
			at := time.UnixMilli(first + 5_000)
			browser := spanStep("shop-web", s.id, trace, 1, ptrace.SpanKindClient, false, at)
			backend := spanStep("backend", "", trace, 2, ptrace.SpanKindServer, true, at.Add(10*time.Millisecond))
			var extra [][2]any // position, step
			switch k.kind {
			case "cart":
				extra = append(extra, [2]any{3, logStep(s.id, "add_to_cart", at, false)})
			case "errors":
				extra = append(extra, [2]any{2, logStep(s.id, "exception", at, true)}, [2]any{5, logStep(s.id, "exception", at.Add(time.Second), true)})
			case "backend-before":
				extra = append(extra, [2]any{1, backend}, [2]any{5, browser})
			case "backend-after":
				extra = append(extra, [2]any{1, browser}, [2]any{5, backend})
			default:
				extra = append(extra, [2]any{4, browser})
			}
			for i, c := range chunks {
				for _, e := range extra {
					if e[0].(int) == i {
						s.steps = append(s.steps, e[1].(step))
					}
				}
				s.steps = append(s.steps, c)
			}
			out = append(out, s)
		}
	}
	return append(out, hyperdxSplitSession(t, raw, base+int64(n+1)*1000-minTS))
}

// hyperdxSplitSession is the recording's first 45 s as @hyperdx/browser
// 0.26 sends it: one rrweb event per record (rr-web.event from 1, the
// record stamped with the event's time), the page's recorder named by
// rum.scriptInstance. Its full snapshot (930 KB) is split in 3 parts, as the
// SDK splits an event over 950 KiB, and the exports are cut inside them:
// the meta event and part 1, part 2 alone, then part 3 and the rest in the
// other sessions' chunks. Round robin sends the parts to different replicas
// (one of them is killed meanwhile): the event is joined through ClickHouse.
func hyperdxSplitSession(t *testing.T, raw []map[string]any, shift int64) session {
	const id = "scale-hyperdx-split"
	s := session{id: id, kind: "hyperdx-split"}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "hyperdx-web")
	ra.PutStr("rum.sessionId", id)
	ra.PutStr("rum.scriptInstance", "5ca1e0u7d3adb33f")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("rum.rr-web")
	var cuts []int // records after which an export ends
	minTS := int64(raw[0]["timestamp"].(float64))
	for _, e := range raw {
		minTS = min(minTS, int64(e["timestamp"].(float64)))
	}
	idx := 0
	for _, e := range raw {
		ts := int64(e["timestamp"].(float64))
		if ts-minTS > 45_000 {
			continue
		}
		c := map[string]any{}
		for key, v := range e {
			c[key] = v
		}
		c["timestamp"] = ts + shift
		body, _ := json.Marshal(c)
		s.sent = append(s.sent, body)
		idx++
		parts := []string{string(body)}
		if c["type"] == float64(2) && len(cuts) == 0 {
			n := (len(body) + 2) / 3
			parts = []string{string(body[:n]), string(body[n : 2*n]), string(body[2*n:])}
		}
		for p, piece := range parts {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.Timestamp((ts + shift) * 1e6))
			lr.Body().SetStr(piece)
			lr.Attributes().PutDouble("rr-web.event", float64(idx))
			lr.Attributes().PutDouble("rr-web.chunk", float64(p+1))
			lr.Attributes().PutDouble("rr-web.total-chunks", float64(len(parts)))
			if len(parts) > 1 && p < 2 {
				cuts = append(cuts, sl.LogRecords().Len())
			}
		}
	}
	if len(cuts) != 2 || cuts[0] < 2 {
		t.Fatalf("the recording's full snapshot is not its second event or later (cuts %v)", cuts)
	}
	// the other exports end where the other sessions' chunks do (after
	// every per-th event; the snapshot's 3 records count as one event)
	per := (len(s.sent) + chunksPer - 1) / chunksPer
	for i := 1; i <= chunksPer; i++ {
		if end := min(i*per, len(s.sent)) + 2; end > cuts[1] {
			cuts = append(cuts, end)
		}
	}
	from := 0
	for _, to := range cuts {
		exp := plog.NewLogs()
		erl := exp.ResourceLogs().AppendEmpty()
		rl.Resource().CopyTo(erl.Resource())
		esl := erl.ScopeLogs().AppendEmpty()
		sl.Scope().CopyTo(esl.Scope())
		for k := from; k < to; k++ {
			sl.LogRecords().At(k).CopyTo(esl.LogRecords().AppendEmpty())
		}
		body, err := plogotlp.NewExportRequestFromLogs(exp).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		s.steps = append(s.steps, step{path: "/v1/logs", body: body})
		from = to
	}
	// a chunk per export but part 2's (it holds no whole event), and the
	// snapshot's own chunk
	s.chunks = len(s.steps)
	return s
}

// replayedEvents are the session's stored events in replay order, each
// reduced to its type and time (the server masks input values in the
// snapshot), checked against what was sent; the full events are returned
// for comparing runs.
func replayedEvents(t *testing.T, conn driver.Conn, db string, s session) []string {
	chunks, err := store.NewReader(conn, db).Chunks(context.Background(), s.id)
	if err != nil {
		t.Fatal(err)
	}
	type head struct {
		Type      int   `json:"type"`
		Timestamp int64 `json:"timestamp"`
	}
	var got []string
	var heads []head
	for _, c := range chunks {
		var evs []json.RawMessage
		if err := json.Unmarshal(c.Data, &evs); err != nil {
			t.Fatalf("%s: chunk %s/%d: %v", db, c.WindowID, c.Seq, err)
		}
		for _, e := range evs {
			var h head
			_ = json.Unmarshal(e, &h)
			heads = append(heads, h)
			got = append(got, string(e))
		}
	}
	var want []head
	for _, e := range s.sent {
		var h head
		_ = json.Unmarshal(e, &h)
		want = append(want, h)
	}
	if !reflect.DeepEqual(heads, want) {
		t.Errorf("%s: session %s replays %d events, sent %d (or in another order)", db, s.id, len(heads), len(want))
	}
	return got
}

func chunkStep(t *testing.T, sid string, seq int, events []json.RawMessage) step {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop-web")
	rl.Resource().Attributes().PutStr("user_agent.original", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("session_replay.chunk")
	a := lr.Attributes()
	a.PutStr("session.id", sid)
	a.PutStr("session_replay.window_id", "w1")
	a.PutInt("session_replay.seq", int64(seq))
	a.PutInt("session_replay.event_count", int64(len(events)))
	a.PutStr("session_replay.encoding", "json")
	data, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	lr.Body().SetStr(string(data))
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return step{path: "/v1/logs", body: body, chunk: fmt.Sprintf("w1/%d", seq)}
}

func logStep(sid, name string, at time.Time, exception bool) step {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop-web")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(name)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
	lr.Attributes().PutStr("session.id", sid)
	if exception {
		lr.Attributes().PutStr("exception.type", "TypeError")
		lr.Attributes().PutStr("exception.message", "x is undefined at "+at.String())
	} else {
		lr.Body().SetStr(`{"sku":"A1"}`)
	}
	body, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	return step{path: "/v1/logs", body: body}
}

func spanStep(service, sid string, trace pcommon.TraceID, span byte, kind ptrace.SpanKind, isErr bool, at time.Time) step {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(trace)
	sp.SetSpanID(pcommon.SpanID([8]byte{span, trace[0], trace[2], 1, 1, 1, 1, 1}))
	sp.SetName("POST /api/checkout")
	sp.SetKind(kind)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(30 * time.Millisecond)))
	if sid != "" {
		sp.Attributes().PutStr("session.id", sid)
		sp.Attributes().PutStr("url.full", "https://shop.example/api/checkout")
	}
	if isErr {
		sp.Status().SetCode(ptrace.StatusCodeError)
	}
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	return step{path: "/v1/traces", body: body}
}

// ---- the cluster ----

type shard struct {
	mu   sync.Mutex
	srv  *chembed.Server // replaced when the shard is started again
	addr string          // the shard's native address, the same across restarts
	conn driver.Conn
}

// startCluster runs two embedded ClickHouse servers as the two shards of
// cluster "replay" (no Keeper: the schema goes to each shard).
func startCluster(t *testing.T) []*shard {
	ctx := context.Background()
	ports := make([][2]int, 2)
	for i := range ports {
		ports[i] = [2]int{freePort(t), freePort(t)}
	}
	config := filepath.Join(t.TempDir(), "cluster.xml")
	xml := "<clickhouse><remote_servers><" + clusterName + ">"
	for _, p := range ports {
		xml += fmt.Sprintf("<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>", p[0])
	}
	xml += "</" + clusterName + "></remote_servers></clickhouse>"
	if err := os.WriteFile(config, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	var out []*shard
	var closing atomic.Bool
	for i, p := range ports {
		cfg := chembed.Config{DataDir: t.TempDir(), TCPPort: p[0], HTTPPort: p[1], ConfigFile: config}
		srv, err := chembed.Start(ctx, cfg)
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		sh := &shard{srv: srv, addr: srv.TCPAddr()}
		t.Cleanup(func() {
			sh.mu.Lock()
			defer sh.mu.Unlock()
			_ = sh.srv.Stop()
		})
		// The embedded ClickHouse (chdb) has been seen to abort on its own
		// (SIGABRT, no output) while a client connects under load, about
		// once in five runs. A real shard's supervisor starts it again on its
		// data; so does this one, and the test goes on: what was acknowledged
		// must still be there. Each such restart is printed.
		go func() {
			for {
				sh.mu.Lock()
				cur := sh.srv
				sh.mu.Unlock()
				<-cur.Done()
				if closing.Load() {
					return
				}
				fmt.Printf("scaleout: ClickHouse shard %d (pid %d) exited at %s: %s; starting it again\n", i, cur.PID(), time.Now().Format(time.StampMilli), cur.ExitReport())
				again, err := chembed.Start(ctx, cfg)
				if err != nil {
					fmt.Printf("scaleout: shard %d did not start again: %v\n", i, err)
					return
				}
				sh.mu.Lock()
				sh.srv = again
				sh.mu.Unlock()
			}
		}()
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{sh.addr}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		sh.conn = conn
		out = append(out, sh)
	}
	t.Cleanup(func() { closing.Store(true) }) // runs before the shards stop
	return out
}

func freePort(t *testing.T) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(stack.FreeAddr(t))
	var n int
	fmt.Sscan(p, &n)
	return n
}

// ---- the replicas and the balancer ----

type replica struct {
	t       *testing.T
	bin     string
	config  string
	addr    string
	logFile string
	mu      sync.Mutex
	cmd     *exec.Cmd
}

// start runs the collector until it listens. A collector whose receiver
// could not reach ClickHouse at start exits (as the Collector does when a
// component fails to start); it is started again, as its supervisor would.
func (r *replica) start() {
	r.t.Helper()
	for attempt := 1; ; attempt++ {
		exited := r.launch()
		if r.waitListening(exited, 60*time.Second) {
			return
		}
		log, _ := os.ReadFile(r.logFile)
		if attempt == 10 {
			r.t.Fatalf("collector on %s did not start (%d attempts):\n%s", r.addr, attempt, log)
		}
		fmt.Printf("scaleout: collector on %s exited while starting; starting it again in 1 s\n", r.addr)
		time.Sleep(time.Second) // a restarting shard takes about as long
	}
}

// launch starts the collector process; exited closes when it ends.
func (r *replica) launch() (exited <-chan struct{}) {
	log, err := os.OpenFile(r.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command(r.bin, "--config", r.config)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := childproc.Start(cmd); err != nil { // the thread that starts it must outlive it (Pdeathsig)
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.cmd = cmd
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(done) }()
	return done
}

// waitListening reports whether the collector listens within d; false as
// soon as it has exited.
func (r *replica) waitListening(exited <-chan struct{}, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := net.Dial("tcp", r.addr); err == nil {
			c.Close()
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(r.logFile)
	r.t.Fatalf("nothing listening on %s after %s:\n%s", r.addr, d, log)
	return false
}

func (r *replica) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	for r.cmd.ProcessState == nil {
		time.Sleep(10 * time.Millisecond) // Wait runs in start's goroutine
	}
}

func (r *replica) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Signal(os.Interrupt)
		for i := 0; i < 500 && r.cmd.ProcessState == nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// balancer is an L7 round-robin proxy: every request goes to the next
// replica, whatever the previous request of the same session did. A replica
// that is down answers 502 through it, as a real balancer does.
func balancer(t *testing.T, backends []string) string {
	var next atomic.Uint64
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target, _ := url.Parse("http://" + backends[(next.Add(1)-1)%uint64(len(backends))])
			pr.SetURL(target)
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: proxy}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// ---- one run ----

type ledger struct {
	mu                                  sync.Mutex
	sent, attempts, acked, refused      int
	transportErrors, abandoned          int
	ackedChunks                         map[string]bool // session/window/seq
	lost, duplicated, notCopied, copied int
}

func (l *ledger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("sent=%d attempts=%d acknowledged=%d refused=%d transport_errors=%d abandoned=%d acked_chunks=%d lost=%d duplicated=%d retained_not_copied=%d",
		l.sent, l.attempts, l.acked, l.refused, l.transportErrors, l.abandoned, len(l.ackedChunks), l.lost, l.duplicated, l.notCopied)
}

type runResult struct {
	db          string
	ledger      *ledger
	decisions   []store.Decision
	killToReady time.Duration
	settle      time.Duration
}

// runLoad sends the load to `replicas` collectors (one killed midway when
// kill) through the balancer, or, viaGRPC, to a front collector whose otlp
// exporter forwards it over OTLP/gRPC to one receiver; and waits until every
// session is judged.
func runLoad(t *testing.T, bin string, shards []*shard, db string, replicas int, kill, viaGRPC bool, load []session) *runResult {
	ctx := context.Background()
	opts := store.DefaultSchemaOptions()
	opts.Database, opts.Cluster = db, clusterName
	conns := []driver.Conn{shards[0].conn, shards[1].conn}
	if err := store.MigrateShards(ctx, conns, opts); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var reps []*replica
	var addrs []string
	var front *replica
	for i := 0; i < replicas; i++ {
		addr := stack.FreeAddr(t)
		protocols := ""
		if viaGRPC {
			grpcAddr := stack.FreeAddr(t)
			protocols = fmt.Sprintf("\n    protocols:\n      grpc:\n        endpoint: %s", grpcAddr)
			front = &replica{t: t, bin: bin, config: filepath.Join(dir, "front.yaml"), addr: stack.FreeAddr(t), logFile: filepath.Join(dir, "front.log")}
			// No sending queue: the front acknowledges a request only once
			// the receiver did, so the ledger still means "stored".
			frontCfg := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
exporters:
  otlp:
    endpoint: %s
    tls:
      insecure: true
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: true
      initial_interval: 100ms
      max_elapsed_time: 60s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp]
    logs:
      receivers: [otlp]
      exporters: [otlp]
`, front.addr, grpcAddr)
			if err := os.WriteFile(front.config, []byte(frontCfg), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// replicas talk to different shards; Distributed inserts are
		// synchronous, so an acknowledged row is on its shard
		dsn := fmt.Sprintf("clickhouse://%s/%s?distributed_foreground_insert=1", shards[i%2].addr, db)
		cfg := fmt.Sprintf(`receivers:
  sessionreplay:
    endpoint: %s
    clickhouse:
      endpoint: %s
    create_schema: false%s
    privacy:
      split_parts_key: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    sessions:
      idle_timeout: %s
      decision_cache_ttl: 1s
    batch:
      max_delay: 50ms
    rules:%s
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [sessionreplay]
      exporters: [debug]
    logs:
      receivers: [sessionreplay]
      exporters: [debug]
`, addr, dsn, protocols, idleTimeout, rulesYAML)
		path := filepath.Join(dir, fmt.Sprintf("replica-%d.yaml", i))
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		r := &replica{t: t, bin: bin, config: path, addr: addr, logFile: filepath.Join(dir, fmt.Sprintf("replica-%d.log", i))}
		r.start()
		t.Cleanup(r.stop)
		reps = append(reps, r)
		addrs = append(addrs, addr)
	}
	var lb string
	if front != nil {
		front.start() // after the receiver: its exporter connects at once
		t.Cleanup(front.stop)
		lb = front.addr
		reps = append(reps, front)
	} else {
		lb = balancer(t, addrs)
	}
	l := &ledger{ackedChunks: map[string]bool{}}
	res := &runResult{db: db, ledger: l}

	client := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	started := time.Now()
	for _, s := range load {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, st := range s.steps {
				send(client, lb, s.id, st, l)
				time.Sleep(stepGap)
			}
		}()
	}
	if kill {
		time.Sleep(time.Until(started.Add(time.Duration(len(load[0].steps)) * stepGap / 2)))
		victim := reps[1]
		killed := time.Now()
		victim.kill()
		time.Sleep(time.Second)
		victim.start()
		res.killToReady = time.Since(killed)
		t.Logf("replica 1 killed (SIGKILL) %s into the load, serving again %s later", killed.Sub(started).Round(time.Millisecond), res.killToReady.Round(time.Millisecond))
	}
	wg.Wait()
	t.Logf("%s: load sent in %s: %s", db, time.Since(started).Round(time.Millisecond), l.String())

	// Settled: every session judged on everything it sent, no match waiting.
	loaded := time.Now()
	stack.WaitFor(t, 60*time.Second, db+": every session evaluated and every pending match resolved", func() bool {
		return count(t, shards[0].conn, fmt.Sprintf(`SELECT count() FROM (SELECT session_id, max(received_at) AS last FROM %[1]s.session_summaries GROUP BY session_id)
WHERE (session_id, last) GLOBAL IN (SELECT session_id, evaluated_through FROM %[1]s.session_evaluations)`, db)) == uint64(len(load)) &&
			count(t, shards[0].conn, fmt.Sprintf(`SELECT count() FROM (SELECT trace_id, rule, max(resolved) AS r FROM %s.pending_matches GROUP BY trace_id, rule) WHERE r = 0`, db)) == 0
	})
	res.settle = time.Since(loaded)

	reader := store.NewReader(shards[0].conn, db)
	retained := map[string]bool{}
	rows, err := shards[0].conn.Query(ctx, fmt.Sprintf("SELECT session_id, toString(rule), trigger_time, trace_id FROM %s.retained_sessions FINAL ORDER BY session_id, rule", db))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d store.Decision
		if err := rows.Scan(&d.SessionID, &d.Rule, &d.TriggerTime, &d.TraceID); err != nil {
			t.Fatal(err)
		}
		d.TriggerTime = d.TriggerTime.UTC()
		res.decisions = append(res.decisions, d)
		retained[d.SessionID] = true
	}
	rows.Close()
	// Chunks: every acknowledged one stored, none read twice, retained
	// sessions copied whole.
	for _, s := range load {
		chunks, err := reader.Chunks(ctx, s.id)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, c := range chunks {
			seen[fmt.Sprintf("%s/%d", c.WindowID, c.Seq)]++
		}
		l.mu.Lock()
		for key := range l.ackedChunks {
			if k, ok := strings.CutPrefix(key, s.id+"/"); ok && seen[k] == 0 {
				l.lost++
				t.Errorf("%s: acknowledged chunk %s lost", db, key)
			}
		}
		for k, n := range seen {
			if n > 1 {
				l.duplicated++
				t.Errorf("%s: chunk %s/%s read %d times", db, s.id, k, n)
			}
		}
		l.mu.Unlock()
		if retained[s.id] {
			if n, _ := reader.ChunkCount(ctx, store.TableRetained, s.id); uint64(n) != s.wantChunks() {
				l.mu.Lock()
				l.notCopied++
				l.mu.Unlock()
				t.Errorf("%s: retained session %s has %d chunks in the retained table, want %d", db, s.id, n, s.wantChunks())
			}
		}
	}
	if l.abandoned > 0 {
		t.Errorf("%s: %d requests abandoned after retries", db, l.abandoned)
	}
	for _, r := range reps {
		r.stop()
	}
	if t.Failed() {
		for _, r := range reps {
			b, _ := os.ReadFile(r.logFile)
			t.Logf("%s log (tail):\n%s", r.addr, tail(string(b), 4000))
		}
	}
	return res
}

// send posts one request, retrying like an OTLP exporter (any 5xx, 429 and
// transport errors, with backoff) until it is acknowledged.
func send(client *http.Client, lb, sid string, st step, l *ledger) {
	l.mu.Lock()
	l.sent++
	l.mu.Unlock()
	backoff := 100 * time.Millisecond
	for attempt := 0; attempt < 40; attempt++ {
		l.mu.Lock()
		l.attempts++
		l.mu.Unlock()
		resp, err := client.Post("http://"+lb+st.path, "application/x-protobuf", bytes.NewReader(st.body))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		l.mu.Lock()
		switch {
		case err != nil:
			l.transportErrors++
		case resp.StatusCode == http.StatusOK:
			l.acked++
			if st.chunk != "" {
				l.ackedChunks[sid+"/"+st.chunk] = true
			}
			l.mu.Unlock()
			return
		case resp.StatusCode == http.StatusBadRequest:
			l.abandoned++
			l.mu.Unlock()
			return
		default:
			l.refused++
		}
		l.mu.Unlock()
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
	l.mu.Lock()
	l.abandoned++
	l.mu.Unlock()
}

// summaryOf is the part of a session summary both runs must agree on.
func summary(t *testing.T, conn driver.Conn, db, sid string) store.SessionSummary {
	s, ok, err := store.NewReader(conn, db).Session(context.Background(), sid)
	if err != nil || !ok {
		t.Fatalf("%s: summary of %s: %v %v", db, sid, ok, err)
	}
	sort.Strings(s.URLs)
	return s
}

func count(t *testing.T, conn driver.Conn, q string) uint64 {
	var n uint64
	if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
