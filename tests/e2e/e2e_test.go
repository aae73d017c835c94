//go:build e2e

// Package e2e follows one real session from a browser to its replay: the demo
// shop with the recorder in Chromium, the collector with the sessionreplay
// receiver (from tests/e2e/collector.yaml), the embedded ClickHouse, the
// Grafana backend plugin started as Grafana starts it, and the replay panel of
// the built plugin (dist/, loaded with SystemJS by pkg/pluginhost.Host as
// Grafana loads it) playing the stored events in Chromium. Run it with
// `go tool mage e2e`, which builds the recorder, dist/ and the host page first.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
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
	DeadClickTime              int64             `json:"deadClickTime"`
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
	for _, need := range []string{filepath.Join(root, "recorder/dist/sessionreplay-full.min.js"), stack.PluginHostPage(root), filepath.Join(root, "dist/panel/module.js")} {
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
	stack.StartCollector(t, root, filepath.Join(root, "tests/e2e/collector.yaml"), otlpAddr, filepath.Join(out, "collector.log"),
		"E2E_OTLP_ENDPOINT="+otlpAddr, "E2E_SHOP_ORIGIN="+shop.URL, "E2E_CLICKHOUSE_DSN="+dsn)

	// The Grafana backend plugin, started as Grafana starts it, behind
	// Grafana's data source APIs, in the host that serves dist/ as Grafana does.
	grafana := stack.StartGrafana(t, root, db)

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
	if summary.ServiceName != "shop-web" { // the recorder tag's data-service-name
		t.Errorf("service name = %q, want shop-web", summary.ServiceName)
	}
	now := time.Now()
	timeRange := [2]int64{now.Add(-time.Hour).UnixMilli(), now.Add(time.Minute).UnixMilli()}
	listed := grafana.SessionIDs(t, timeRange, map[string]any{
		"queryType": "sessions", "retainedOnly": true,
		"adhocFilters": []map[string]string{{"key": "browser", "operator": "=", "value": summary.Browser}, {"key": "os", "operator": "=", "value": "Linux"}},
	})
	if len(listed) != 1 || listed[0] != drive.SessionID {
		t.Errorf("retained sessions listed for browser+os filters = %v, want [%s]", listed, drive.SessionID)
	}
	all := grafana.SessionIDs(t, timeRange, map[string]any{"queryType": "sessions"})
	if !contains(all, drive.OtherSessionID) || !contains(all, drive.SessionID) {
		t.Errorf("all sessions = %v, want both", all)
	}
	none := grafana.SessionIDs(t, timeRange, map[string]any{"queryType": "sessions",
		"adhocFilters": []map[string]string{{"key": "os", "operator": "=", "value": "Windows"}}})
	if len(none) != 0 {
		t.Errorf("os=Windows listed %v", none)
	}

	// The same list from the built data source (dist/datasource/module.js in
	// Chromium): its ad hoc filter keys and values, then the filtered sessions.
	var fromDist struct {
		Keys          []string            `json:"keys"`
		Values        map[string][]string `json:"values"`
		Filtered, All struct {
			Error  string `json:"error"`
			Frames []struct {
				SessionIDs []string `json:"sessionIds"`
			} `json:"frames"`
		}
		PageErrors []string `json:"pageErrors"`
	}
	runNode(t, root, &fromDist, "tests/pluginhost/drive.mjs", grafana.URL, "sessions", fmt.Sprint(timeRange[0]), fmt.Sprint(timeRange[1]),
		"browser="+summary.Browser, "os=Linux")
	if !contains(fromDist.Keys, "browser") || !contains(fromDist.Keys, "os") || !contains(fromDist.Values["os"], "Linux") || !contains(fromDist.Values["browser"], summary.Browser) {
		t.Errorf("ad hoc filters from the built data source: keys %v, values %v", fromDist.Keys, fromDist.Values)
	}
	t.Logf("built data source in Chromium: ad hoc keys %v, os values %v", fromDist.Keys, fromDist.Values["os"])
	if f := fromDist.Filtered; f.Error != "" || len(f.Frames) != 1 || strings.Join(f.Frames[0].SessionIDs, ",") != drive.SessionID {
		t.Errorf("built data source, retained sessions for browser+os filters = %+v, want [%s]", f, drive.SessionID)
	}
	if a := fromDist.All; a.Error != "" || len(a.Frames) != 1 || !contains(a.Frames[0].SessionIDs, drive.OtherSessionID) || len(fromDist.PageErrors) > 0 {
		t.Errorf("built data source, all sessions = %+v (page errors %v), want both", a, fromDist.PageErrors)
	}

	// 3b. The markers the panel lists, through the data source's markers query:
	// the click on "Pay" named by its text, the page's console error, and the
	// dead click on "Apply coupon" (judged once the session settled).
	checkSignals(t, grafana, reader, drive, timeRange)

	// 4. traceSession of the failing trace: this session, at the error.
	frame := grafana.Frame(t, timeRange, map[string]any{"queryType": "traceSession", "traceId": drive.TraceID})
	if got := frame["session_id"]; got != drive.SessionID {
		t.Errorf("traceSession session_id = %v, want %s", got, drive.SessionID)
	}
	offset, _ := frame["offset_ms"].(float64)
	start := summary.Start.UnixMilli()
	if lo, hi := float64(drive.ClickTime-start-1000), float64(drive.ErrorTime-start+1000); offset < lo || offset > hi {
		t.Errorf("traceSession offset_ms = %v, want between %v and %v (click..error)", offset, lo, hi)
	}

	// 5. Nothing typed reached ClickHouse: every row of every table, as text.
	var secrets []string
	for _, v := range drive.Secrets {
		secrets = append(secrets, v)
	}
	a := stack.AuditSecrets(t, conn, db, secrets)
	t.Logf("privacy audit: %d tables, %d rows, %d bytes scanned for %d typed values", a.Tables, a.Rows, a.Bytes, len(secrets))

	// 6. The replay events, streamed by the plugin: a full snapshot first,
	// every event in time order, the page's URLs.
	checkReplayStream(t, grafana, drive, filepath.Join(out, "replay.ndjson"))

	if hold := os.Getenv("E2E_HOLD"); hold != "" { // keep the stack up to look at it by hand
		d, _ := time.ParseDuration(hold)
		t.Logf("holding %s: grafana API + the built panel at %s/host/panel?var-session=%s&var-replay_time=%d", d, grafana.URL, drive.SessionID, drive.ErrorTime)
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
		TraceLinks []string `json:"traceLinks"`
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
	// The timeline's markers link to their traces in the traces data source.
	if c := cmp["error"]; !anyContains(c.TraceLinks, drive.TraceID) {
		t.Errorf("no trace link to the failing trace %s among the timeline's links %v", drive.TraceID, c.TraceLinks)
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

	// 8. The panel's lists say what happened (issue 17).
	checkPlayerLists(t, root, grafana, drive, summary, out)
}

// checkPlayerLists opens the session in the built panel at the error and
// checks what an SRE reads there: the click on "Pay" named by its text, the
// failing POST /api/checkout with its status in the network panel linked to
// its trace, the console error, and the dead click; and its details drawer.
func checkPlayerLists(t *testing.T, root string, grafana *stack.Grafana, drive driveResult, summary store.SessionSummary, out string) {
	t.Helper()
	var got struct {
		Events []struct {
			Kind  string `json:"kind"`
			Label string `json:"label"`
		} `json:"events"`
		Console []struct {
			Level string `json:"level"`
			Text  string `json:"text"`
		} `json:"console"`
		Network []struct {
			Text   string `json:"text"`
			Failed bool   `json:"failed"`
			Status string `json:"status"`
			Trace  string `json:"trace"`
		} `json:"network"`
		MarkerKinds []string `json:"markerKinds"`
		Details     struct {
			Device, OS, Browser, EntryURL string
			Pages                         []string
		} `json:"details"`
		PageErrors []string `json:"pageErrors"`
	}
	runNode(t, root, &got, "tests/e2e/player.mjs", grafana.URL, drive.SessionID, out, fmt.Sprint(drive.ErrorTime))
	t.Logf("panel lists: events %+v; console %+v; network %+v (screenshots %s/panel-*.png)", got.Events, got.Console, got.Network, out)
	payClick, deadClick := false, false
	for _, e := range got.Events {
		payClick = payClick || (e.Kind == "click" || e.Kind == "rage_click") && strings.Contains(e.Label, `"Pay`)
		deadClick = deadClick || e.Kind == "dead_click" && e.Label != "" && e.Label != "click"
	}
	if !payClick {
		t.Errorf("no click named by the text of the Pay button among the events %+v", got.Events)
	}
	if !deadClick || !contains(got.MarkerKinds, "dead_click") {
		t.Errorf("no named dead click among the events %+v / timeline markers %v", got.Events, got.MarkerKinds)
	}
	checkout := false
	for _, r := range got.Network {
		if strings.Contains(r.Text, "POST") && strings.Contains(r.Text, "/api/checkout") {
			checkout = true
			if !r.Failed || r.Status == "" || r.Status == "200" {
				t.Errorf("the checkout request shows status %q (failed %v), want its error status", r.Status, r.Failed)
			}
			if !strings.Contains(r.Trace, drive.TraceID) {
				t.Errorf("the checkout request links to %q, want the trace %s", r.Trace, drive.TraceID)
			}
		}
	}
	if !checkout {
		t.Errorf("no POST /api/checkout in the network panel %+v", got.Network)
	}
	consoleError := false
	for _, c := range got.Console {
		consoleError = consoleError || c.Level == "error" && strings.TrimSpace(c.Text) != ""
	}
	if !consoleError {
		t.Errorf("no console error in the console panel %+v", got.Console)
	}
	// the details drawer: the session's row through the data source's session query
	if d := got.Details; d.OS != summary.OS || d.Browser != summary.Browser || d.Device != summary.Device ||
		d.EntryURL != summary.EntryURL || strings.Join(d.Pages, " ") != strings.Join(summary.URLs, " ") {
		t.Errorf("details drawer %+v, want the session's %s/%s/%s, entry %s, pages %v", d, summary.Device, summary.OS, summary.Browser, summary.EntryURL, summary.URLs)
	}
	if len(got.PageErrors) > 0 {
		t.Errorf("panel page errors: %v", got.PageErrors)
	}
}

func checkReplayStream(t *testing.T, grafana *stack.Grafana, drive driveResult, save string) {
	t.Helper()
	var events []struct {
		Type      int   `json:"type"`
		Timestamp int64 `json:"timestamp"`
	}
	size := 0
	for _, c := range grafana.Replay(t, drive.SessionID, save) {
		for _, e := range c.Events {
			var ev struct {
				Type      int   `json:"type"`
				Timestamp int64 `json:"timestamp"`
			}
			_ = json.Unmarshal(e, &ev)
			events = append(events, ev)
			size += len(e)
		}
	}
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
	t.Logf("replay stream: %d events (%d up to the error), %d bytes of events", len(events), atError, size)
}

func checkSignals(t *testing.T, grafana *stack.Grafana, reader *store.Reader, drive driveResult, timeRange [2]int64) {
	t.Helper()
	var rows []map[string]any
	find := func(kind, name string) map[string]any {
		for _, r := range rows {
			if r["kind"] == kind && (name == "" || r["name"] == name) {
				return r
			}
		}
		return nil
	}
	const coupon = `span#coupon.coupon "Apply coupon"`
	waitFor(t, 30*time.Second, "the dead click marker", func() bool {
		rows = grafana.Rows(t, timeRange, map[string]any{"queryType": "markers", "sessionId": drive.SessionID})
		return find("dead_click", coupon) != nil
	})
	if find("click", `button#pay "Pay 20 €"`) == nil {
		t.Errorf(`no click marker named button#pay "Pay 20 €" among %v`, markerNames(rows, "click"))
	}
	if c := find("console", "error"); c == nil || !strings.Contains(fmt.Sprint(c["detail"]), "checkout failed: HTTP 502") {
		t.Errorf("no console error marker with the page's message: %v", markerNames(rows, "console"))
	}
	d := find("dead_click", coupon)
	if at, ok := d["time"].(time.Time); ok && (at.UnixMilli() < drive.DeadClickTime || at.UnixMilli() > drive.DeadClickTime+1000) {
		t.Errorf("dead click at %v, the coupon was clicked at %d", at, drive.DeadClickTime)
	}
	for _, r := range rows {
		if r["kind"] == "dead_click" && strings.HasPrefix(fmt.Sprint(r["name"]), "button#pay") {
			t.Errorf("the Pay click, answered by the page, is marked dead: %v", r)
		}
	}
	sum, _, err := reader.Session(context.Background(), drive.SessionID)
	if err != nil || sum.DeadClicks < 1 {
		t.Errorf("session summary dead_clicks = %d (%v)", sum.DeadClicks, err)
	}
	t.Logf("signals: clicks %v, console %v, dead clicks %v", markerNames(rows, "click"), markerNames(rows, "console"), markerNames(rows, "dead_click"))
}

func markerNames(rows []map[string]any, kind string) []string {
	var out []string
	for _, r := range rows {
		if r["kind"] == kind {
			out = append(out, fmt.Sprint(r["name"]))
		}
	}
	return out
}

func hasRule(ds []store.Decision, rule string) bool {
	for _, d := range ds {
		if d.Rule == rule {
			return true
		}
	}
	return false
}

func anyContains(xs []string, sub string) bool {
	for _, v := range xs {
		if strings.Contains(v, sub) {
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
