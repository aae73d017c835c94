//go:build e2e

// Package sdks is the real-SDK end-to-end test (issue 12): the browser SDKs
// teams already run — HyperDX @hyperdx/browser 0.26.0, Grafana Faro 2.12.1
// (web-sdk, instrumentation-replay, transport-otlp-http, web-tracing) and the
// plain OpenTelemetry JS logs SDK 0.223.1 with rrweb 2.0.0-alpha.20 —
// installed from npm at the versions pinned in tests/sdks/package.json,
// bundled into test pages with esbuild, driven in Chromium, sending through a
// recording proxy to our real collector, stored in the embedded ClickHouse and
// read back through the real Grafana backend plugin and replay panel. Run it
// with `go tool mage sdks` (which installs tests/sdks/node_modules and builds
// the panel harness first).
package sdks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/demoapp"
	"github.com/seed/sessionreplay/pkg/store"
	"github.com/seed/sessionreplay/tests/internal/stack"
)

func TestMain(m *testing.M) { os.Exit(chembedtest.Main(m)) }

// Screenshot thresholds of the replay against the live page at the click,
// on a 96x72 grid of mean colours, as in tests/e2e: the typed text is masked
// in the replay (asterisks where the live page shows letters).
const (
	maxMeanDiff = 6.0
	maxBadCells = 0.04
)

// sdkRun is one SDK's page set: its name, how long each page stays open
// (at least the SDK's export interval) and the rule expected to retain it.
type sdkRun struct {
	name   string
	settle time.Duration
}

var runs = []sdkRun{
	{"hyperdx", 6 * time.Second}, // HyperDX exports replay events every 5 s
	{"faro", 2 * time.Second},
	{"otel", 2 * time.Second},
}

type driveResult struct {
	SDK                        string            `json:"sdk"`
	SessionID                  string            `json:"sessionId"`
	FrameSessionID             string            `json:"frameSessionId"`
	TraceID                    string            `json:"traceId"`
	ClickTime                  int64             `json:"clickTime"`
	ErrorTime                  int64             `json:"errorTime"`
	PageLoads                  int               `json:"pageLoads"`
	SameSessionAfterNavigation bool              `json:"sameSessionAfterNavigation"`
	UserAgent                  string            `json:"userAgent"`
	Secrets                    map[string]string `json:"secrets"`
}

func TestRealBrowserSDKSessionsReplayCompletelyThroughTheReceiver(t *testing.T) {
	ctx := context.Background()
	root := stack.RepoRoot(t)
	out := t.TempDir()
	if dir := os.Getenv("SDK_E2E_ARTIFACTS"); dir != "" { // keep screenshots and captures for a person
		out = dir
		_ = os.MkdirAll(out, 0o755)
	}
	if _, err := os.Stat(filepath.Join(root, "tests/sdks/node_modules/@hyperdx/browser")); err != nil {
		t.Fatalf("the SDKs are not installed (run `go tool mage sdks`, which installs tests/sdks/package.json): %v", err)
	}
	for _, need := range []string{stack.PluginHostPage(root), filepath.Join(root, "dist/panel/module.js")} {
		if _, err := os.Stat(need); err != nil {
			t.Fatalf("%s is not built (run `go tool mage sdks`, which builds it): %v", need, err)
		}
	}

	// Each SDK's page bundle, built by esbuild from tests/sdks/pages.
	bundles := filepath.Join(t.TempDir(), "bundles")
	var none struct{}
	stack.RunNode(t, root, &none, "tests/sdks/build.mjs", bundles)

	conn, db := chembedtest.NewDatabase(t)
	otlpAddr := stack.FreeAddr(t)

	// The receiver's door: every SDK request passes the recording proxy.
	door := newRecorder("http://" + otlpAddr)
	proxy := httptest.NewServer(door)
	defer proxy.Close()

	// The shop's backend (shop-api -> payments, OTel Go SDK), whose checkout
	// fails; its spans go straight to the collector.
	shop, err := demoapp.Start(ctx, demoapp.Config{OTLPEndpoint: "http://" + otlpAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close(ctx)
	pagesHandler, err := pageServer(bundles, shop.URL, func(sdk string) string { return proxy.URL + "/" + sdk })
	if err != nil {
		t.Fatal(err)
	}
	pages := httptest.NewServer(pagesHandler)
	defer pages.Close()

	stack.StartCollector(t, root, filepath.Join(root, "tests/sdks/collector.yaml"), otlpAddr, filepath.Join(out, "collector.log"),
		"SDK_OTLP_ENDPOINT="+otlpAddr, "SDK_PAGES_ORIGIN="+pages.URL, "SDK_CLICKHOUSE_DSN="+chembedtest.DSN(db))
	grafana := stack.StartGrafana(t, root, db)
	reader := store.NewReader(conn, db)

	// People use the shop, one SDK after the other.
	drives := map[string]driveResult{}
	for _, run := range runs {
		var d driveResult
		dir := filepath.Join(out, run.name)
		stack.RunNode(t, root, &d, "tests/sdks/drive.mjs", pages.URL, run.name, dir, fmt.Sprint(run.settle.Milliseconds()))
		door.quiet(3*time.Second, 30*time.Second)
		t.Logf("%s: session %s (iframe %s), failing trace %s, %d page loads", run.name, d.SessionID, d.FrameSessionID, d.TraceID, d.PageLoads)
		drives[run.name] = d
		saveCaptured(t, filepath.Join(dir, "captured"), door.of(run.name))
	}
	_ = shop.ForceFlush(ctx)

	// A client retry: every SDK's replay requests sent once more, as they
	// were; the replays below must still hold each event once.
	for _, run := range runs {
		retries := 0
		for _, req := range door.of(run.name) {
			if req.Path == "/v1/logs" && retries < 2 {
				retry(t, "http://"+otlpAddr, req)
				retries++
			}
		}
	}

	t.Run("SplunkSegmentsAreRefusedByName", func(t *testing.T) { splunkRefused(t, "http://"+otlpAddr, reader) })

	now := time.Now()
	timeRange := [2]int64{now.Add(-time.Hour).UnixMilli(), now.Add(time.Minute).UnixMilli()}
	var secrets []string
	for _, run := range runs {
		d := drives[run.name]
		for _, s := range d.Secrets {
			secrets = append(secrets, s)
		}
		t.Run(run.name, func(t *testing.T) {
			checkSDKSession(t, sdkCheck{run: run, drive: d, sent: door.of(run.name), grafana: grafana, reader: reader, tr: timeRange, root: root, out: filepath.Join(out, run.name)})
		})
	}

	// Nothing typed reached ClickHouse: every row of every table, as text.
	a := stack.AuditSecrets(t, conn, db, secrets)
	t.Logf("privacy audit: %d tables, %d rows, %d bytes scanned for %d typed values", a.Tables, a.Rows, a.Bytes, len(secrets))
}

type sdkCheck struct {
	run     sdkRun
	drive   driveResult
	sent    []captured
	grafana *stack.Grafana
	reader  *store.Reader
	tr      [2]int64
	root    string
	out     string
}

func checkSDKSession(t *testing.T, c sdkCheck) {
	ctx := context.Background()
	d := c.drive
	if d.SessionID == "" || d.TraceID == "" {
		t.Fatalf("the drive found no session or trace: %+v", d)
	}
	if d.PageLoads < 4 || !d.SameSessionAfterNavigation {
		t.Errorf("%d page loads, same session after navigating %v: want 4 loads of one session", d.PageLoads, d.SameSessionAfterNavigation)
	}
	if d.FrameSessionID != d.SessionID {
		t.Errorf("the iframe's SDK has session %q, the page %q: want one session", d.FrameSessionID, d.SessionID)
	}
	for _, req := range c.sent {
		if req.Status != http.StatusOK {
			t.Errorf("%s %s answered %d: %s", c.run.name, req.Path, req.Status, req.Response)
		}
	}

	// What the SDK sent at the receiver's door, per stream, in its order.
	sent, err := sentEvents(c.run.name, c.sent)
	if err != nil {
		t.Fatal(err)
	}
	nSent := 0
	for _, s := range sent {
		nSent += len(s.Events)
		if s.SessionID != d.SessionID {
			t.Errorf("stream %s carries session %q, want %s", s.Key, s.SessionID, d.SessionID)
		}
	}
	if len(sent) < 2 || nSent < 20 {
		t.Fatalf("the SDK sent %d rrweb events in %d streams: want several page loads and the iframe", nSent, len(sent))
	}

	// 1. Retained by the backend-error rule (the payments span of the failing trace).
	var decisions []store.Decision
	if !stack.Eventually(60*time.Second, func() bool {
		decisions, err = c.reader.Decisions(ctx, d.SessionID)
		return err == nil && hasRule(decisions, "payments-errors")
	}) {
		t.Errorf("not retained by payments-errors (decisions %+v, %v)", decisions, err)
	} else if !stack.Eventually(30*time.Second, func() bool {
		n, _ := c.reader.ChunkCount(ctx, store.TableRetained, d.SessionID)
		return n > 0
	}) {
		t.Error("retained, but no chunk in the retained table")
	}

	// 2. Listed by the data source with browser, OS and device.
	var row map[string]any
	for _, r := range c.grafana.Rows(t, c.tr, map[string]any{"queryType": "sessions"}) {
		if r["session_id"] == d.SessionID {
			row = r
		}
	}
	if row == nil {
		t.Errorf("the data source does not list session %s", d.SessionID)
	} else {
		t.Logf("listed: browser=%v os=%v device=%v pages=%v clicks=%v errors=%v retained_rule=%v", row["browser"], row["os"], row["device"], row["pages"], row["clicks"], row["errors"], row["retained_rule"])
		if !strings.Contains(fmt.Sprint(row["browser"]), "Chrome") || row["os"] != "Linux" || row["device"] == "" {
			t.Errorf("listed with browser/os/device %v/%v/%v, want Chrome*/Linux/a device (user agent %q)", row["browser"], row["os"], row["device"], d.UserAgent)
		}
	}

	// 3. The plugin's replay stream returns every event sent, per window, in
	// the SDK's order, equal but for what the server masks.
	chunks := c.grafana.Replay(t, d.SessionID, filepath.Join(c.out, "replay.ndjson"))
	windows := map[string][]decoded{}
	nReplayed := 0
	for _, ch := range chunks {
		for _, raw := range ch.Events {
			ev, err := decode(raw)
			if err != nil {
				t.Fatalf("replayed event is not JSON: %v", err)
			}
			windows[ch.WindowID] = append(windows[ch.WindowID], ev)
			nReplayed++
		}
	}
	masked := maskedPaths{}
	for _, p := range matchStreams(sent, windows, masked) {
		t.Error(p)
	}
	for _, p := range masked.names() {
		t.Logf("masked by the server: %s", p)
	}
	if masked["type 3 source 5: data.text"] == 0 {
		t.Error("the server masked no input event: the typed values must come back masked")
	}
	for p := range masked {
		if !maskedOnPurpose(p) {
			t.Errorf("the server masked %s, which holds no typed value", p)
		}
	}

	// 4. Markers for the error and the clicks.
	markers := c.grafana.Rows(t, c.tr, map[string]any{"queryType": "markers", "sessionId": d.SessionID})
	kinds := map[string]int{}
	clickAtPay := false
	for _, m := range markers {
		kind := fmt.Sprint(m["kind"])
		kinds[kind]++
		if tm, ok := m["time"].(time.Time); ok && kind == "click" && tm.UnixMilli() >= d.ClickTime-1000 && tm.UnixMilli() <= d.ErrorTime+1000 {
			clickAtPay = true
		}
	}
	if kinds["error"] == 0 || kinds["click"] == 0 || !clickAtPay {
		t.Errorf("markers %v (a click at Pay: %v): want errors and clicks, one at the click on Pay", kinds, clickAtPay)
	}

	// 5. traceSession finds the session from the failing trace.
	frame := c.grafana.Frame(t, c.tr, map[string]any{"queryType": "traceSession", "traceId": d.TraceID})
	if frame["session_id"] != d.SessionID {
		t.Errorf("traceSession(%s) = %v, want %s", d.TraceID, frame["session_id"], d.SessionID)
	}

	t.Logf("SUMMARY %s: %d events sent in %d streams, %d replayed in %d windows, masked paths %d, markers %v",
		c.run.name, nSent, len(sent), nReplayed, len(windows), len(masked), kinds)

	// 6. The replay renders in the panel and looks like the live page at the click.
	if nReplayed == 0 {
		t.Error("nothing to render in the panel: the replay is empty")
		return
	}
	var cmp map[string]struct {
		MeanDiff   float64  `json:"meanDiff"`
		BadCells   float64  `json:"badCells"`
		CurrentMs  float64  `json:"currentMs"`
		Variance   float64  `json:"variance"`
		Text       string   `json:"text"`
		PageErrors []string `json:"pageErrors"`
	}
	stack.RunNode(t, c.root, &cmp, "tests/e2e/replay.mjs", c.grafana.URL, d.SessionID, c.out, fmt.Sprintf("click=%d", d.ClickTime))
	r, ok := cmp["click"]
	if !ok {
		t.Fatal("no replay comparison at the click")
	}
	t.Logf("replay at the click (player at %+.0f ms of it): mean cell difference %.2f (max %.0f), cells off %.1f%% (max %.0f%%), frame variance %.0f",
		r.CurrentMs-float64(d.ClickTime), r.MeanDiff, maxMeanDiff, r.BadCells*100, maxBadCells*100, r.Variance)
	if r.MeanDiff > maxMeanDiff || r.BadCells > maxBadCells {
		t.Errorf("the replay at the click does not match the live page (see %s/replay-click.png and live-click.png)", c.out)
	}
	if r.Variance < 100 {
		t.Error("the replay at the click is blank")
	}
	if !strings.Contains(r.Text, "Checkout") {
		t.Errorf("the replay at the click shows %q, want the checkout page", r.Text)
	}
	if len(r.PageErrors) > 0 {
		t.Errorf("panel page errors: %v", r.PageErrors)
	}
}

// maskedOnPurpose says whether a masked path is one where the server masks
// typed text on purpose (README, privacy): input events' text and the value
// attribute of inputs, in snapshots and in mutations. Text of the page
// itself must come back as sent (no mask_selectors in this test).
func maskedOnPurpose(path string) bool {
	_, p, _ := strings.Cut(path, ": ")
	return strings.HasPrefix(path, "type 3 source 5: ") && p == "data.text" || strings.HasSuffix(p, "attributes.value")
}

// retry sends a captured request to the collector again, headers as the SDK
// set them.
func retry(t *testing.T, collector string, req captured) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodPost, collector+req.Path, bytes.NewReader(req.Body))
	r.Header.Set("Content-Type", req.ContentType)
	if req.ContentEncoding != "" {
		r.Header.Set("Content-Encoding", req.ContentEncoding)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s retry of %s: HTTP %d", req.SDK, req.Path, resp.StatusCode)
	}
}

func hasRule(ds []store.Decision, rule string) bool {
	for _, d := range ds {
		if d.Rule == rule {
			return true
		}
	}
	return false
}

// saveCaptured writes the raw request bodies an SDK sent, in order, with
// what each was (for a person, and for tests/sdks/testdata/captured).
func saveCaptured(t *testing.T, dir string, reqs []captured) {
	t.Helper()
	_ = os.MkdirAll(dir, 0o755)
	var index []map[string]any
	for i, r := range reqs {
		ext := ".pb"
		if strings.HasPrefix(r.ContentType, "application/json") {
			ext = ".json"
		}
		if strings.EqualFold(r.ContentEncoding, "gzip") {
			ext += ".gz"
		}
		name := fmt.Sprintf("%03d-%s%s", i, strings.Trim(strings.ReplaceAll(r.Path, "/", "-"), "-"), ext)
		if err := os.WriteFile(filepath.Join(dir, name), r.Body, 0o644); err != nil {
			t.Fatal(err)
		}
		index = append(index, map[string]any{"file": name, "path": r.Path, "contentType": r.ContentType,
			"contentEncoding": r.ContentEncoding, "status": r.Status, "response": string(r.Response)})
	}
	b, _ := json.MarshalIndent(index, "", "  ")
	_ = os.WriteFile(filepath.Join(dir, "index.json"), b, 0o644)
}
