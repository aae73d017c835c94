//go:build dist

// Package pluginhost_test loads the built plugin — dist/, what a user copies
// into Grafana — the way Grafana 11.6–13 loads it: SystemJS 6.15.1 with the amd
// and named-register extras, Grafana's shared modules from the npm versions
// the plugin builds against, module.js of the app and of the nested data
// source and panel from public/plugins/<app id>/..., over the real backend
// executable from dist/datasource/ on the embedded ClickHouse, in Debian's
// Chromium. Run it with `go tool mage dist` (builds dist/ and the host page).
package pluginhost_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/fixtures"
	"github.com/seed/sessionreplay/pkg/pluginhost"
	"github.com/seed/sessionreplay/pkg/store"
)

func TestMain(m *testing.M) { os.Exit(chembedtest.Main(m)) }

const appID = "seed-sessionreplay-app"

// seeded is the session written for the host's tests: a real rrweb recording
// (shared/fixtures/rrweb/rrweb-player-demo-demoit.events.json, see its README)
// retained, with one error marker linked to a trace at 70% of it.
type seeded struct {
	ID, TraceID string
	Start, End  time.Time
	ErrorAt     time.Time
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	return filepath.Dir(filepath.Dir(wd)) // tests/pluginhost -> root
}

// backendExecutable is dist/'s executable for this machine, named as Grafana
// looks for it.
func backendExecutable(t *testing.T, dist string) string {
	t.Helper()
	bin := filepath.Join(dist, "datasource", fmt.Sprintf("gpx_sessionreplay_%s_%s", runtime.GOOS, runtime.GOARCH))
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is not built (run `go tool mage dist`): %v", bin, err)
	}
	return bin
}

type stack struct {
	url  string
	host *pluginhost.Host
	api  *pluginhost.API
	db   string
	s    seeded
}

// startStack seeds a session, starts dist/'s backend and serves dist (or a
// copy of it) through the host. jsonData is the data source's settings; "" is
// the settings of the seeded database.
func startStack(t *testing.T, dist string, jsonData func(db string) map[string]any) *stack {
	t.Helper()
	root := repoRoot(t)
	for _, need := range []string{filepath.Join(dist, "module.js"), filepath.Join(root, "node_modules/.cache/sessionreplay-plugin-host/host.js")} {
		if _, err := os.Stat(need); err != nil {
			t.Fatalf("%s is not built (run `go tool mage dist`): %v", need, err)
		}
	}
	conn, db := chembedtest.NewDatabase(t)
	opts := store.DefaultSchemaOptions()
	opts.Database = db
	if _, err := store.Migrate(context.Background(), conn, opts); err != nil {
		t.Fatal(err)
	}
	s := seedSession(t, store.NewWriter(conn, db))

	plugin, err := pluginhost.Start(backendExecutable(t, filepath.Join(root, "dist")), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plugin.Kill)
	settings := map[string]any{"addresses": []string{chembedtest.Addr()}, "database": db, "protocol": "native", "tracesDatasourceUid": "tempo"}
	if jsonData != nil {
		settings = jsonData(db)
	}
	raw, _ := json.Marshal(settings)
	api := &pluginhost.API{
		Plugin: plugin, PluginID: "seed-sessionreplay-datasource",
		Settings: &pluginv2.DataSourceInstanceSettings{Id: 1, Uid: "sessionreplay", Name: "Session Replay", JsonData: raw, LastUpdatedMS: 1},
	}
	host := &pluginhost.Host{
		API: api, Dist: dist,
		Shared:   filepath.Join(root, "node_modules/.cache/sessionreplay-plugin-host"),
		SystemJS: filepath.Join(root, "node_modules/systemjs/dist"),
		Icons:    filepath.Join(root, "node_modules/@grafana/ui/dist/public/img/icons"),
	}
	if err := host.Init(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(host)
	t.Cleanup(srv.Close)
	return &stack{url: srv.URL, host: host, api: api, db: db, s: s}
}

func seedSession(t *testing.T, w *store.Writer) seeded {
	t.Helper()
	var events []json.RawMessage
	if err := json.Unmarshal(fixtures.Read(t, "rrweb", "rrweb-player-demo-demoit.events.json"), &events); err != nil {
		t.Fatal(err)
	}
	// Move the recording to now, so it is inside the host's default time range.
	type head struct {
		Type      int   `json:"type"`
		Timestamp int64 `json:"timestamp"`
	}
	heads := make([]head, len(events))
	for i, e := range events {
		_ = json.Unmarshal(e, &heads[i])
	}
	shift := time.Now().Add(-10*time.Minute).UnixMilli() - heads[0].Timestamp
	s := seeded{ID: "host-demoit", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}
	var batch store.Batch
	var chunk *store.Chunk
	var data bytes.Buffer
	flush := func() {
		if chunk == nil {
			return
		}
		data.WriteByte(']')
		chunk.Data = append([]byte(nil), data.Bytes()...)
		batch.Retained = append(batch.Retained, *chunk)
		chunk = nil
	}
	for i, e := range events {
		ts := time.UnixMilli(heads[i].Timestamp + shift)
		// A new chunk at every meta event (a full snapshot follows) or after 5 s, as the recorder ships them.
		if chunk == nil || heads[i].Type == 4 || ts.Sub(chunk.Start) > 5*time.Second {
			flush()
			chunk = &store.Chunk{SessionID: s.ID, WindowID: "w1", Seq: uint64(len(batch.Retained)), Start: ts, ServiceName: "shop-web"}
			data.Reset()
			data.WriteByte('[')
		} else {
			data.WriteByte(',')
		}
		// Rewrite the timestamp: the event's JSON with the shifted time.
		var m map[string]json.RawMessage
		_ = json.Unmarshal(e, &m)
		m["timestamp"] = json.RawMessage(fmt.Sprint(ts.UnixMilli()))
		b, _ := json.Marshal(m)
		data.Write(b)
		chunk.End, chunk.EventCount = ts, chunk.EventCount+1
		if heads[i].Type == 2 {
			chunk.FullSnapshot = true
		}
	}
	flush()
	s.Start, s.End = batch.Retained[0].Start, batch.Retained[len(batch.Retained)-1].End
	s.ErrorAt = s.Start.Add(s.End.Sub(s.Start) * 7 / 10)
	batch.Sessions = []store.SessionSummary{{SessionID: s.ID, Start: s.Start, End: s.End, Chunks: uint64(len(batch.Retained)),
		Events: uint64(len(events)), Errors: 1, EntryURL: "https://demoit.app/", URLs: []string{"https://demoit.app/"},
		ServiceName: "shop-web", Browser: "Chrome 131", OS: "Linux", Device: "Desktop"}}
	batch.Events = []store.Event{{SessionID: s.ID, Time: s.ErrorAt, Kind: store.KindError, Name: "Error", Detail: "payment declined",
		URL: "https://demoit.app/", TraceID: s.TraceID, SpanID: "00f067aa0ba902b7", WindowID: "w1", ID: 1}}
	batch.Links = []store.TraceLink{{TraceID: s.TraceID, SessionID: s.ID, SpanID: "00f067aa0ba902b7", ServiceName: "payments", Time: s.ErrorAt, IsError: true}}
	batch.Decisions = []store.Decision{{SessionID: s.ID, Rule: "errors", TriggerTime: s.ErrorAt, TraceID: s.TraceID}}
	if err := w.Write(context.Background(), &batch); err != nil {
		t.Fatal(err)
	}
	return s
}

// hostResult is what tests/pluginhost/drive.mjs prints, whatever the check.
type hostResult struct {
	Loaded     map[string][]string `json:"loaded"`
	Error      string              `json:"error"`
	Modules    []string            `json:"modules"`
	PageErrors []string            `json:"pageErrors"`

	Text  string   `json:"text"`
	Links []string `json:"links"`

	CurrentMs    float64  `json:"currentMs"`
	AfterPlayMs  float64  `json:"afterPlayMs"`
	ReplayedText string   `json:"replayedText"`
	Markers      int      `json:"markers"`
	TraceLinks   []string `json:"traceLinks"`

	Before struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"before"`
	After struct {
		Status int `json:"status"` // of the PUT
		Health struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"health"`
	} `json:"after"`
	Stored struct {
		JSONData map[string]any `json:"jsonData"`
	} `json:"stored"`
	Sessions queryResult `json:"sessions"`

	Built   map[string]map[string]any `json:"built"`
	Results map[string]queryResult    `json:"results"`

	Message string `json:"message"`
}

type queryResult struct {
	Error  string `json:"error"`
	Frames []struct {
		Name   string   `json:"name"`
		Length int      `json:"length"`
		Fields []string `json:"fields"`
	} `json:"frames"`
}

func drive(t *testing.T, args ...string) hostResult {
	t.Helper()
	cmd := exec.Command("node", append([]string{"tests/pluginhost/drive.mjs"}, args...)...)
	cmd.Dir = repoRoot(t)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("drive.mjs %v: %v\n%s", args, err, stdout.String())
	}
	var last string
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "{") {
			last = l
		}
	}
	var r hostResult
	if err := json.Unmarshal([]byte(last), &r); err != nil {
		t.Fatalf("drive.mjs %v printed no result: %v\n%s", args, err, stdout.String())
	}
	return r
}

// mustLoad fails unless every module was loaded from dist/ by SystemJS and
// exported a plugin, and the page had no error.
func mustLoad(t *testing.T, r hostResult, modules ...string) {
	t.Helper()
	if r.Error != "" || len(r.PageErrors) > 0 {
		t.Fatalf("host error %q, page errors %v", r.Error, r.PageErrors)
	}
	for _, m := range modules {
		if !contains(r.Modules, "/public/plugins/"+appID+"/"+m) {
			t.Errorf("%s was not loaded (loaded %v)", m, r.Modules)
		}
	}
	for id, exports := range r.Loaded {
		if !contains(exports, "plugin") {
			t.Errorf("%s exports %v", id, exports)
		}
	}
}

func TestBuiltAppPageRendersThroughSystemJS(t *testing.T) {
	root := repoRoot(t)
	st := startStack(t, filepath.Join(root, "dist"), nil)
	r := drive(t, st.url, "app")
	mustLoad(t, r, "module.js")
	if !strings.Contains(r.Text, "Session Replay") || !contains(r.Links, "/d/sessionreplay-sessions") {
		t.Errorf("app page shows %q with links %v", r.Text, r.Links)
	}
}

func TestBuiltPanelPlaysASessionFromTheBackend(t *testing.T) {
	root := repoRoot(t)
	st := startStack(t, filepath.Join(root, "dist"), nil)
	at := st.s.Start.Add(3 * time.Second).UnixMilli()
	r := drive(t, st.url, "panel", st.s.ID, fmt.Sprint(at))
	mustLoad(t, r, "panel/module.js", "datasource/module.js")
	if d := r.CurrentMs - float64(at); d < -1500 || d > 1500 {
		t.Errorf("panel stands at %v, want %d", r.CurrentMs, at)
	}
	if r.AfterPlayMs <= r.CurrentMs {
		t.Errorf("playing did not move the clock: %v -> %v", r.CurrentMs, r.AfterPlayMs)
	}
	if len(r.ReplayedText) < 20 {
		t.Errorf("the replayed page shows %q", r.ReplayedText)
	}
	if r.Markers == 0 || len(r.TraceLinks) == 0 || !strings.Contains(r.TraceLinks[0], st.s.TraceID) || !strings.Contains(r.TraceLinks[0], "tempo") {
		t.Errorf("timeline has %d markers, trace links %v; want the error marker with its trace", r.Markers, r.TraceLinks)
	}
	t.Logf("panel at %+.0f ms of %d, %.0f ms after 1.5 s of play; %d markers, trace links %v", r.CurrentMs-float64(at), at, r.AfterPlayMs-r.CurrentMs, r.Markers, r.TraceLinks)
}

func TestBuiltConfigEditorSavesSettingsTheBackendAccepts(t *testing.T) {
	root := repoRoot(t)
	st := startStack(t, filepath.Join(root, "dist"), func(string) map[string]any {
		return map[string]any{"addresses": []string{chembedtest.Addr()}, "database": "no_such_database", "protocol": "native"}
	})
	r := drive(t, st.url, "config", st.db)
	mustLoad(t, r, "datasource/module.js")
	// testDatasource() of the SDK's DataSourceWithBackend maps the backend's OK to "success".
	if r.Before.Status != "error" || !strings.Contains(r.Before.Message, "no_such_database") {
		t.Errorf("health with a missing database: %s %q, want an error naming it", r.Before.Status, r.Before.Message)
	}
	if r.After.Status != 200 || r.After.Health.Status != "success" {
		t.Errorf("after saving database %s: PUT %v, health %s %q", st.db, r.After.Status, r.After.Health.Status, r.After.Health.Message)
	}
	t.Logf("health before: %s %q; after saving database %s: %s %q", r.Before.Status, r.Before.Message, st.db, r.After.Health.Status, r.After.Health.Message)
	if r.Stored.JSONData["database"] != st.db {
		t.Errorf("stored jsonData %v, want database %s", r.Stored.JSONData, st.db)
	}
	if got := st.api.CurrentSettings(); !strings.Contains(string(got.JsonData), st.db) || got.LastUpdatedMS < 3 {
		t.Errorf("backend settings %s (version %d)", got.JsonData, got.LastUpdatedMS)
	}
	if r.Sessions.Error != "" || len(r.Sessions.Frames) == 0 || r.Sessions.Frames[0].Length != 1 {
		t.Errorf("sessions with the saved settings: %+v", r.Sessions)
	}
}

func TestBuiltQueryEditorBuildsEveryQueryType(t *testing.T) {
	root := repoRoot(t)
	st := startStack(t, filepath.Join(root, "dist"), nil)
	r := drive(t, st.url, "query", st.s.ID, st.s.TraceID)
	mustLoad(t, r, "datasource/module.js")
	want := map[string]struct {
		key, value string
		minRows    int
	}{
		"sessions": {minRows: 1}, "stats": {minRows: 1},
		"markers":      {"sessionId", st.s.ID, 1},
		"traceSession": {"traceId", st.s.TraceID, 1},
	}
	for qt, w := range want {
		q := r.Built[qt]
		if q["queryType"] != qt {
			t.Errorf("%s: the editor built %v", qt, q)
			continue
		}
		if w.key != "" && q[w.key] != w.value {
			t.Errorf("%s: %s = %v, want %s", qt, w.key, q[w.key], w.value)
		}
		res := r.Results[qt]
		if res.Error != "" || len(res.Frames) == 0 || res.Frames[0].Length < w.minRows {
			t.Errorf("%s: the backend answered %+v", qt, res)
		}
	}
}

// A module without the `plugin` export is refused by the loader, as Grafana
// refuses it: a broken artifact fails here, not in a user's Grafana.
func TestModuleWithoutPluginExportFailsToLoad(t *testing.T) {
	root := repoRoot(t)
	broken := copyDist(t, filepath.Join(root, "dist"))
	if err := os.WriteFile(filepath.Join(broken, "panel", "module.js"), []byte(`define(["@grafana/data"], function (data) { return { PanelPlugin: data.PanelPlugin }; });`), 0o644); err != nil {
		t.Fatal(err)
	}
	st := startStack(t, broken, nil)
	r := drive(t, st.url, "error", "panel")
	if !strings.Contains(r.Message, `no "plugin" export`) {
		t.Errorf("broken panel module: %q", r.Message)
	}
}

// copyDist copies the frontend part of dist/ (not the executables).
func copyDist(t *testing.T, dist string) string {
	t.Helper()
	out := t.TempDir()
	err := filepath.WalkDir(dist, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dist, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(out, rel), 0o755)
		}
		if strings.HasPrefix(d.Name(), "gpx_") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(out, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
