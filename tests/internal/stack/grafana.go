package stack

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/pluginhost"
)

// DataSourceUID is the uid the tests give the data source instance.
const DataSourceUID = "sessionreplay"

// Grafana is the Grafana backend plugin, built from ./pkg and started as
// Grafana starts it, behind Grafana's data source HTTP APIs (pkg/pluginhost),
// reading database db of the embedded ClickHouse.
type Grafana struct {
	URL string
}

// StartGrafana builds and starts the plugin's backend and serves, as
// Grafana does, its data source APIs and the built plugin dist/ loaded with
// SystemJS and Grafana's shared modules (pkg/pluginhost, page
// tests/pluginhost/host.tsx): the panel a test opens is the one users
// install. Both stop when the test ends.
func StartGrafana(t testing.TB, root, db string) *Grafana {
	t.Helper()
	plugin, err := pluginhost.Start(GoBuild(t, root, "./pkg"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plugin.Kill)
	settingsJSON, _ := json.Marshal(map[string]any{"addresses": []string{chembedtest.Addr()}, "database": db, "protocol": "native", "tracesDatasourceUid": "tempo"})
	api := &pluginhost.API{
		Plugin: plugin, PluginID: "seed-sessionreplay-datasource",
		Settings: &pluginv2.DataSourceInstanceSettings{Id: 1, Uid: DataSourceUID, Name: "Session Replay", JsonData: settingsJSON, LastUpdatedMS: 1},
	}
	host := &pluginhost.Host{
		API: api, Dist: filepath.Join(root, "dist"), Shared: filepath.Dir(PluginHostPage(root)),
		SystemJS: filepath.Join(root, "node_modules/systemjs/dist"),
		Icons:    filepath.Join(root, "node_modules/@grafana/ui/dist/public/img/icons"),
	}
	if err := host.Init(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(host)
	t.Cleanup(srv.Close)
	return &Grafana{URL: srv.URL}
}

// PluginHostPage is the host page's bundle, built by `go tool mage pluginHost`.
func PluginHostPage(root string) string {
	return filepath.Join(root, "node_modules/.cache/sessionreplay-plugin-host/host.js")
}

// Query sends one query through Grafana's /api/ds/query, as the frontend does.
func (g *Grafana) Query(t testing.TB, tr [2]int64, q map[string]any) backend.DataResponse {
	t.Helper()
	q["refId"] = "A"
	q["datasource"] = map[string]string{"uid": DataSourceUID, "type": "seed-sessionreplay-datasource"}
	body, _ := json.Marshal(map[string]any{"queries": []any{q}, "from": fmt.Sprint(tr[0]), "to": fmt.Sprint(tr[1])})
	resp, err := http.Post(g.URL+"/api/ds/query", "application/json", bytes.NewReader(body))
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

// SessionIDs is the session_id column of a query's frames.
func (g *Grafana) SessionIDs(t testing.TB, tr [2]int64, q map[string]any) []string {
	t.Helper()
	var ids []string
	for _, f := range g.Query(t, tr, q).Frames {
		if fld, _ := f.FieldByName("session_id"); fld != nil {
			for i := 0; i < fld.Len(); i++ {
				ids = append(ids, fmt.Sprint(fld.At(i)))
			}
		}
	}
	return ids
}

// Rows returns every row of the first frame as name -> value (pointers and
// integers flattened to string / float64).
func (g *Grafana) Rows(t testing.TB, tr [2]int64, q map[string]any) []map[string]any {
	t.Helper()
	resp := g.Query(t, tr, q)
	if len(resp.Frames) == 0 {
		return nil
	}
	f := resp.Frames[0]
	rows := make([]map[string]any, f.Rows())
	for i := range rows {
		rows[i] = map[string]any{}
		for _, fld := range f.Fields {
			v := fld.At(i)
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
			rows[i][fld.Name] = v
		}
	}
	return rows
}

// Frame returns the first row of the first frame (see Rows); no row fails the test.
func (g *Grafana) Frame(t testing.TB, tr [2]int64, q map[string]any) map[string]any {
	t.Helper()
	rows := g.Rows(t, tr, q)
	if len(rows) == 0 {
		t.Errorf("query %v returned no rows", q)
		return map[string]any{}
	}
	return rows[0]
}

// ReplayChunk is one chunk of the plugin's replay stream, its event_part
// lines joined back into whole events.
type ReplayChunk struct {
	WindowID string
	Seq      uint64
	Events   []json.RawMessage
}

// Replay reads every track of the plugin's replay stream of a session
// (GET sessions/<id>/replay?track=N) into its chunks, track after track in
// stream order, and saves the raw streams to save when it is not empty.
func (g *Grafana) Replay(t testing.TB, sessionID, save string) []ReplayChunk {
	t.Helper()
	var chunks []ReplayChunk
	var raw bytes.Buffer
	for track, tracks := 0, 1; track < tracks; track++ {
		c, n := g.replayTrack(t, sessionID, track, &raw)
		chunks = append(chunks, c...)
		tracks = max(tracks, n)
	}
	if save != "" {
		_ = writeFile(save, raw.Bytes())
	}
	return chunks
}

// replayTrack reads one track's stream into its chunks, appending the raw
// lines to raw; it returns how many tracks the meta line lists.
func (g *Grafana) replayTrack(t testing.TB, sessionID string, track int, raw *bytes.Buffer) ([]ReplayChunk, int) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/api/datasources/uid/%s/resources/sessions/%s/replay?track=%d", g.URL, DataSourceUID, sessionID, track))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Errorf("replay of %s track %d: HTTP %d %s", sessionID, track, resp.StatusCode, b)
		return nil, 0
	}
	sc := bufio.NewScanner(io.TeeReader(resp.Body, raw))
	sc.Buffer(make([]byte, 16<<20), 16<<20)
	var chunks []ReplayChunk
	var part bytes.Buffer
	tracks := 0
	for sc.Scan() {
		var line struct {
			Type     string            `json:"type"`
			WindowID string            `json:"windowId"`
			Seq      uint64            `json:"seq"`
			Events   []json.RawMessage `json:"events"`
			Part     int               `json:"part"`
			Parts    int               `json:"parts"`
			Data     string            `json:"data"`
			Message  string            `json:"message"`
			Tracks   []json.RawMessage `json:"tracks"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("replay stream line: %v", err)
		}
		add := func(events ...json.RawMessage) {
			if n := len(chunks); n > 0 && chunks[n-1].WindowID == line.WindowID && chunks[n-1].Seq == line.Seq {
				chunks[n-1].Events = append(chunks[n-1].Events, events...)
				return
			}
			chunks = append(chunks, ReplayChunk{WindowID: line.WindowID, Seq: line.Seq, Events: events})
		}
		switch line.Type {
		case "meta":
			tracks = len(line.Tracks)
		case "chunk":
			add(line.Events...)
		case "event_part":
			part.WriteString(line.Data)
			if line.Part == line.Parts-1 {
				add(json.RawMessage(bytes.Clone(part.Bytes())))
				part.Reset()
			}
		case "error":
			t.Errorf("replay stream of %s ended with an error: %s", sessionID, line.Message)
		}
	}
	return chunks, tracks
}
