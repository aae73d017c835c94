package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/pluginhost"
	"github.com/seed/sessionreplay/pkg/store"
)

// TestPluginOverGRPC builds the plugin executable, starts it the way Grafana
// does (hashicorp/go-plugin, protocol 2, the datasource magic cookie) and
// calls CheckHealth, QueryData and CallResource over gRPC.
func TestPluginOverGRPC(t *testing.T) {
	conn, db := migrated(t)
	w := store.NewWriter(conn, db)
	t0 := recent()
	sm := loadSession(t, w, fx{ID: "s-grpc", File: "smartx-90s.events.json", UserID: "alice", Device: "desktop", OS: "Windows",
		Browser: "Chrome", Country: "FR", Service: "shop-web", Attrs: map[string]string{"plan": "pro"}, Start: t0, Errors: 1})
	bigEvents, _ := loadLargeSession(t, w, "s-big", t0.Add(time.Hour))

	bin := filepath.Join(t.TempDir(), "gpx_sessionreplay")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = ".." // ./pkg
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./pkg: %v\n%s", err, out)
	}

	// Started the way Grafana starts it: go-plugin, protocol 2, the datasource cookie, gRPC.
	host, err := pluginhost.Start(bin, nil)
	if err != nil {
		t.Fatalf("start plugin: %v", err)
	}
	t.Cleanup(host.Kill)
	diag, dataClient, res := host.Diagnostics, host.Data, host.Resource

	jsonData, _ := json.Marshal(map[string]any{"addresses": []string{chembedtest.Addr()}, "database": db, "tracesDatasourceUid": "tempo"})
	pctx := &pluginv2.PluginContext{
		OrgId:    1,
		PluginId: PluginID,
		DataSourceInstanceSettings: &pluginv2.DataSourceInstanceSettings{
			Id: 1, Uid: "sr", Name: "Session replay", JsonData: jsonData, LastUpdatedMS: time.Now().UnixMilli(),
			DecryptedSecureJsonData: map[string]string{"password": ""},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// CheckHealth
	h, err := diag.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: pctx})
	if err != nil {
		t.Fatalf("CheckHealth: %v", err)
	}
	if h.Status != pluginv2.CheckHealthResponse_OK || !strings.Contains(h.Message, "schema version "+strconv.Itoa(int(store.LatestSchemaVersion()))) {
		t.Fatalf("CheckHealth: %v %q", h.Status, h.Message)
	}

	// QueryData: sessions (with filters) and markers in one request.
	q := func(refID, queryType string, model map[string]any) *pluginv2.DataQuery {
		model["queryType"] = queryType
		raw, _ := json.Marshal(model)
		return &pluginv2.DataQuery{RefId: refID, QueryType: queryType, Json: raw, IntervalMS: 60000, MaxDataPoints: 100,
			TimeRange: &pluginv2.TimeRange{FromEpochMS: t0.Add(-time.Minute).UnixMilli(), ToEpochMS: t0.Add(2 * time.Hour).UnixMilli()}}
	}
	qr, err := dataClient.QueryData(ctx, &pluginv2.QueryDataRequest{PluginContext: pctx, Queries: []*pluginv2.DataQuery{
		q("A", "sessions", map[string]any{"adhocFilters": []store.Filter{{Key: "browser", Operator: "=", Value: "Chrome"}, {Key: "attributes.plan", Operator: "=", Value: "pro"}}}),
		q("B", "markers", map[string]any{"sessionId": "s-grpc", "kinds": []string{"error"}}),
		q("C", "traceSession", map[string]any{"traceId": "trace-s-grpc-0"}),
		q("D", "stats", map[string]any{}),
		q("E", "sessions", map[string]any{"adhocFilters": []store.Filter{{Key: "nope", Operator: "=", Value: "x"}}}),
	}})
	if err != nil {
		t.Fatalf("QueryData: %v", err)
	}
	frame := func(refID string) *data.Frame {
		r := qr.Responses[refID]
		if r == nil || r.Error != "" || len(r.Frames) != 1 {
			t.Fatalf("response %s: %+v", refID, r)
		}
		f, err := data.UnmarshalArrowFrame(r.Frames[0])
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if ids := column[string](t, frame("A"), "session_id"); len(ids) != 1 || ids[0] != "s-grpc" {
		t.Fatalf("sessions over gRPC: %v", ids)
	}
	if tr := column[string](t, frame("B"), "trace_id"); len(tr) != 1 || tr[0] != "trace-s-grpc-0" {
		t.Fatalf("markers over gRPC: %v", tr)
	}
	if off := column[int64](t, frame("C"), "offset_ms"); len(off) != 1 || off[0] != 2000 {
		t.Fatalf("traceSession over gRPC: %v", off)
	}
	if frame("D").Rows() < 100 {
		t.Fatalf("stats over gRPC: %d rows", frame("D").Rows())
	}
	if e := qr.Responses["E"]; e == nil || e.Error == "" || e.ErrorSource != string(backend.ErrorSourceDownstream) || e.Status != 400 {
		t.Fatalf("bad query over gRPC: %+v", e)
	}

	// CallResource: tag values, then replays streamed in messages.
	call := func(path string) resourceResult {
		p, u := path, "/api/datasources/uid/sr/resources/"+path
		if i := strings.IndexByte(path, '?'); i >= 0 {
			p = path[:i]
		}
		stream, err := res.CallResource(ctx, &pluginv2.CallResourceRequest{PluginContext: pctx, Method: "GET", Path: p, Url: u})
		if err != nil {
			t.Fatalf("CallResource %s: %v", path, err)
		}
		var out resourceResult
		for {
			m, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatalf("CallResource %s: recv: %v", path, err)
			}
			if out.Status == 0 {
				out.Status = int(m.Code)
				out.Headers = map[string][]string{}
				for k, v := range m.Headers {
					out.Headers[k] = v.Values
				}
			}
			out.Messages = append(out.Messages, m.Body)
		}
	}
	tv := call(fmt.Sprintf("tag-values?key=browser&from=%d&to=%d", t0.Add(-time.Minute).UnixMilli(), t0.Add(time.Minute).UnixMilli()))
	if tv.Status != 200 || string(tv.Body()) != `[{"text":"Chrome"}]` {
		t.Fatalf("tag-values over gRPC: %d %s", tv.Status, tv.Body())
	}
	_, _, events := readReplay(t, call("sessions/s-grpc/replay"))
	if !sameEvents(events, sm.Events) {
		t.Fatalf("replay over gRPC: %d events, want %d", len(events), len(sm.Events))
	}
	big := call("sessions/s-big/replay")
	_, _, events = readReplay(t, big)
	if !sameEvents(events, bigEvents) {
		t.Fatalf("large replay over gRPC: %d events, want %d", len(events), len(bigEvents))
	}
	for _, m := range big.Messages {
		if len(m) >= grafanaMaxMessage {
			t.Fatalf("gRPC message of %d bytes", len(m))
		}
	}
	t.Logf("large replay: %d gRPC messages", len(big.Messages))
}
