package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/fixtures"
	"github.com/seed/sessionreplay/pkg/store"
)

func TestMain(m *testing.M) { os.Exit(chembedtest.Main(m)) }

// migrated is a fresh database with the schema.
func migrated(t testing.TB) (driver.Conn, string) { return chembedtest.NewMigratedDatabase(t) }

// newDS is a data source on the embedded ClickHouse, built the way Grafana
// builds it (from instance settings JSON).
func newDS(t testing.TB, db string, jsonData map[string]any) *Datasource {
	t.Helper()
	j := map[string]any{"addresses": []string{chembedtest.Addr()}, "database": db}
	for k, v := range jsonData {
		j[k] = v
	}
	raw, _ := json.Marshal(j)
	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{UID: "sr", JSONData: raw})
	if err != nil {
		t.Fatalf("new datasource: %v", err)
	}
	ds := inst.(*Datasource)
	t.Cleanup(ds.Dispose)
	return ds
}

// fx describes one session built from a real rrweb recording.
type fx struct {
	ID, File                             string
	UserID, Device, OS, Browser, Country string
	Service                              string
	Attrs                                map[string]string
	Start                                time.Time
	Errors                               int    // error markers + trace links
	Retained                             string // rule, "" = buffered only
	ChunkEvents                          int    // events per chunk (default 50)
	Checkout                             bool   // a second full snapshot mid-session
	RageClicks, DeadClicks               uint64 // frustration signals, on a row of their own
}

type rrEvent struct {
	Type      int   `json:"type"`
	Timestamp int64 `json:"timestamp"`
	Data      struct {
		Source *int   `json:"source"`
		Type   *int   `json:"type"`
		Href   string `json:"href"`
	} `json:"data"`
}

// loaded is what loadSession wrote.
type loaded struct {
	Events []json.RawMessage // compact, in stored order
	Chunks []store.Chunk
	Start  time.Time
	End    time.Time
	Clicks int
	URLs   []string
}

func readEvents(t testing.TB, file string) []json.RawMessage {
	t.Helper()
	b := fixtures.Read(t, "rrweb", file)
	var evs []json.RawMessage
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatalf("fixture %s: %v", file, err)
	}
	for i := range evs {
		var c bytes.Buffer
		if err := json.Compact(&c, evs[i]); err != nil {
			t.Fatal(err)
		}
		evs[i] = c.Bytes()
	}
	return evs
}

// loadSession writes a fixture recording as chunks, per-chunk summary rows,
// markers, trace links and a decision, like the receiver does.
func loadSession(t testing.TB, w *store.Writer, f fx) loaded {
	t.Helper()
	ctx := context.Background()
	evs := readEvents(t, f.File)
	if f.ChunkEvents == 0 {
		f.ChunkEvents = 50
	}
	parsed := make([]rrEvent, len(evs))
	base := int64(1 << 62)
	for i, e := range evs {
		if err := json.Unmarshal(e, &parsed[i]); err != nil {
			t.Fatal(err)
		}
		base = min(base, parsed[i].Timestamp)
	}
	if f.Checkout {
		// Repeat the meta + full snapshot in the middle, as a periodic checkout does.
		mid := len(evs) / 2
		var extra []json.RawMessage
		var extraP []rrEvent
		for i, p := range parsed {
			if p.Type == 4 || p.Type == 2 {
				var m map[string]any
				_ = json.Unmarshal(evs[i], &m)
				m["timestamp"] = parsed[mid].Timestamp
				b, _ := json.Marshal(m)
				extra = append(extra, b)
				q := p
				q.Timestamp = parsed[mid].Timestamp
				extraP = append(extraP, q)
			}
		}
		evs = append(evs[:mid:mid], append(extra, evs[mid:]...)...)
		parsed = append(parsed[:mid:mid], append(extraP, parsed[mid:]...)...)
	}
	at := func(i int) time.Time { return f.Start.Add(time.Duration(parsed[i].Timestamp-base) * time.Millisecond) }
	out := loaded{Events: evs, Start: f.Start, End: f.Start}
	var batch store.Batch
	first := true
	for seq, lo := 0, 0; lo < len(evs); seq, lo = seq+1, lo+f.ChunkEvents {
		hi := min(lo+f.ChunkEvents, len(evs))
		c := store.Chunk{SessionID: f.ID, WindowID: "w1", Seq: uint64(seq), ServiceName: f.Service, EventCount: uint32(hi - lo)}
		sum := store.SessionSummary{SessionID: f.ID, Chunks: 1, Events: uint64(hi - lo), UserID: f.UserID, ServiceName: f.Service,
			Device: f.Device, OS: f.OS, Browser: f.Browser, Country: f.Country, UserAgent: "Mozilla/5.0 (test)"}
		if first {
			sum.Attributes = f.Attrs
			first = false
		}
		var data bytes.Buffer
		data.WriteByte('[')
		for i := lo; i < hi; i++ {
			if i > lo {
				data.WriteByte(',')
			}
			data.Write(evs[i])
			ts := at(i)
			if c.Start.IsZero() || ts.Before(c.Start) {
				c.Start = ts
			}
			if ts.After(c.End) {
				c.End = ts
			}
			p := parsed[i]
			switch {
			case p.Type == 2:
				c.FullSnapshot = true
			case p.Type == 4 && p.Data.Href != "":
				sum.PageViews++
				sum.URLs = append(sum.URLs, p.Data.Href)
				if sum.EntryURL == "" {
					sum.EntryURL = p.Data.Href
				}
				out.URLs = append(out.URLs, p.Data.Href)
				batch.Events = append(batch.Events, store.Event{SessionID: f.ID, Time: ts, Kind: store.KindNavigation, Name: "navigation",
					URL: p.Data.Href, WindowID: "w1", ID: uint64(i)})
			case p.Type == 3 && p.Data.Source != nil && *p.Data.Source == 2 && p.Data.Type != nil && *p.Data.Type == 2:
				sum.Clicks++
				out.Clicks++
				batch.Events = append(batch.Events, store.Event{SessionID: f.ID, Time: ts, Kind: store.KindClick, Name: "click",
					WindowID: "w1", ID: uint64(i)})
			}
		}
		data.WriteByte(']')
		c.Data = data.Bytes()
		sum.Start, sum.End, sum.Bytes = c.Start, c.End, uint64(len(c.Data))
		sum.ActiveMs = uint64(c.End.Sub(c.Start).Milliseconds())
		if c.End.After(out.End) {
			out.End = c.End
		}
		out.Chunks = append(out.Chunks, c)
		batch.Sessions = append(batch.Sessions, sum)
	}
	if f.Retained != "" {
		batch.Retained = out.Chunks
		batch.Decisions = append(batch.Decisions, store.Decision{SessionID: f.ID, Rule: f.Retained, TriggerTime: f.Start.Add(time.Second)})
	} else {
		batch.Buffered = out.Chunks
	}
	for i := 0; i < f.Errors; i++ {
		ts := f.Start.Add(time.Duration(i+2) * time.Second)
		trace := fmt.Sprintf("trace-%s-%d", f.ID, i)
		batch.Events = append(batch.Events, store.Event{SessionID: f.ID, Time: ts, Kind: store.KindError, Name: "TypeError",
			Detail: "x is undefined", URL: "https://example.test/checkout", TraceID: trace, SpanID: fmt.Sprintf("span-%d", i), WindowID: "w1", ID: uint64(1_000_000 + i)})
		batch.Links = append(batch.Links,
			store.TraceLink{TraceID: trace, SessionID: f.ID, SpanID: "early", ServiceName: "shop-web", Time: ts.Add(-500 * time.Millisecond)},
			store.TraceLink{TraceID: trace, SessionID: f.ID, SpanID: fmt.Sprintf("span-%d", i), ServiceName: "api", Time: ts, IsError: true})
		batch.Sessions = append(batch.Sessions, store.SessionSummary{SessionID: f.ID, Start: ts, End: ts, Errors: 1})
	}
	if f.RageClicks+f.DeadClicks > 0 {
		batch.Sessions = append(batch.Sessions, store.SessionSummary{SessionID: f.ID, Start: f.Start, End: f.Start, RageClicks: f.RageClicks, DeadClicks: f.DeadClicks})
	}
	if err := w.Write(ctx, &batch); err != nil {
		t.Fatalf("write %s: %v", f.ID, err)
	}
	return out
}

// query runs one query through QueryData (and the query type mux).
func query(t testing.TB, ds *Datasource, queryType string, from, to time.Time, model map[string]any) backend.DataResponse {
	t.Helper()
	if model == nil {
		model = map[string]any{}
	}
	model["queryType"] = queryType
	raw, _ := json.Marshal(model)
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
		RefID: "A", QueryType: queryType, JSON: raw, TimeRange: backend.TimeRange{From: from, To: to},
		Interval: time.Minute, MaxDataPoints: 1000,
	}}})
	if err != nil {
		t.Fatalf("QueryData: %v", err)
	}
	r, ok := resp.Responses["A"]
	if !ok {
		t.Fatal("no response for refId A")
	}
	return r
}

// mustFrame is the single frame of a successful response.
func mustFrame(t testing.TB, r backend.DataResponse) *data.Frame {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("query error (%s): %v", r.ErrorSource, r.Error)
	}
	if len(r.Frames) != 1 {
		t.Fatalf("%d frames, want 1", len(r.Frames))
	}
	return r.Frames[0]
}

func fieldNames(f *data.Frame) []string {
	var out []string
	for _, fl := range f.Fields {
		out = append(out, fl.Name)
	}
	return out
}

// column is the values of one field.
func column[T any](t testing.TB, f *data.Frame, name string) []T {
	t.Helper()
	fl, _ := f.FieldByName(name)
	if fl == nil {
		t.Fatalf("frame %s has no field %q (has %v)", f.Name, name, fieldNames(f))
	}
	out := make([]T, fl.Len())
	for i := range out {
		v, ok := fl.At(i).(T)
		if !ok {
			t.Fatalf("field %s holds %T", name, fl.At(i))
		}
		out[i] = v
	}
	return out
}

// resourceResult is a CallResource answer as its messages.
type resourceResult struct {
	Status   int
	Headers  map[string][]string
	Messages [][]byte
}

func (r resourceResult) Body() []byte { return bytes.Join(r.Messages, nil) }

func callResource(t testing.TB, ds *Datasource, path string) resourceResult {
	t.Helper()
	var out resourceResult
	u := "/api/datasources/uid/sr/resources/" + path
	p := path
	if i := bytes.IndexByte([]byte(path), '?'); i >= 0 {
		p = path[:i]
	}
	err := ds.CallResource(context.Background(), &backend.CallResourceRequest{Method: http.MethodGet, Path: p, URL: u},
		backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error {
			if out.Status == 0 {
				out.Status, out.Headers = r.Status, r.Headers
			}
			out.Messages = append(out.Messages, append([]byte(nil), r.Body...))
			return nil
		}))
	if err != nil {
		t.Fatalf("CallResource %s: %v", path, err)
	}
	return out
}

func recent() time.Time { return time.Now().Add(-3 * time.Hour).Truncate(time.Second).UTC() }

// httpAddr is the HTTP interface of the server under test.
func httpAddr(t testing.TB) string {
	t.Helper()
	s := chembedtest.Server()
	if s == nil {
		t.Fatal("the HTTP protocol test needs the embedded server")
	}
	return s.HTTPAddr()
}
