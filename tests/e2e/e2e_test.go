//go:build e2e

// Package e2e follows one real session from a browser to its replay: the demo
// shop with the recorder in Chromium, the collector with the sessionreplay
// receiver (from tests/e2e/collector.yaml), the embedded ClickHouse, the
// Grafana backend plugin started as Grafana starts it, and the replay panel
// playing the stored events in Chromium. Run it with `go tool mage e2e`, which
// builds the recorder and the panel harness first.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/demoapp"
	"github.com/seed/sessionreplay/pkg/pluginhost"
	"github.com/seed/sessionreplay/pkg/store"
)

func TestMain(m *testing.M) { os.Exit(chembedtest.Main(m)) }

// Screenshot thresholds, on a 96x72 grid of mean colours (0-255 per channel):
// the replay must match the live page with a mean cell difference of at most
// maxMeanDiff and at most maxBadCells of the cells off by more than 40. The
// typed text is masked in the replay (the placeholder ****** where the live
// page shows letters), which is most of the difference that remains.
const (
	maxMeanDiff = 6.0
	maxBadCells = 0.04
)

type driveResult struct {
	SessionID                  string            `json:"sessionId"`
	OtherSessionID             string            `json:"otherSessionId"`
	TraceID                    string            `json:"traceId"`
	Baggage                    string            `json:"baggage"`
	ClickTime                  int64             `json:"clickTime"`
	ErrorTime                  int64             `json:"errorTime"`
	SameSessionAfterNavigation bool              `json:"sameSessionAfterNavigation"`
	UserAgent                  string            `json:"userAgent"`
	Secrets                    map[string]string `json:"secrets"`
}

func TestSessionFromBrowserToReplay(t *testing.T) {
	ctx := context.Background()
	root := repoRoot(t)
	out := t.TempDir()
	if dir := os.Getenv("E2E_ARTIFACTS"); dir != "" { // keep screenshots for a person to look at
		out = dir
		_ = os.MkdirAll(out, 0o755)
	}
	harness := filepath.Join(root, "node_modules/.cache/sessionreplay-panel-harness")
	for _, need := range []string{filepath.Join(root, "recorder/dist/sessionreplay-full.min.js"), filepath.Join(harness, "harness.js")} {
		if _, err := os.Stat(need); err != nil {
			t.Fatalf("%s is not built (run `go tool mage e2e`, which builds it): %v", need, err)
		}
	}

	conn, db := chembedtest.NewDatabase(t)
	dsn := chembedtest.DSN(db)

	// The shop, whose pages and services send to the collector's address.
	otlpAddr := freeAddr(t)
	shop, err := demoapp.Start(ctx, demoapp.Config{
		OTLPEndpoint: "http://" + otlpAddr, RecorderDir: filepath.Join(root, "recorder/dist"),
		RecorderOptions: map[string]string{"flush-interval-ms": "1000"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close(ctx)

	// The collector from the repository's YAML.
	collector := goBuild(t, root, "./collector-receiver/cmd/otelcol-sessionreplay")
	col := exec.Command(collector, "--config", filepath.Join(root, "tests/e2e/collector.yaml"))
	col.Env = append(os.Environ(), "E2E_OTLP_ENDPOINT="+otlpAddr, "E2E_SHOP_ORIGIN="+shop.URL, "E2E_CLICKHOUSE_DSN="+dsn)
	colLog, _ := os.Create(filepath.Join(out, "collector.log"))
	col.Stdout, col.Stderr = colLog, colLog
	col.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // never outlives the test
	if err := col.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = col.Process.Signal(os.Interrupt); _ = col.Wait() }()
	waitListening(t, otlpAddr, 60*time.Second, filepath.Join(out, "collector.log"))

	// The Grafana backend plugin, started as Grafana starts it, behind
	// Grafana's two data source APIs, next to the panel harness.
	plugin, err := pluginhost.Start(goBuild(t, root, "./pkg"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plugin.Kill()
	settingsJSON, _ := json.Marshal(map[string]any{"addresses": []string{chembedtest.Addr()}, "database": db, "protocol": "native"})
	api := &pluginhost.API{
		Plugin: plugin, PluginID: "seed-sessionreplay-datasource",
		Settings: &pluginv2.DataSourceInstanceSettings{Id: 1, Uid: "sessionreplay", Name: "Session Replay", JsonData: settingsJSON, LastUpdatedMS: 1},
		Static:   harnessPages(harness, filepath.Join(root, "node_modules/@grafana/ui/dist/public/img/icons")),
	}
	grafana := httptest.NewServer(api)
	defer grafana.Close()

	// A person uses the shop.
	var drive driveResult
	runNode(t, root, &drive, "tests/e2e/drive.mjs", shop.URL, out)
	t.Logf("session %s, failing trace %s, other session %s", drive.SessionID, drive.TraceID, drive.OtherSessionID)
	if drive.SessionID == "" || drive.OtherSessionID == "" || drive.SessionID == drive.OtherSessionID {
		t.Fatalf("bad session ids: %+v", drive)
	}
	if !drive.SameSessionAfterNavigation {
		t.Error("navigating to another page started a new session")
	}
	if !strings.Contains(drive.Baggage, "session.id="+drive.SessionID) {
		t.Errorf("checkout request baggage %q lacks session.id=%s", drive.Baggage, drive.SessionID)
	}
	_ = shop.ForceFlush(ctx)

	reader := store.NewReader(conn, db)

	// 1. Retained by the rule that matched the backend's error span.
	var decisions []store.Decision
	waitFor(t, 60*time.Second, "the payments-errors decision", func() bool {
		decisions, err = reader.Decisions(ctx, drive.SessionID)
		return err == nil && hasRule(decisions, "payments-errors")
	})
	for _, d := range decisions {
		if d.Rule == "payments-errors" && d.TraceID != drive.TraceID {
			t.Errorf("payments-errors decision has trace %s, want %s", d.TraceID, drive.TraceID)
		}
	}
	t.Logf("decisions: %+v", decisions)
	waitFor(t, 30*time.Second, "retained chunks", func() bool {
		n, _ := reader.ChunkCount(ctx, store.TableRetained, drive.SessionID)
		return n > 0
	})

	// 2. The other session matched no rule: buffer only, once it went idle.
	waitFor(t, 30*time.Second, "the other session in the buffer", func() bool {
		n, _ := reader.ChunkCount(ctx, store.TableBuffer, drive.OtherSessionID)
		return n > 0
	})
	time.Sleep(6 * time.Second) // past the idle timeout: session rules have run
	if d, _ := reader.Decisions(ctx, drive.OtherSessionID); len(d) != 0 {
		t.Errorf("the other session was retained: %+v", d)
	}
	if n, _ := reader.ChunkCount(ctx, store.TableRetained, drive.OtherSessionID); n != 0 {
		t.Errorf("the other session has %d retained chunks", n)
	}

	// 3. The data source lists it for the dashboard's time range with ad hoc
	// filters on browser and OS, and only it when retained-only.
	summary, ok, err := reader.Session(ctx, drive.SessionID)
	if err != nil || !ok {
		t.Fatalf("session summary: %v %v", ok, err)
	}
	t.Logf("summary: browser=%q os=%q device=%q urls=%v clicks=%d errors=%d", summary.Browser, summary.OS, summary.Device, summary.URLs, summary.Clicks, summary.Errors)
	if summary.OS != "Linux" || !strings.Contains(summary.Browser, "Chrome") {
		t.Errorf("browser/os = %q/%q from user agent %q", summary.Browser, summary.OS, drive.UserAgent)
	}
	now := time.Now()
	timeRange := [2]int64{now.Add(-time.Hour).UnixMilli(), now.Add(time.Minute).UnixMilli()}
	listed := querySessionIDs(t, grafana.URL, timeRange, map[string]any{
		"queryType": "sessions", "retainedOnly": true,
		"adhocFilters": []map[string]string{{"key": "browser", "operator": "=", "value": summary.Browser}, {"key": "os", "operator": "=", "value": "Linux"}},
	})
	if len(listed) != 1 || listed[0] != drive.SessionID {
		t.Errorf("retained sessions listed for browser+os filters = %v, want [%s]", listed, drive.SessionID)
	}
	all := querySessionIDs(t, grafana.URL, timeRange, map[string]any{"queryType": "sessions"})
	if !contains(all, drive.OtherSessionID) || !contains(all, drive.SessionID) {
		t.Errorf("all sessions = %v, want both", all)
	}
	none := querySessionIDs(t, grafana.URL, timeRange, map[string]any{"queryType": "sessions",
		"adhocFilters": []map[string]string{{"key": "os", "operator": "=", "value": "Windows"}}})
	if len(none) != 0 {
		t.Errorf("os=Windows listed %v", none)
	}

	// 4. traceSession of the failing trace: this session, at the error.
	frame := queryFrame(t, grafana.URL, timeRange, map[string]any{"queryType": "traceSession", "traceId": drive.TraceID})
	if got := frame["session_id"]; got != drive.SessionID {
		t.Errorf("traceSession session_id = %v, want %s", got, drive.SessionID)
	}
	offset, _ := frame["offset_ms"].(float64)
	start := summary.Start.UnixMilli()
	if lo, hi := float64(drive.ClickTime-start-1000), float64(drive.ErrorTime-start+1000); offset < lo || offset > hi {
		t.Errorf("traceSession offset_ms = %v, want between %v and %v (click..error)", offset, lo, hi)
	}

	// 5. Nothing typed reached ClickHouse.
	auditSecrets(t, conn, db, drive)

	// 6. The replay events, streamed by the plugin: a full snapshot first,
	// every event in time order, the page's URLs.
	checkReplayStream(t, grafana.URL, drive, filepath.Join(out, "replay.ndjson"))

	if hold := os.Getenv("E2E_HOLD"); hold != "" { // keep the stack up to look at it by hand
		d, _ := time.ParseDuration(hold)
		t.Logf("holding %s: grafana API + panel harness at %s/?session=%s&replay_time=%d&skip=0", d, grafana.URL, drive.SessionID, drive.ErrorTime)
		time.Sleep(d)
	}

	// 7. The replay, read through the plugin, plays in the panel and looks like
	// the live page at the click and at the error.
	var cmp map[string]struct {
		MeanDiff   float64  `json:"meanDiff"`
		BadCells   float64  `json:"badCells"`
		CurrentMs  float64  `json:"currentMs"`
		Variance   float64  `json:"variance"`
		Text       string   `json:"text"`
		PageErrors []string `json:"pageErrors"`
	}
	runNode(t, root, &cmp, "tests/e2e/replay.mjs", grafana.URL, drive.SessionID, out,
		fmt.Sprintf("click=%d", drive.ClickTime), fmt.Sprintf("error=%d", drive.ErrorTime), "trace=trace:"+drive.TraceID)
	// Opened from the failing trace (the $trace_id variable a correlation sets),
	// the panel finds the session and stands at the span: between the click
	// that sent the request and the error the page showed.
	if c, ok := cmp["trace"]; !ok || c.CurrentMs < float64(drive.ClickTime) || c.CurrentMs > float64(drive.ErrorTime) || len(c.PageErrors) > 0 {
		t.Errorf("replay opened from trace %s stands at %v (page errors %v), want between the click %d and the error %d",
			drive.TraceID, c.CurrentMs, c.PageErrors, drive.ClickTime, drive.ErrorTime)
	} else {
		t.Logf("replay opened from the trace stands %d ms after the click", int64(c.CurrentMs)-drive.ClickTime)
	}
	for _, name := range []string{"click", "error"} {
		c, ok := cmp[name]
		if !ok {
			t.Errorf("no replay comparison for %s", name)
			continue
		}
		t.Logf("replay at %s (player at %+.0f ms of it): mean cell difference %.2f (max %.0f), cells off %.1f%% (max %.0f%%), frame variance %.0f",
			name, c.CurrentMs-float64(map[string]int64{"click": drive.ClickTime, "error": drive.ErrorTime}[name]),
			c.MeanDiff, maxMeanDiff, c.BadCells*100, maxBadCells*100, c.Variance)
		if c.MeanDiff > maxMeanDiff || c.BadCells > maxBadCells {
			t.Errorf("replay at %s does not match the live page (see %s)", name, out)
		}
		// What the page said at that moment: the error message appears after the click, not before.
		if shows := strings.Contains(c.Text, "Payment failed"); shows != (name == "error") {
			t.Errorf("replay at %s shows %q", name, c.Text)
		}
		if c.Variance < 100 {
			t.Errorf("replay at %s is blank", name)
		}
		if len(c.PageErrors) > 0 {
			t.Errorf("panel page errors at %s: %v", name, c.PageErrors)
		}
	}
}

func checkReplayStream(t *testing.T, base string, drive driveResult, save string) {
	t.Helper()
	resp, err := http.Get(base + "/api/datasources/uid/sessionreplay/resources/sessions/" + drive.SessionID + "/replay")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(resp.Body, &raw))
	sc.Buffer(make([]byte, 16<<20), 16<<20)
	var events []struct {
		Type      int   `json:"type"`
		Timestamp int64 `json:"timestamp"`
	}
	for sc.Scan() {
		var line struct {
			Type   string            `json:"type"`
			Events []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("replay stream line: %v", err)
		}
		for _, e := range line.Events {
			var ev struct {
				Type      int   `json:"type"`
				Timestamp int64 `json:"timestamp"`
			}
			_ = json.Unmarshal(e, &ev)
			events = append(events, ev)
		}
	}
	_ = os.WriteFile(save, raw.Bytes(), 0o644)
	if len(events) < 10 {
		t.Fatalf("replay stream has %d events", len(events))
	}
	if events[0].Type != 4 || events[1].Type != 2 {
		t.Errorf("replay starts with event types %d, %d; want meta (4) then full snapshot (2)", events[0].Type, events[1].Type)
	}
	var atError int
	for _, e := range events {
		if e.Timestamp <= drive.ErrorTime {
			atError++
		}
	}
	t.Logf("replay stream: %d events (%d up to the error), %d bytes", len(events), atError, raw.Len())
}

func hasRule(ds []store.Decision, rule string) bool {
	for _, d := range ds {
		if d.Rule == rule {
			return true
		}
	}
	return false
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// auditSecrets scans every stored chunk, marker and summary of the run for the
// typed values (and the card number without separators).
func auditSecrets(t *testing.T, conn clickhouse.Conn, db string, drive driveResult) {
	t.Helper()
	ctx := context.Background()
	secrets := []string{strings.ReplaceAll(drive.Secrets["card"], " ", "")}
	for _, v := range drive.Secrets {
		secrets = append(secrets, v)
	}
	queries := []string{
		"SELECT data FROM " + db + ".replay_chunks_buffer",
		"SELECT data FROM " + db + ".replay_chunks",
		"SELECT concat(name, ' ', url, ' ', detail) FROM " + db + ".session_events",
		"SELECT concat(arrayStringConcat(urls, ' '), ' ', toString(attributes)) FROM " + db + ".sessions",
	}
	var scanned, rows int
	for _, q := range queries {
		r, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var s string
			if err := r.Scan(&s); err != nil {
				t.Fatal(err)
			}
			rows++
			scanned += len(s)
			for _, secret := range secrets {
				if strings.Contains(s, secret) {
					t.Errorf("typed secret %q is stored (%s)", secret, q)
				}
			}
		}
		r.Close()
	}
	t.Logf("privacy audit: %d rows, %d bytes scanned for %d typed values: none found", rows, scanned, len(secrets))
}

func querySessionIDs(t *testing.T, base string, tr [2]int64, q map[string]any) []string {
	t.Helper()
	resp := query(t, base, tr, q)
	var ids []string
	for _, f := range resp.Frames {
		if fld, _ := f.FieldByName("session_id"); fld != nil {
			for i := 0; i < fld.Len(); i++ {
				ids = append(ids, fmt.Sprint(fld.At(i)))
			}
		}
	}
	return ids
}

// queryFrame returns the first row of the first frame as name -> value.
func queryFrame(t *testing.T, base string, tr [2]int64, q map[string]any) map[string]any {
	t.Helper()
	resp := query(t, base, tr, q)
	row := map[string]any{}
	if len(resp.Frames) == 0 || resp.Frames[0].Rows() == 0 {
		t.Errorf("query %v returned no rows", q)
		return row
	}
	for _, f := range resp.Frames[0].Fields {
		v := f.At(0)
		switch x := v.(type) {
		case *string:
			v = *x
		case *float64:
			v = *x
		case int64:
			v = float64(x)
		case *int64:
			v = float64(*x)
		}
		row[f.Name] = v
	}
	return row
}

// query sends one query through Grafana's /api/ds/query, as the frontend does.
func query(t *testing.T, base string, tr [2]int64, q map[string]any) backend.DataResponse {
	t.Helper()
	q["refId"] = "A"
	q["datasource"] = map[string]string{"uid": "sessionreplay", "type": "seed-sessionreplay-datasource"}
	body, _ := json.Marshal(map[string]any{"queries": []any{q}, "from": fmt.Sprint(tr[0]), "to": fmt.Sprint(tr[1])})
	resp, err := http.Post(base+"/api/ds/query", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out backend.QueryDataResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("query %v: %v", q, err)
	}
	r := out.Responses["A"]
	if r.Error != nil {
		t.Fatalf("query %v: %v", q, r.Error)
	}
	return r
}

// harnessPages serves the replay panel harness page and its bundle.
func harnessPages(bundleDir, iconsDir string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/harness.css"></head>`+
			`<body style="margin:0"><div id="root"></div><script type="module" src="/harness.js"></script></body></html>`)
	})
	mux.Handle("/harness.js", http.FileServer(http.Dir(bundleDir)))
	mux.Handle("/harness.css", http.FileServer(http.Dir(bundleDir)))
	mux.Handle("/public/build/img/icons/", http.StripPrefix("/public/build/img/icons/", http.FileServer(http.Dir(iconsDir))))
	return mux
}

func runNode(t *testing.T, root string, out any, script string, args ...string) {
	t.Helper()
	cmd := exec.Command("node", append([]string{script}, args...)...)
	cmd.Dir = root
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stdout.String())
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var last string
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "{") {
			last = l
		}
	}
	if err := json.Unmarshal([]byte(last), out); err != nil {
		t.Fatalf("node %s printed no result: %v\n%s", script, err, stdout.String())
	}
}

func goBuild(t *testing.T, root, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	return filepath.Dir(filepath.Dir(wd)) // tests/e2e -> root
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitListening(t *testing.T, addr string, d time.Duration, logFile string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(logFile)
	t.Fatalf("collector not listening on %s after %s:\n%s", addr, d, log)
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}
