package sessionreplayreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/store"
)

func TestMain(m *testing.M) {
	// Fuzzing (go test -fuzz) needs no ClickHouse: do not start one per worker.
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.fuzz=") || strings.HasPrefix(a, "-test.fuzzworker") {
			os.Exit(m.Run())
		}
	}
	os.Exit(chembedtest.Main(m))
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// collectorBinary builds cmd/otelcol-sessionreplay once per test binary.
func collectorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "otelcol-sr-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "otelcol-sessionreplay")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/otelcol-sessionreplay")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// sink is the test's own OTLP/HTTP server, the otlphttp exporter's endpoint.
type sink struct {
	mu     sync.Mutex
	spans  map[string]int // service -> spans
	logs   map[string]int // event name -> records
	chunks int
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/v1/traces":
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err == nil {
			rss := req.Traces().ResourceSpans()
			for i := 0; i < rss.Len(); i++ {
				svc, _ := rss.At(i).Resource().Attributes().Get("service.name")
				s.spans[svc.AsString()] += rss.At(i).ScopeSpans().At(0).Spans().Len()
			}
		}
	case "/v1/logs":
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err == nil {
			rls := req.Logs().ResourceLogs()
			for i := 0; i < rls.Len(); i++ {
				sls := rls.At(i).ScopeLogs()
				for j := 0; j < sls.Len(); j++ {
					lrs := sls.At(j).LogRecords()
					for k := 0; k < lrs.Len(); k++ {
						s.logs[lrs.At(k).EventName()]++
						if lrs.At(k).EventName() == EventNameChunk {
							s.chunks++
						}
					}
				}
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(200)
}

func (s *sink) count(f func() int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f()
}

type collector struct {
	t        *testing.T
	endpoint string
	conn     driver.Conn
	db       string
	sink     *sink
	reader   *store.Reader
	logs     *syncWriter // the collector's output
	cmd      *exec.Cmd
	done     chan struct{}
}

func startCollector(t *testing.T, rulesYAML string, extra string) *collector {
	t.Helper()
	conn, db := chembedtest.NewDatabase(t)
	return startCollectorOn(t, conn, db, chembedtest.DSN(db), "", rulesYAML, extra)
}

// startCollectorOn starts the collector binary writing to dsn (conn/db are
// the test's own view of that database); endpoint "" picks a free port.
func startCollectorOn(t *testing.T, conn driver.Conn, db, dsn, endpoint, rulesYAML, extra string) *collector {
	t.Helper()
	bin := collectorBinary(t)
	pick := endpoint == ""
	if pick {
		endpoint = freePort(t)
	}
	sk := &sink{spans: map[string]int{}, logs: map[string]int{}}
	sinkSrv := &http.Server{Handler: sk}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sinkAddr := ln.Addr().String()
	go func() { _ = sinkSrv.Serve(ln) }()
	t.Cleanup(func() { _ = sinkSrv.Close() })

	// extra may replace the default cors and privacy sections.
	corsYAML := "    cors:\n      allowed_origins: [\"http://localhost:3000\"]\n"
	if strings.Contains(extra, "\n    cors:") || strings.HasPrefix(extra, "    cors:") {
		corsYAML = ""
	}
	privacyYAML := "    privacy:\n      mask_inputs: true\n      mask_selectors: [\"[data-private]\"]\n      split_parts_key: " + testPartsKey + "\n"
	if strings.Contains(extra, "\n    privacy:") || strings.HasPrefix(extra, "    privacy:") {
		privacyYAML = ""
	}
	config := func(endpoint string) string {
		return fmt.Sprintf(`receivers:
  sessionreplay:
    endpoint: %s
    max_request_body_size: 2097152
%s    clickhouse:
      endpoint: %s
      buffer_ttl: 24h
      retention_ttl: 720h
    create_schema: true
%s    sessions:
      idle_timeout: 2s
      decision_cache_ttl: 1s
    batch:
      max_delay: 50ms
%s
%s
exporters:
  otlphttp:
    endpoint: http://%s
    compression: none
    retry_on_failure:
      enabled: false
processors:
  batch:
    timeout: 100ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [sessionreplay]
      processors: [batch]
      exporters: [otlphttp]
    logs:
      receivers: [sessionreplay]
      processors: [batch]
      exporters: [otlphttp]
`, endpoint, corsYAML, dsn, privacyYAML, rulesYAML, extra, sinkAddr)
	}
	// The port was free when picked, but another test process may take it
	// before the collector binds it: a collector that exits on "address
	// already in use" is started again (on a new port when the test did not
	// ask for one).
	for attempt := 1; ; attempt++ {
		c, bindErr := launchCollector(t, bin, config(endpoint), endpoint)
		if !bindErr {
			c.conn, c.db, c.sink, c.reader = conn, db, sk, store.NewReader(conn, db)
			return c
		}
		if attempt == 5 {
			t.Fatalf("collector could not bind %s:\n%s", endpoint, c.logs.String())
		}
		if pick {
			endpoint = freePort(t)
		} else {
			time.Sleep(time.Second)
		}
	}
}

// launchCollector starts the binary with cfg and waits until it serves on
// endpoint; bindErr reports a collector that exited because the port was
// taken.
func launchCollector(t *testing.T, bin, cfg, endpoint string) (c *collector, bindErr bool) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	logs := &syncWriter{w: &out}
	cmd := exec.Command(bin, "--config", path)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("collector output:\n%s", logs.String())
		}
	})
	c = &collector{t: t, endpoint: endpoint, logs: logs, cmd: cmd, done: done}
	deadline := time.Now().Add(60 * time.Second)
	for {
		// ready: the service started (so this process holds the port, not
		// another test's) and the receiver answers
		if strings.Contains(logs.String(), "Everything is ready") {
			resp, err := http.Post("http://"+endpoint+"/v1/traces", "application/json", strings.NewReader(`{}`))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 || resp.StatusCode == 401 { // 401: ingest keys configured
					break
				}
			}
		}
		select {
		case <-done:
			if strings.Contains(logs.String(), "address already in use") {
				return c, true
			}
			t.Fatalf("collector exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector did not start:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return c, false
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// String is what was written so far.
func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

func (c *collector) post(path, ct string, body []byte, hdr ...string) (int, []byte, http.Header) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.endpoint+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (c *collector) sendLogs(ld plog.Logs, asJSON bool) plogotlp.ExportResponse {
	c.t.Helper()
	req := plogotlp.NewExportRequestFromLogs(ld)
	var body []byte
	ct := "application/x-protobuf"
	if asJSON {
		body, _ = req.MarshalJSON()
		ct = "application/json"
	} else {
		body, _ = req.MarshalProto()
	}
	code, out, _ := c.post("/v1/logs", ct, body)
	if code != 200 {
		c.t.Fatalf("POST /v1/logs: %d %s", code, out)
	}
	resp := plogotlp.NewExportResponse()
	if asJSON {
		_ = resp.UnmarshalJSON(out)
	} else {
		_ = resp.UnmarshalProto(out)
	}
	return resp
}

func (c *collector) sendTraces(td ptrace.Traces) {
	c.t.Helper()
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	code, out, _ := c.post("/v1/traces", "application/x-protobuf", body)
	if code != 200 {
		c.t.Fatalf("POST /v1/traces: %d %s", code, out)
	}
}

func (c *collector) count(q string, args ...any) uint64 {
	c.t.Helper()
	var n uint64
	params := clickhouse.Parameters{}
	for i := 0; i+1 < len(args); i += 2 {
		params[args[i].(string)] = fmt.Sprint(args[i+1])
	}
	ctx := clickhouse.Context(context.Background(), clickhouse.WithParameters(params))
	if err := c.conn.QueryRow(ctx, strings.ReplaceAll(q, "DB.", c.db+".")).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func eventually(t *testing.T, what string, timeout time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const rulesYAML = `    rules:
      - name: backend-errors
        span: 'status.code == STATUS_CODE_ERROR and resource.attributes["service.name"] == "backend"'
      - name: pricing-no-signup
        session:
          visited: ["^/pricing"]
          not_visited: ["^/signup/complete"]`

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

func TestCollectorEndToEnd(t *testing.T) {
	c := startCollector(t, rulesYAML, "")
	ctx := context.Background()

	// --- session A: real recording, browser spans, then a backend error span
	// in the same trace without session.id -> retained by backend-errors.
	sessA := "sess-a-" + c.db
	smartx := loadEvents(t, "smartx-90s.events.json")
	ld := plog.NewLogs()
	addChunk(t, ld, chunkOpts{session: sessA, window: "w1", seq: 0, events: smartx[:400], gzip: true, userAgent: chromeUA, country: "DE", userID: "u-42"})
	addChunk(t, ld, chunkOpts{session: sessA, window: "w1", seq: 1, events: smartx[400:], gzip: false, userAgent: chromeUA})
	// an exception log and a custom event of the session
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop-web")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	exc := lrs.AppendEmpty()
	exc.SetEventName("exception")
	exc.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	exc.Attributes().PutStr("session.id", sessA)
	exc.Attributes().PutStr("exception.type", "TypeError")
	exc.Attributes().PutStr("exception.message", "x is undefined; card 4111 1111 1111 1111")
	custom := lrs.AppendEmpty()
	custom.SetEventName("add_to_cart")
	custom.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	custom.Attributes().PutStr("session.id", sessA)
	custom.Body().SetStr(`{"sku":"A1"}`)
	resp := c.sendLogs(ld, false)
	if resp.PartialSuccess().RejectedLogRecords() != 0 {
		t.Fatalf("rejected: %s", resp.PartialSuccess().ErrorMessage())
	}

	traceID := pcommon.TraceID([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	td := ptrace.NewTraces()
	addSpan(td, "shop-web", sessA, traceID, pcommon.SpanID([8]byte{1, 1, 1, 1, 1, 1, 1, 1}), "HTTP POST", ptrace.SpanKindClient, false,
		map[string]string{"url.full": "https://shop.example.com/api/checkout", "http.request.method": "POST"})
	c.sendTraces(td)
	td2 := ptrace.NewTraces()
	addSpan(td2, "backend", "", traceID, pcommon.SpanID([8]byte{2, 2, 2, 2, 2, 2, 2, 2}), "POST /api/checkout", ptrace.SpanKindServer, true, nil)
	c.sendTraces(td2)

	eventually(t, "backend error span retains session A", 20*time.Second, func() bool {
		d, err := c.reader.Decisions(ctx, sessA)
		return err == nil && len(d) == 1 && d[0].Rule == "backend-errors"
	})
	d, _ := c.reader.Decisions(ctx, sessA)
	if d[0].TraceID != traceID.String() {
		t.Errorf("decision trace id %q, want %q", d[0].TraceID, traceID.String())
	}
	eventually(t, "session A chunks copied to retained", 20*time.Second, func() bool {
		n, _ := c.reader.ChunkCount(ctx, store.TableRetained, sessA)
		return n == 2
	})
	// later chunks go to the retained table directly
	ld = plog.NewLogs()
	addChunk(t, ld, chunkOpts{session: sessA, window: "w1", seq: 2, events: smartx[900:], userAgent: chromeUA})
	c.sendLogs(ld, true)
	if n, _ := c.reader.ChunkCount(ctx, store.TableBuffer, sessA); n != 2 {
		t.Errorf("buffer has %d chunks of A, want 2 (the third goes to retained directly)", n)
	}
	if n, _ := c.reader.ChunkCount(ctx, store.TableRetained, sessA); n != 3 {
		t.Errorf("retained has %d chunks of A, want 3", n)
	}

	// summary of A
	s, ok, err := c.reader.Session(ctx, sessA)
	if err != nil || !ok {
		t.Fatalf("session A summary: %v %v", ok, err)
	}
	if s.Browser != "Chrome" || s.OS != "Windows" || s.Device != "desktop" || s.Country != "DE" || s.UserID != "u-42" {
		t.Errorf("summary device fields: %+v", s)
	}
	if s.Chunks != 3 || s.Clicks == 0 || s.PageViews == 0 || len(s.URLs) == 0 || s.Errors != 1 || s.EntryURL != "https://www.smartx.com/" {
		t.Errorf("summary counts: chunks=%d clicks=%d pageviews=%d urls=%v errors=%d entry=%q", s.Chunks, s.Clicks, s.PageViews, s.URLs, s.Errors, s.EntryURL)
	}
	// markers and links
	for kind, min := range map[string]uint64{"click": 1, "navigation": 1, "error": 1, "request": 1, "custom": 1} {
		if n := c.count("SELECT count() FROM DB.session_events FINAL WHERE session_id = {s:String} AND kind = {k:String}", "s", sessA, "k", kind); n < min {
			t.Errorf("markers of kind %s: %d, want >= %d", kind, n, min)
		}
	}
	if n := c.count("SELECT count() FROM DB.session_events WHERE detail LIKE '%4111%'"); n != 0 {
		t.Errorf("card number stored in markers")
	}
	if got, _ := c.reader.SessionsOfTrace(ctx, traceID.String()); len(got) != 1 || got[0] != sessA {
		t.Errorf("trace links: %v", got)
	}

	// --- session B: visits /pricing, never /signup/complete -> retained after idle.
	sessB := "sess-b-" + c.db
	// --- session C: visits /pricing and /signup/complete -> buffer only.
	sessC := "sess-c-" + c.db
	now := time.Now().UnixMilli()
	ld = plog.NewLogs()
	addChunk(t, ld, chunkOpts{session: sessB, window: "w", seq: 0, events: []json.RawMessage{metaEvent("https://shop.example.com/pricing", now)}})
	addChunk(t, ld, chunkOpts{session: sessC, window: "w", seq: 0, events: []json.RawMessage{metaEvent("https://shop.example.com/pricing", now), metaEvent("https://shop.example.com/signup/complete", now+1000)}})
	c.sendLogs(ld, false)
	eventually(t, "session rule retains B after idle", 20*time.Second, func() bool {
		d, err := c.reader.Decisions(ctx, sessB)
		return err == nil && len(d) == 1 && d[0].Rule == "pricing-no-signup"
	})
	eventually(t, "B copied", 20*time.Second, func() bool {
		n, _ := c.reader.ChunkCount(ctx, store.TableRetained, sessB)
		return n == 1
	})
	time.Sleep(3 * time.Second) // C is idle too by now
	if d, _ := c.reader.Decisions(ctx, sessC); len(d) != 0 {
		t.Errorf("session C retained: %v", d)
	}
	if n, _ := c.reader.ChunkCount(ctx, store.TableRetained, sessC); n != 0 {
		t.Errorf("session C in retained table")
	}
	if n, _ := c.reader.ChunkCount(ctx, store.TableBuffer, sessC); n != 1 {
		t.Errorf("session C buffered chunks %d, want 1", n)
	}

	// --- forwarding: spans of both services and non-replay logs reach the sink; chunks do not.
	eventually(t, "traces and logs forwarded", 20*time.Second, func() bool {
		return c.sink.count(func() int {
			if c.sink.spans["shop-web"] >= 1 && c.sink.spans["backend"] >= 1 && c.sink.logs["exception"] >= 1 && c.sink.logs["add_to_cart"] >= 1 {
				return 1
			}
			return 0
		}) == 1
	})
	if n := c.sink.count(func() int { return c.sink.chunks }); n != 0 {
		t.Errorf("%d replay chunks forwarded, want 0", n)
	}
}

func TestCollectorPrivacyAndErrors(t *testing.T) {
	c := startCollector(t, "", "")
	ctx := context.Background()
	sess := "sess-p-" + c.db
	// A page where the recorder did NOT mask: typed secret, a card number in an
	// input, a password field, a private element.
	now := time.Now().UnixMilli()
	snapshot := fmt.Sprintf(`{"type":2,"timestamp":%d,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"html","attributes":{},"childNodes":[
 {"type":2,"id":3,"tagName":"input","attributes":{"type":"text","value":"hunter2-secret"},"childNodes":[]},
 {"type":2,"id":4,"tagName":"input","attributes":{"type":"password","value":"p@ssw0rd!"},"childNodes":[]},
 {"type":2,"id":5,"tagName":"textarea","attributes":{"value":"my address"},"childNodes":[{"type":3,"id":6,"textContent":"my address"}]},
 {"type":2,"id":7,"tagName":"div","attributes":{"data-private":""},"childNodes":[{"type":3,"id":8,"textContent":"Jane Doe"}]},
 {"type":2,"id":9,"tagName":"p","attributes":{},"childNodes":[{"type":3,"id":10,"textContent":"Paid with 4242-4242-4242-4242 thanks"}]}
]}]},"initialOffset":{"top":0,"left":0}}}`, now)
	input := fmt.Sprintf(`{"type":3,"timestamp":%d,"data":{"source":5,"text":"hunter2-secret","isChecked":false,"id":3}}`, now+10)
	card := fmt.Sprintf(`{"type":3,"timestamp":%d,"data":{"source":5,"text":"5555 5555 5555 4444","isChecked":false,"id":3}}`, now+20)
	ld := plog.NewLogs()
	addChunk(t, ld, chunkOpts{session: sess, window: "w", seq: 0, events: []json.RawMessage{json.RawMessage(snapshot), json.RawMessage(input), json.RawMessage(card)}, gzip: true})
	// partial success: a malformed chunk in the same request
	rl := ld.ResourceLogs().AppendEmpty()
	bad := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	bad.SetEventName(EventNameChunk)
	bad.Attributes().PutStr("session.id", sess)
	bad.Attributes().PutInt("session_replay.seq", 1)
	bad.Body().SetStr("not json")
	resp := c.sendLogs(ld, false)
	if resp.PartialSuccess().RejectedLogRecords() != 1 || !strings.Contains(resp.PartialSuccess().ErrorMessage(), "JSON") {
		t.Errorf("partial success: %d %q", resp.PartialSuccess().RejectedLogRecords(), resp.PartialSuccess().ErrorMessage())
	}
	chunks, err := c.reader.Chunks(ctx, sess)
	if err != nil || len(chunks) != 1 {
		t.Fatalf("chunks: %d %v", len(chunks), err)
	}
	data := string(chunks[0].Data)
	for _, secret := range []string{"hunter2", "p@ssw0rd", "my address", "Jane Doe", "4242-4242", "4242 4242", "5555 5555"} {
		if strings.Contains(data, secret) {
			t.Errorf("%q survived masking: %s", secret, data)
		}
	}
	// typed text and values become the fixed placeholder: not even the
	// length of "hunter2-secret" (14) is stored
	if !strings.Contains(data, "Paid with") || !strings.Contains(data, `"text":"******"`) || strings.Contains(data, `"**************"`) {
		t.Errorf("masking lost structure or kept a length: %s", data)
	}

	// malformed -> 400, wrong content type -> 415, oversize -> 413
	if code, body, _ := c.post("/v1/logs", "application/json", []byte(`{"resourceLogs": [`)); code != 400 || !strings.Contains(string(body), "malformed") {
		t.Errorf("malformed: %d %s", code, body)
	}
	if code, _, _ := c.post("/v1/logs", "text/plain", []byte(`x`)); code != 415 {
		t.Errorf("text/plain: %d", code)
	}
	if code, body, _ := c.post("/v1/logs", "application/x-protobuf", bytes.Repeat([]byte{'x'}, 3<<20)); code != 413 {
		t.Errorf("oversize: %d %s", code, body)
	}
	// CORS preflight from the allowed origin
	req, _ := http.NewRequest(http.MethodOptions, "http://"+c.endpoint+"/v1/logs", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Errorf("CORS preflight: %d %v", r.StatusCode, r.Header)
	}
	// no rule -> buffer only
	if n, _ := c.reader.ChunkCount(ctx, store.TableRetained, sess); n != 0 {
		t.Errorf("retained without a rule")
	}

	// rr-web.* format (HyperDX): one event per record, the
	// session in resource rum.sessionId, a big event split in two parts;
	// sent as gzip protobuf like their SDKs.
	rr := "sess-rr-" + c.db
	events := loadEvents(t, "input.events.json")
	ld = plog.NewLogs()
	rlr := ld.ResourceLogs().AppendEmpty()
	rlr.Resource().Attributes().PutStr("rum.sessionId", rr)
	rlr.Resource().Attributes().PutStr("service.name", "hyperdx-web")
	sl := rlr.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("rum.rr-web")
	for i, ev := range events {
		if i == 3 { // the full snapshot, split in two parts
			half := len(ev) / 2
			for p, part := range [][]byte{ev[:half], ev[half:]} {
				lr := sl.LogRecords().AppendEmpty()
				lr.Body().SetStr(string(part))
				lr.Attributes().PutInt("rr-web.event", int64(i))
				lr.Attributes().PutInt("rr-web.chunk", int64(p+1))
				lr.Attributes().PutInt("rr-web.total-chunks", 2)
			}
			continue
		}
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr(string(ev))
		lr.Attributes().PutInt("rr-web.event", int64(i))
	}
	pb, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	code, out, _ := c.post("/v1/logs", "application/x-protobuf", gz(t, pb), "Content-Encoding", "gzip")
	if code != 200 {
		t.Fatalf("rr-web: %d %s", code, out)
	}
	rrChunks, err := c.reader.Chunks(ctx, rr)
	if err != nil || len(rrChunks) != 1 || rrChunks[0].EventCount != uint32(len(events)) || !rrChunks[0].FullSnapshot || rrChunks[0].WindowID != "rr-web" {
		t.Fatalf("rr-web chunks: %v %+v", err, rrChunks)
	}
	if strings.Contains(string(rrChunks[0].Data), `"text":"valueA"`) {
		t.Errorf("rr-web input not masked")
	}
}
