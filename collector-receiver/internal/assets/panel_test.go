package assets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/seed/sessionreplay/collector-receiver/internal/assets"
	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/pluginhost"
	"github.com/seed/sessionreplay/pkg/store"
)

// The replay panel in Chromium over the real plugin binary, on sessions whose
// stylesheets the extractor took out as assets: where the assets are put
// back (the backend, or the panel fetching each once), side by side.

// repoRoot is the module's root, from this package's folder.
const repoRoot = "../../.."

// repeated is the real smartx-90s recording played n times in a row (a full
// snapshot every 90 s), starting at base, as session id of site smartx.
func repeated(tb testing.TB, id string, n int, base time.Time) session {
	one := loadEvents(tb, "smartx-90s.events.json")
	span := one[len(one)-1].Timestamp - one[0].Timestamp + 1000
	shift := base.UnixMilli() - one[0].Timestamp
	var evs []event
	for r := int64(0); r < int64(n); r++ {
		for _, e := range one {
			evs = append(evs, at(tb, e, e.Timestamp+r*span+shift))
		}
	}
	return session{id: id, site: "smartx", events: evs}
}

// storeWithAssets writes sessions as the receiver does: assets extracted,
// chunks in the buffer table.
func storeWithAssets(tb testing.TB, w *store.Writer, sessions ...session) {
	tb.Helper()
	for _, s := range sessions {
		chunks := s.chunks()
		for i := range chunks {
			if err := (assets.Extractor{}).Apply(&chunks[i]); err != nil {
				tb.Fatal(err)
			}
		}
		if err := w.WriteChunks(context.Background(), store.TableBuffer, chunks); err != nil {
			tb.Fatal(err)
		}
	}
}

// panelPage serves the panel's test page (tests/panel/harness.tsx, bundled by
// tests/panel/build-harness.mjs) and Grafana's data source API from the
// plugin binary, built from ./pkg and started as Grafana starts it, reading
// database db. It returns the page's base URL.
func panelPage(tb testing.TB, db string) string {
	tb.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		tb.Fatal(err)
	}
	node := exec.Command("node", "tests/panel/build-harness.mjs")
	node.Dir = root
	if out, err := node.CombinedOutput(); err != nil {
		tb.Fatalf("build the panel page: %v\n%s", err, out)
	}
	bin := filepath.Join(tb.TempDir(), "gpx_sessionreplay")
	build := exec.Command("go", "build", "-o", bin, "./pkg")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("go build ./pkg: %v\n%s", err, out)
	}
	plugin, err := pluginhost.Start(bin, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(plugin.Kill)
	bundle := filepath.Join(root, "node_modules/.cache/sessionreplay-panel-harness")
	static := http.NewServeMux()
	static.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/harness.css"></head>`+
			`<body style="margin:0"><div id="root"></div><script type="module" src="/harness.js"></script></body></html>`)
	})
	static.HandleFunc("GET /harness.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(bundle, "harness.js"))
	})
	static.HandleFunc("GET /harness.css", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(bundle, "harness.css"))
	})
	static.Handle("GET /public/build/img/icons/", http.StripPrefix("/public/build/img/icons/",
		http.FileServer(http.Dir(filepath.Join(root, "node_modules/@grafana/ui/dist/public/img/icons")))))
	settings, _ := json.Marshal(map[string]any{"addresses": []string{chembedtest.Addr()}, "database": db, "protocol": "native"})
	srv := httptest.NewServer(&pluginhost.API{Plugin: plugin, PluginID: "seed-sessionreplay-datasource", Static: static,
		Settings: &pluginv2.DataSourceInstanceSettings{Id: 1, Uid: "sessionreplay", Name: "Session Replay", JsonData: settings, LastUpdatedMS: 1}})
	tb.Cleanup(srv.Close)
	return srv.URL
}

// inChromium runs tests/panel/bench-assets.mjs with cfg and returns its
// output: the lines it prints and the figures of its last "JSON " line.
func inChromium(tb testing.TB, cfg map[string]any, figures any) string {
	tb.Helper()
	raw, _ := json.Marshal(cfg)
	root, _ := filepath.Abs(repoRoot)
	cmd := exec.Command("node", "tests/panel/bench-assets.mjs")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "BENCH_ASSETS="+string(raw))
	var stderr bytes.Buffer
	cmd.Stderr = io.MultiWriter(&stderr, os.Stderr) // its "#" lines: where the time goes
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("bench-assets.mjs: %v\n%s\n%s", err, out, stderr.String())
	}
	text := strings.TrimSpace(string(out))
	last := text[strings.LastIndex(text, "\n")+1:]
	if !strings.HasPrefix(last, "JSON ") {
		tb.Fatalf("bench-assets.mjs printed no figures:\n%s\n%s", text, stderr.String())
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(last, "JSON ")), figures); err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(strings.TrimSuffix(text, last))
}

func TestPanelReinliningAssetsShowsTheFrameOfTheBackendsWholeEvents(t *testing.T) {
	conn, db := chembedtest.NewMigratedDatabase(t)
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
	s := repeated(t, "three-minutes", 2, base)
	storeWithAssets(t, store.NewWriter(conn, db), s)
	url := panelPage(t, db)
	var got struct {
		SamePixels    bool `json:"samePixels"`
		SameDocument  bool `json:"sameDocument"`
		DocumentChars int  `json:"documentChars"`
		AssetRequests int  `json:"assetRequests"`
		Bytes         int  `json:"bytes"`
	}
	// the second play's snapshot and two minutes in: a frame with the page's stylesheets applied
	inChromium(t, map[string]any{"mode": "check", "url": url,
		"long": map[string]any{"id": s.id, "target": base.Add(2 * time.Minute).UnixMilli()}}, &got)
	if got.AssetRequests == 0 {
		t.Fatal("the panel fetched no asset: the stream came with the assets in")
	}
	t.Logf("%+v", got)
	if !got.SameDocument {
		t.Fatalf("the replayed document differs between assets re-inlined in the panel and in the backend (%d asset requests)", got.AssetRequests)
	}
}

// BenchmarkPanelAssets opens the 30-minute session of BenchmarkReplaySeekAssets
// at minute 25 in the replay panel in Chromium (tests/panel/bench-assets.mjs):
// (a) the backend re-inlines the assets, (b) the panel fetches them once
// each and re-inlines them, cold cache, (c) the same with the browser's
// cache warm from another session of the site; each on loopback and on a
// throttled network (20 Mbit/s, 20 ms). Median of 5 of each, in one run.
//
//	go test -run '^$' -bench BenchmarkPanelAssets -benchtime 1x ./collector-receiver/internal/assets/
func BenchmarkPanelAssets(b *testing.B) {
	conn, db := chembedtest.NewMigratedDatabase(b)
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Millisecond)
	long := repeated(b, "long", 20, base)
	other := repeated(b, "other", 1, base.Add(-time.Hour))
	storeWithAssets(b, store.NewWriter(conn, db), long, other)
	url := panelPage(b, db)
	figures := map[string]struct {
		PanelMs, TotalMs, DataBytes, AssetRequests float64
	}{}
	table := inChromium(b, map[string]any{"mode": "bench", "url": url,
		"long":  map[string]any{"id": long.id, "target": base.Add(25 * time.Minute).UnixMilli()},
		"other": map[string]any{"id": other.id, "target": base.Add(-time.Hour + 30*time.Second).UnixMilli()}}, &figures)
	fmt.Println(table)
	for name, f := range figures {
		unit := strings.NewReplacer("/", "_", "-", "_").Replace(name)
		b.ReportMetric(f.PanelMs, unit+"_panel_ms")
		b.ReportMetric(f.DataBytes, unit+"_bytes")
	}
	for i := 0; i < b.N; i++ {
	}
}
