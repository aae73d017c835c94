package sessionreplayreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/seed/sessionreplay/pkg/store"
	"github.com/seed/sessionreplay/pkg/tracks"
)

// These tests send what the browser SDKs send (their wire formats read from
// @hyperdx/browser 0.26.0, @grafana/faro-* 2.12.1, @opentelemetry/sdk-logs
// 0.223.1; Splunk RUM recorder 3.x as the issue describes it) to the
// collector binary and read the replay back from the embedded ClickHouse.

// hyperdxPage is the records one page load of @hyperdx/browser 0.26.0
// sends: rrweb events numbered from 1 (rr-web.event, a double), one per
// record, the session and the page's script instance in the resource.
func hyperdxPage(session, instance, href string, t0 int64, n int) (res pcommon.Resource, records []plog.LogRecord, events []string) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "hyperdx-web")
	ra.PutStr("telemetry.sdk.name", "@hyperdx/otel-web")
	ra.PutStr("rum.sessionId", session)
	if instance != "" {
		ra.PutStr("rum.scriptInstance", instance)
	}
	sl := rl.ScopeLogs().AppendEmpty()
	for i := 1; i <= n; i++ {
		ts := t0 + int64(i)*25
		var ev string
		switch i {
		case 1:
			ev = fmt.Sprintf(`{"type":4,"data":{"href":%q,"width":1280,"height":720},"timestamp":%d}`, href, ts)
		case 2:
			ev = fmt.Sprintf(`{"type":2,"data":{"node":{"type":0,"childNodes":[{"type":2,"tagName":"html","attributes":{},"childNodes":[],"id":2}],"id":1},"initialOffset":{"left":0,"top":0}},"timestamp":%d}`, ts)
		default:
			ev = fmt.Sprintf(`{"type":3,"data":{"source":2,"type":2,"id":2,"x":%d,"y":10},"timestamp":%d}`, i, ts)
		}
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(ts * 1e6))
		lr.Body().SetStr(ev)
		lr.Attributes().PutDouble("rr-web.offset", float64(i))
		lr.Attributes().PutDouble("rr-web.event", float64(i))
		lr.Attributes().PutDouble("rr-web.chunk", 1)
		lr.Attributes().PutDouble("rr-web.total-chunks", 1)
		records = append(records, lr)
		events = append(events, ev)
	}
	return rl.Resource(), records, events
}

// hyperdxRequest is one export of the SDK: gzip protobuf of some records.
func hyperdxRequest(t *testing.T, res pcommon.Resource, records []plog.LogRecord) []byte {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	res.CopyTo(rl.Resource())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("rum.rr-web")
	sl.Scope().SetVersion("4.0.0")
	for _, lr := range records {
		lr.CopyTo(sl.LogRecords().AppendEmpty())
	}
	pb, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return gz(t, pb)
}

// replayed is the session's events as the plugin streams them: per window,
// in stream order, canonical JSON.
func replayed(t *testing.T, c *collector, session string) (map[string][]string, []string) {
	t.Helper()
	chunks, err := c.reader.Chunks(context.Background(), session)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string][]string{}
	var windows []string
	for _, ch := range chunks {
		var evs []json.RawMessage
		if err := json.Unmarshal(ch.Data, &evs); err != nil {
			t.Fatalf("chunk %s/%d: %v", ch.WindowID, ch.Seq, err)
		}
		if per[ch.WindowID] == nil {
			windows = append(windows, ch.WindowID)
		}
		for _, e := range evs {
			per[ch.WindowID] = append(per[ch.WindowID], canonical(t, e))
		}
	}
	return per, windows
}

// chunkKeys counts the distinct (window, seq) keys of a session's chunks in
// both tables: a retried request must not add one.
func chunkKeys(c *collector, session string) uint64 {
	return c.count(`SELECT count() FROM (SELECT DISTINCT window_id, seq FROM (
    SELECT window_id, seq FROM DB.replay_chunks WHERE session_id = {s:String}
    UNION ALL SELECT window_id, seq FROM DB.replay_chunks_buffer WHERE session_id = {s:String}))`, "s", session)
}

func canonical(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func canonicalAll(t *testing.T, evs []string) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = canonical(t, []byte(e))
	}
	return out
}

func TestHyperDXSessionOfThreePageLoadsReplaysEveryEventInOrder(t *testing.T) {
	c := startCollector(t, "", "")
	t0 := time.Now().Add(-5 * time.Minute).UnixMilli()
	for _, withInstance := range []bool{true, false} {
		sess := fmt.Sprintf("hdx-%t-%s", withInstance, c.db)
		var want []string
		perPage := map[string][]string{}
		sent := 0
		for p, path := range []string{"/", "/pricing", "/checkout"} {
			inst := ""
			if withInstance {
				inst = fmt.Sprintf("%016x", 0xabc0+p)
			}
			res, recs, evs := hyperdxPage(sess, inst, "http://127.0.0.1:8080"+path, t0+int64(p)*60_000, 14)
			// each page exports twice (the SDK's batch processor), the
			// second export is retried once (a lost response)
			for _, part := range [][]plog.LogRecord{recs[:6], recs[6:], recs[6:]} {
				code, out, _ := c.post("/v1/logs", "application/x-protobuf", hyperdxRequest(t, res, part), "Content-Encoding", "gzip", "User-Agent", faroUA)
				if code != 200 {
					t.Fatalf("page %s: %d %s", path, code, out)
				}
				resp := plogotlp.NewExportResponse()
				if err := resp.UnmarshalProto(out); err != nil || resp.PartialSuccess().RejectedLogRecords() != 0 {
					t.Fatalf("page %s: %v %q", path, err, resp.PartialSuccess().ErrorMessage())
				}
			}
			sent += len(evs)
			want = append(want, canonicalAll(t, evs)...)
			perPage["rr-web:"+inst] = canonicalAll(t, evs)
		}
		per, windows := replayed(t, c, sess)
		if withInstance {
			// one window per page load, each in the SDK's order
			if len(windows) != 3 {
				t.Fatalf("windows %v", windows)
			}
			for w, evs := range perPage {
				if strings.Join(per[w], "\n") != strings.Join(evs, "\n") {
					t.Errorf("window %s replays %d events, sent %d:\n%v", w, len(per[w]), len(evs), per[w])
				}
			}
			var all []string
			for _, w := range windows {
				all = append(all, per[w]...)
			}
			if strings.Join(all, "\n") != strings.Join(want, "\n") {
				t.Errorf("page loads do not replay one after the other")
			}
		} else if len(windows) != 1 || strings.Join(per["rr-web"], "\n") != strings.Join(want, "\n") {
			t.Errorf("window rr-web replays %d of %d events (windows %v)", len(per["rr-web"]), sent, windows)
		}
		// the retried exports stored nothing twice
		if n := chunkKeys(c, sess); n != 6 {
			t.Errorf("%d chunk keys, want 6 (2 per page load)", n)
		}
		// HyperDX names no user agent: the browser's request header does
		if s, ok, err := c.reader.Session(context.Background(), sess); err != nil || !ok || s.PageViews != 3 || s.EntryURL != "http://127.0.0.1:8080/" ||
			s.Browser == "" || s.OS == "" || s.Device == "" || s.UserAgent != faroUA {
			t.Errorf("summary: %v %v %+v", ok, err, s)
		}
	}
}

// faroRequest is an OTLP/JSON logs request as @grafana/faro-transport-otlp-http
// 2.12.1 writes it: one resource and scope for the batch, timeUnixNano as a
// JSON number, every attribute of a Faro event a string inside the kvlist
// event.attributes (testdata/faro-2.12.1-replay.json in internal/formats is
// one, annotated).
type faroRequest struct {
	session string
	records []map[string]any
}

const faroUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"

func sv(s string) map[string]any { return map[string]any{"stringValue": s} }

func kv(pairs ...string) []map[string]any {
	var out []map[string]any
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, map[string]any{"key": pairs[i], "value": sv(pairs[i+1])})
	}
	return out
}

func (f *faroRequest) common(name string) []map[string]any {
	a := kv("view.name", "default", "url.full", "http://127.0.0.1:8080/", "page.id", "pg1", "session.id", f.session)
	a = append(a, map[string]any{"key": "session.attributes", "value": map[string]any{"kvlistValue": map[string]any{"values": kv("isSampled", "true")}}})
	if name != "" {
		a = append(a, kv("event.name", name)...)
	}
	return a
}

// event adds a Faro event (a replay event, or a lifecycle record).
func (f *faroRequest) event(name string, ts int64, attrs ...string) {
	a := append(f.common(name), map[string]any{"key": "event.attributes", "value": map[string]any{"kvlistValue": map[string]any{"values": kv(attrs...)}}})
	f.records = append(f.records, map[string]any{"timeUnixNano": json.Number(strconv.FormatInt(ts*1e6, 10)), "body": sv(name), "attributes": a})
}

func (f *faroRequest) replay(recording string, gen, seq int, ev string, ts int64) {
	f.event("faro.session_recording.event", ts, "event", ev, "recording_id", recording, "gen", strconv.Itoa(gen), "seq", strconv.Itoa(seq))
}

func (f *faroRequest) exception(typ, msg string, ts int64, traceID string) {
	a := append(f.common(""), kv("exception.type", typ, "exception.message", msg)...)
	f.records = append(f.records, map[string]any{"timeUnixNano": json.Number(strconv.FormatInt(ts*1e6, 10)), "attributes": a, "traceId": traceID})
}

func (f *faroRequest) body(t *testing.T) []byte {
	res := kv("user_agent.original", faroUA, "browser.name", "Chrome", "browser.version", "142.0.0.0", "browser.platform", "Linux",
		"browser.language", "en-US", "telemetry.sdk.name", "faro-web-sdk", "telemetry.sdk.version", "2.12.1", "service.name", "shop-faro")
	b, err := json.Marshal(map[string]any{"resourceLogs": []any{map[string]any{
		"resource":  map[string]any{"attributes": res},
		"scopeLogs": []any{map[string]any{"scope": map[string]any{"name": "@grafana/faro-web-sdk", "version": "2.12.1"}, "logRecords": f.records}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"timeUnixNano":1`) {
		t.Fatalf("timeUnixNano is not a JSON number: %.300s", b)
	}
	return b
}

func rrEvent(typ int, ts int64, data string) string {
	return fmt.Sprintf(`{"type":%d,"data":%s,"timestamp":%d}`, typ, data, ts)
}

func TestFaroSessionWithAnIframeReplaysEachDocumentAsAWindowWithMarkersAndRules(t *testing.T) {
	// the rule written for our recorder's errors
	rules := rulesYAML + `
      - name: js-exceptions
        log: 'event_name == "exception"'`
	c := startCollector(t, rules, "")
	ctx := context.Background()
	sess := "faro-" + c.db
	t0 := time.Now().Add(-2 * time.Minute).UnixMilli()
	// The top page's recording (page 1 and, after a reload, page 2: seq
	// goes on, gen changes at page 2's Meta) and a same-origin iframe's,
	// overlapping in time.
	top := []string{
		rrEvent(4, t0, `{"href":"http://127.0.0.1:8080/","width":1280,"height":720}`),
		rrEvent(2, t0+2, `{"node":{"type":0,"childNodes":[{"type":2,"tagName":"html","attributes":{},"childNodes":[],"id":2}],"id":1},"initialOffset":{"left":0,"top":0}}`),
		rrEvent(3, t0+500, `{"source":2,"type":2,"id":2,"x":5,"y":5}`),
		rrEvent(3, t0+900, `{"source":5,"text":"******","isChecked":false,"id":2}`),
		rrEvent(4, t0+2000, `{"href":"http://127.0.0.1:8080/checkout","width":1280,"height":720}`),
		rrEvent(2, t0+2002, `{"node":{"type":0,"childNodes":[{"type":2,"tagName":"html","attributes":{},"childNodes":[],"id":2}],"id":1},"initialOffset":{"left":0,"top":0}}`),
		rrEvent(3, t0+2500, `{"source":2,"type":2,"id":2,"x":7,"y":7}`),
	}
	frame := []string{
		rrEvent(4, t0+100, `{"href":"http://127.0.0.1:8080/frame","width":300,"height":200}`),
		rrEvent(2, t0+101, `{"node":{"type":0,"childNodes":[{"type":2,"tagName":"html","attributes":{},"childNodes":[],"id":2}],"id":1},"initialOffset":{"left":0,"top":0}}`),
		rrEvent(3, t0+600, `{"source":2,"type":2,"id":2,"x":1,"y":1}`),
		rrEvent(3, t0+2600, `{"source":2,"type":2,"id":2,"x":2,"y":2}`),
	}
	first := &faroRequest{session: sess}
	first.event("faro.session_recording.started", t0, "recording_id", "recTop")
	first.event("faro.session_recording.started", t0+100, "recording_id", "recFrame")
	// interleaved, and out of order within the request
	first.replay("recFrame", 1, 1, frame[1], t0+101)
	first.replay("recTop", 1, 0, top[0], t0)
	first.replay("recFrame", 1, 0, frame[0], t0+100)
	first.replay("recTop", 1, 2, top[2], t0+500)
	first.replay("recTop", 1, 1, top[1], t0+2)
	first.replay("recFrame", 1, 2, frame[2], t0+600)
	first.replay("recTop", 1, 3, top[3], t0+900)
	second := &faroRequest{session: sess}
	for i := 4; i < len(top); i++ {
		second.replay("recTop", 2, i, top[i], t0+2000)
	}
	second.replay("recFrame", 1, 3, frame[3], t0+2600)
	traceID := "4bf92f3577b34da6a3ce929d0e0e4736"
	second.exception("Error", "checkout exploded", t0+2700, traceID)
	for _, r := range []*faroRequest{first, second, second} { // the second one retried
		code, out, _ := c.post("/v1/logs", "application/json", r.body(t))
		if code != 200 {
			t.Fatalf("POST: %d %s", code, out)
		}
		resp := plogotlp.NewExportResponse()
		if err := resp.UnmarshalJSON(out); err != nil || resp.PartialSuccess().RejectedLogRecords() != 0 {
			t.Fatalf("response %s: %v", out, err)
		}
	}
	// Faro's fetch span carries session.id as a span attribute; the backend
	// span of the same trace fails.
	td := ptrace.NewTraces()
	var tid pcommon.TraceID
	copy(tid[:], mustHex(t, traceID))
	addSpan(td, "shop-faro", sess, tid, pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, "HTTP POST", ptrace.SpanKindClient, false,
		map[string]string{"url.full": "http://127.0.0.1:8081/api/checkout", "http.request.method": "POST", "http.response.status_code": "500"})
	addSpan(td, "backend", "", tid, pcommon.SpanID{8, 7, 6, 5, 4, 3, 2, 1}, "POST /api/checkout", ptrace.SpanKindServer, true, nil)
	c.sendTraces(td)

	per, windows := replayed(t, c, sess)
	if len(windows) != 3 {
		t.Fatalf("windows %v", windows)
	}
	for w, evs := range map[string][]string{"recTop:1": top[:4], "recTop:2": top[4:], "recFrame:1": frame} {
		if strings.Join(per[w], "\n") != strings.Join(canonicalAll(t, evs), "\n") {
			t.Errorf("window %s replays:\n%s\nsent:\n%s", w, strings.Join(per[w], "\n"), strings.Join(evs, "\n"))
		}
	}
	// retained from the second request on: its chunks are in both tables
	if n := chunkKeys(c, sess); n != 4 {
		t.Errorf("%d chunk keys, want 4 (2 requests x 2 documents, the retry adds none)", n)
	}
	s, ok, err := c.reader.Session(ctx, sess)
	if err != nil || !ok || s.Browser == "" || s.OS == "" || s.Device == "" || s.Errors == 0 {
		t.Errorf("summary: %v %v browser %q os %q device %q errors %d", ok, err, s.Browser, s.OS, s.Device, s.Errors)
	}
	ms, err := c.reader.Markers(ctx, store.MarkersQuery{TimeRange: store.TimeRange{From: time.UnixMilli(t0 - 60_000), To: time.Now().Add(time.Minute)}, SessionID: sess, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, m := range ms {
		kinds[m.Kind]++
		if m.Kind == store.KindCustom && strings.HasPrefix(m.Name, "faro.session_recording") {
			t.Errorf("replay record stored as a marker: %+v", m)
		}
		if m.Kind == store.KindError && m.Name == "Error" && m.TraceID != traceID {
			t.Errorf("error marker without its trace: %+v", m)
		}
	}
	if kinds[store.KindError] == 0 || kinds[store.KindRequest] == 0 {
		t.Errorf("markers %v", kinds)
	}
	eventually(t, "retention decisions", 10*time.Second, func() bool {
		decs, err := c.reader.Decisions(ctx, sess)
		got := map[string]bool{}
		for _, d := range decs {
			got[d.Rule] = true
		}
		return err == nil && got["js-exceptions"] && got["backend-errors"]
	})
	if got, err := c.reader.SessionsOfTrace(ctx, traceID); err != nil || len(got) != 1 || got[0] != sess {
		t.Errorf("trace -> session: %v %v", got, err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b := make([]byte, len(s)/2)
	for i := range b {
		n, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		b[i] = byte(n)
	}
	return b
}

func TestSplunkRecorderRequestGetsAMessageNamingTheFormatAndStoresNothing(t *testing.T) {
	c := startCollector(t, "", "")
	sess := "splunk-" + c.db
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("splunk.rumSessionId", sess)
	rl.Resource().Attributes().PutStr("service.name", "splunk-web")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("splunk.rr-web")
	now := time.Now().UnixMilli()
	for i := 1; i <= 3; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(now * 1e6))
		lr.Attributes().PutInt("rr-web.event", int64(i))
		lr.Attributes().PutInt("rr-web.chunk", 1)
		lr.Attributes().PutInt("rr-web.total-chunks", 1)
		if i == 1 { // a segment as JSON
			lr.Body().SetStr(fmt.Sprintf(`{"assets":{"css":{}},"events":[{"type":2,"timestamp":%d}]}`, now))
		} else { // and as CBOR: a map of 2 (assets, events)
			lr.Body().SetEmptyBytes().FromRaw([]byte{0xa2, 0x66, 'a', 's', 's', 'e', 't', 's', 0xa0, 0x66, 'e', 'v', 'e', 'n', 't', 's', 0x80})
		}
	}
	resp := c.sendLogs(ld, false)
	msg := resp.PartialSuccess().ErrorMessage()
	if resp.PartialSuccess().RejectedLogRecords() != 3 || !strings.Contains(msg, "Splunk RUM segment format is not rrweb") || strings.Count(msg, "Splunk") > 2 {
		t.Errorf("partial success: %d %q", resp.PartialSuccess().RejectedLogRecords(), msg)
	}
	for _, table := range []string{"replay_chunks", "replay_chunks_buffer", "session_summaries", "session_events"} {
		if n := c.count(`SELECT count() FROM DB.`+table+` WHERE session_id = {s:String}`, "s", sess); n != 0 {
			t.Errorf("%s holds %d rows of the refused session", table, n)
		}
	}
}

// TestPlainOTelJSLogsSDKChunksLandLikeOurRecorders: a page that emits our
// wire format with @opentelemetry/sdk-logs 0.223.1 and
// @opentelemetry/exporter-logs-otlp-http (OTLP/JSON: the eventName field, ints
// as JSON numbers, times as strings) or -proto (a gzip bytes body) stores
// the same chunk, summary and markers as our recorder's record.
func TestPlainOTelJSLogsSDKChunksLandLikeOurRecorders(t *testing.T) {
	c := startCollector(t, "", "")
	ctx := context.Background()
	now := time.Now().Add(-time.Minute).UnixMilli()
	events := []json.RawMessage{
		json.RawMessage(rrEvent(4, now, `{"href":"http://127.0.0.1:8080/pricing","width":800,"height":600}`)),
		json.RawMessage(rrEvent(2, now+2, `{"node":{"type":0,"childNodes":[{"type":2,"tagName":"html","attributes":{},"childNodes":[],"id":2}],"id":1},"initialOffset":{"left":0,"top":0}}`)),
		json.RawMessage(rrEvent(3, now+300, `{"source":2,"type":2,"id":2,"x":4,"y":4}`)),
	}
	data, _ := json.Marshal(events)
	ua := faroUA

	ours := "ours-" + c.db
	ld := plog.NewLogs()
	addChunk(t, ld, chunkOpts{session: ours, window: "tab-1", seq: 3, events: events, gzip: true, userAgent: ua})
	c.sendLogs(ld, false)

	viaJSON := "otel-json-" + c.db
	attr := func(k string, v any) map[string]any {
		switch v := v.(type) {
		case string:
			return map[string]any{"key": k, "value": sv(v)}
		case bool:
			return map[string]any{"key": k, "value": map[string]any{"boolValue": v}}
		default:
			return map[string]any{"key": k, "value": map[string]any{"intValue": v}}
		}
	}
	body, _ := json.Marshal(map[string]any{"resourceLogs": []any{map[string]any{
		"resource": map[string]any{"attributes": []any{attr("service.name", "shop-web"), attr("deployment.environment.name", "test"),
			attr("telemetry.sdk.language", "webjs"), attr("telemetry.sdk.name", "opentelemetry"), attr("user_agent.original", ua)}, "droppedAttributesCount": 0},
		"scopeLogs": []any{map[string]any{"scope": map[string]any{"name": "sessionreplay-page"}, "logRecords": []any{map[string]any{
			"timeUnixNano": strconv.FormatInt(now*1e6, 10), "observedTimeUnixNano": strconv.FormatInt(now*1e6, 10), "severityNumber": 9,
			"eventName": "session_replay.chunk", "body": sv(string(data)),
			"attributes": []any{attr("session.id", viaJSON), attr("session_replay.window_id", "tab-1"), attr("session_replay.seq", 3),
				attr("session_replay.event_count", len(events)), attr("session_replay.encoding", "json")},
			"droppedAttributesCount": 0, "flags": 0, "traceId": "", "spanId": "",
		}}}},
	}}})
	code, out, _ := c.post("/v1/logs", "application/json", body)
	if code != 200 || strings.Contains(string(out), "rejected") {
		t.Fatalf("JSON: %d %s", code, out)
	}

	viaProto := "otel-proto-" + c.db
	ld = plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop-web")
	rl.Resource().Attributes().PutStr("deployment.environment.name", "test")
	rl.Resource().Attributes().PutStr("user_agent.original", ua)
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("session_replay.chunk")
	lr.SetTimestamp(pcommon.Timestamp(now * 1e6))
	lr.Body().SetEmptyBytes().FromRaw(gz(t, data)) // a Uint8Array body is bytesValue
	lr.Attributes().PutStr("session.id", viaProto)
	lr.Attributes().PutStr("session_replay.window_id", "tab-1")
	lr.Attributes().PutInt("session_replay.seq", 3)
	lr.Attributes().PutStr("session_replay.encoding", "gzip")
	c.sendLogs(ld, false)

	want, err := c.reader.Chunks(ctx, ours)
	if err != nil || len(want) != 1 {
		t.Fatalf("our recorder's chunks: %v %d", err, len(want))
	}
	wantSum, _, _ := c.reader.Session(ctx, ours)
	for _, sess := range []string{viaJSON, viaProto} {
		got, err := c.reader.Chunks(ctx, sess)
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v %d chunks", sess, err, len(got))
		}
		g, w := got[0], want[0]
		g.SessionID, w.SessionID = "", ""
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("%s stored\n%+v\nour recorder's\n%+v", sess, g, w)
		}
		sum, ok, _ := c.reader.Session(ctx, sess)
		sum.SessionID = wantSum.SessionID
		if !ok || fmt.Sprint(sum) != fmt.Sprint(wantSum) {
			t.Errorf("%s summary\n%+v\nour recorder's\n%+v", sess, sum, wantSum)
		}
	}
}

func TestOnlyABrowsersUserAgentHeaderFillsTheSummary(t *testing.T) {
	for header, want := range map[string]string{
		faroUA: faroUA,
		"OpenTelemetry Collector Contrib/0.165.0": "", // a gateway forwarding for the browsers
		"Go-http-client/1.1":                      "",
		"":                                        "",
	} {
		if got := browserUserAgent(withUserAgent(context.Background(), header)); got != want {
			t.Errorf("%q -> %q, want %q", header, got, want)
		}
	}
}

// capturedTimes are the times in testdata/sdk (captured 2026-12-01 between
// unix ms 1796110000000 and 1796119999999): 13-digit ms and 19-digit ns.
var capturedTimes = regexp.MustCompile(`\b179611\d{7}(\d{6})?\b`)

// captureShift is the shift that moves the earliest captured time of the
// files to ten minutes ago.
func captureShift(t *testing.T, files []string) int64 {
	first := int64(math.MaxInt64)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range capturedTimes.FindAll(b, -1) {
			n, _ := strconv.ParseInt(string(m[:13]), 10, 64)
			first = min(first, n)
		}
	}
	if first == math.MaxInt64 {
		t.Fatalf("no captured times in %v", files)
	}
	return time.Now().Add(-10*time.Minute).UnixMilli() - first
}

// shiftTimes moves captured times by delta ms (stored rows past the buffer
// TTL would vanish), in JSON text and in rrweb events inside strings alike.
func shiftTimes(b []byte, delta int64) []byte {
	return capturedTimes.ReplaceAllFunc(b, func(m []byte) []byte {
		n, _ := strconv.ParseInt(string(m), 10, 64)
		if len(m) == 19 {
			return strconv.AppendInt(nil, n+delta*1e6, 10)
		}
		return strconv.AppendInt(nil, n+delta, 10)
	})
}

type sentEvent struct {
	order int64
	event string
}

// wantPerWindow sorts the events sent per window in the SDK's order.
func wantPerWindow(t *testing.T, sent map[string][]sentEvent) map[string][]string {
	out := map[string][]string{}
	for w, evs := range sent {
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].order < evs[j].order })
		for _, e := range evs {
			out[w] = append(out[w], canonical(t, []byte(e.event)))
		}
	}
	return out
}

// compareReplay checks that every window replays exactly the events sent,
// in order. The one value the server changes on purpose with mask_inputs
// off is a typed Luhn-valid card number (input events' data.text); those
// events must keep their type and time and lose the number.
func compareReplay(t *testing.T, got, want map[string][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d windows replayed, %d sent", len(got), len(want))
	}
	masked := 0
	for w, evs := range want {
		if len(got[w]) != len(evs) {
			t.Errorf("window %s: %d events replayed, %d sent", w, len(got[w]), len(evs))
			continue
		}
		for i := range evs {
			if got[w][i] == evs[i] {
				continue
			}
			var a, b struct {
				Type      int
				Timestamp int64
				Data      struct{ Source int }
			}
			_ = json.Unmarshal([]byte(got[w][i]), &a)
			_ = json.Unmarshal([]byte(evs[i]), &b)
			if a != b || a.Data.Source != 5 || !strings.Contains(evs[i], "4111 1111 1111 1111") || strings.Contains(got[w][i], "4111 1111 1111 1111") {
				t.Errorf("window %s event %d:\nreplayed %s\nsent     %s", w, i, got[w][i], evs[i])
				continue
			}
			masked++ // data.text: the card number
		}
	}
	sent, replayedN := 0, 0
	for w := range want {
		sent += len(want[w])
	}
	for w := range got {
		replayedN += len(got[w])
	}
	t.Logf("%d windows, %d rrweb events sent, %d replayed; card number masked in data.text of %d input events", len(want), sent, replayedN, masked)
}

// assertTracks checks how the replay plays a captured session (3 page
// loads of a tab, the first with a same-origin iframe that loads the SDK
// too): the tab's pages one after another on track 0, the iframe's document
// alone on track 1. Windows are named by the page they record.
func assertTracks(t *testing.T, c *collector, session string) {
	t.Helper()
	ws, err := c.reader.Windows(context.Background(), session)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, tr := range tracks.Group(ws) {
		var pages []string
		for _, w := range tr.Windows {
			pages = append(pages, path.Base(w.URL))
		}
		got = append(got, pages)
	}
	want := [][]string{{"page1.html", "page2.html", "page3.html"}, {"frame.html"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tracks by page %v, want %v (windows %+v)", got, want, ws)
	}
	t.Logf("%d windows replay as tracks %v", len(ws), got)
}

const noInputMasking = "    privacy:\n      mask_inputs: false\n      split_parts_key: " + testPartsKey + "\n"

// testPartsKey is the split_parts_key every test collector shares, as the
// replicas of a deployment do.
const testPartsKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestFaro2121CapturedSessionReplaysEveryEventPerDocument(t *testing.T) {
	c := startCollector(t, `    rules:
      - name: js-exceptions
        log: 'event_name == "exception"'`, noInputMasking)
	ctx := context.Background()
	files, _ := filepath.Glob("testdata/sdk/faro-2.12.1/*_v1_logs.json")
	delta := captureShift(t, files)
	sent := map[string][]sentEvent{}
	session := ""
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body := shiftTimes(raw, delta)
		var req struct {
			ResourceLogs []struct {
				ScopeLogs []struct {
					LogRecords []struct {
						Attributes []struct {
							Key   string
							Value struct {
								StringValue string
								KvlistValue struct {
									Values []struct {
										Key   string
										Value struct{ StringValue string }
									}
								}
							}
						}
					}
				}
			}
		}
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatal(err)
		}
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					a := map[string]string{}
					for _, kv := range lr.Attributes {
						a[kv.Key] = kv.Value.StringValue
						for _, e := range kv.Value.KvlistValue.Values {
							a[kv.Key+"."+e.Key] = e.Value.StringValue
						}
					}
					if a["event.name"] != "faro.session_recording.event" {
						continue
					}
					seq, _ := strconv.ParseInt(a["event.attributes.seq"], 10, 64)
					win := a["event.attributes.recording_id"] + ":" + a["event.attributes.gen"]
					sent[win] = append(sent[win], sentEvent{seq, a["event.attributes.event"]})
					session = a["session.id"]
				}
			}
		}
		code, out, _ := c.post("/v1/logs", "application/json", body, "User-Agent", faroUA)
		resp := plogotlp.NewExportResponse()
		if code != 200 || resp.UnmarshalJSON(out) != nil || resp.PartialSuccess().RejectedLogRecords() != 0 {
			t.Fatalf("%s: %d %s", f, code, out)
		}
	}
	// a window per document: page 1 (recording A), the iframe's page, then
	// pages 2 and 3 (recording B, handed on through sessionStorage)
	if len(files) != 16 || len(sent) != 4 {
		t.Fatalf("%d captured requests, %d documents", len(files), len(sent))
	}
	got, _ := replayed(t, c, session)
	compareReplay(t, got, wantPerWindow(t, sent))
	assertTracks(t, c, session)
	s, ok, err := c.reader.Session(ctx, session)
	if err != nil || !ok || s.Browser == "" || s.OS == "" || s.Errors != 1 || s.PageViews < 3 {
		t.Errorf("summary: %v %v %+v", ok, err, s)
	}
	ms, err := c.reader.Markers(ctx, store.MarkersQuery{TimeRange: store.TimeRange{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)}, SessionID: session, Kinds: []string{store.KindError}, Limit: 10})
	if err != nil || len(ms) != 1 || ms[0].Name != "Error" || !strings.Contains(ms[0].Detail, "boom from page three") {
		t.Errorf("error markers: %v %+v", err, ms)
	}
	// Faro's exception (no event name on the wire) matches the rule written
	// for our recorder's errors
	if decs, err := c.reader.Decisions(ctx, session); err != nil || len(decs) != 1 || decs[0].Rule != "js-exceptions" {
		t.Errorf("decisions: %v %+v", err, decs)
	}
}

// readLogsExport reads a captured OTLP/protobuf logs export.
func readLogsExport(t *testing.T, path string) plog.Logs {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(raw); err != nil {
		t.Fatal(err)
	}
	return req.Logs()
}

func TestHyperDX0260CapturedSessionReplaysEveryPageLoad(t *testing.T) {
	c := startCollector(t, "", noInputMasking)
	files, _ := filepath.Glob("testdata/sdk/hyperdx-0.26.0/*_v1_logs.pb")
	delta := captureShift(t, append(files, "testdata/sdk/hyperdx-0.26.0/008_v1_traces.json"))
	sent := map[string][]sentEvent{}
	session := ""
	for _, f := range files {
		ld := readLogsExport(t, f)
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			ra := rls.At(i).Resource().Attributes()
			session = str(ra, "rum.sessionId")
			window := "rr-web:" + str(ra, "rum.scriptInstance")
			lrs := rls.At(i).ScopeLogs().At(0).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				lr.SetTimestamp(lr.Timestamp() + pcommon.Timestamp(delta*1e6))
				lr.Body().SetStr(string(shiftTimes([]byte(lr.Body().Str()), delta)))
				idx, _ := intAttr(lr.Attributes(), "rr-web.event")
				sent[window] = append(sent[window], sentEvent{idx, lr.Body().Str()})
			}
		}
		pb, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		code, out, _ := c.post("/v1/logs", "application/x-protobuf", gz(t, pb), "Content-Encoding", "gzip", "User-Agent", faroUA, "Authorization", "test-key")
		resp := plogotlp.NewExportResponse()
		if code != 200 || resp.UnmarshalProto(out) != nil || resp.PartialSuccess().RejectedLogRecords() != 0 {
			t.Fatalf("%s: %d %q", f, code, resp.PartialSuccess().ErrorMessage())
		}
	}
	if len(files) != 4 || len(sent) != 4 {
		t.Fatalf("%d captured requests, %d recorders", len(files), len(sent))
	}
	got, _ := replayed(t, c, session)
	compareReplay(t, got, wantPerWindow(t, sent))
	assertTracks(t, c, session)

	// HyperDX's spans (OTLP/JSON) carry the session in the resource; the
	// uncaught error is an "onerror" span with status ERROR.
	traces, _ := filepath.Glob("testdata/sdk/hyperdx-0.26.0/*_v1_traces.json")
	for _, f := range traces {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code, out, _ := c.post("/v1/traces", "application/json", shiftTimes(raw, delta), "User-Agent", faroUA, "Authorization", "test-key")
		if code != 200 {
			t.Fatalf("%s: %d %s", f, code, out)
		}
	}
	ctx := context.Background()
	if s, ok, err := c.reader.Session(ctx, session); err != nil || !ok || s.Browser == "" || s.PageViews != 4 || s.Errors != 1 {
		t.Errorf("summary: %v %v %+v", ok, err, s)
	}
	ms, err := c.reader.Markers(ctx, store.MarkersQuery{TimeRange: store.TimeRange{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)}, SessionID: session, Kinds: []string{store.KindError}, Limit: 10})
	if err != nil || len(ms) != 1 || ms[0].Name != "Error" || !strings.Contains(ms[0].Detail, "boom from page three") || !strings.HasSuffix(ms[0].URL, "/page3.html") {
		t.Errorf("error markers: %v %+v", err, ms)
	}
	if len(ms) == 1 {
		if got, err := c.reader.SessionsOfTrace(ctx, ms[0].TraceID); err != nil || len(got) != 1 || got[0] != session {
			t.Errorf("trace -> session: %v %v", got, err)
		}
	}
}

// TestOTelJS0223CapturedChunksLandLikeOurRecorders: the chunks a page sent
// with @opentelemetry/sdk-logs 0.223.1 and exporter-logs-otlp-http (JSON) or
// -proto (protobuf), over three page loads, replay every event, and store
// the same rows as the same chunks sent the way our recorder sends them.
func TestOTelJS0223CapturedChunksLandLikeOurRecorders(t *testing.T) {
	c := startCollector(t, "", noInputMasking)
	ctx := context.Background()
	for _, exp := range []string{"http", "proto"} {
		files, _ := filepath.Glob("testdata/sdk/otel-js-0.223.1-" + exp + "/*_v1_logs.*")
		delta := captureShift(t, files)
		session := ""
		ours := plog.NewLogs()
		records := 0
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			req := plogotlp.NewExportRequest()
			ct := "application/json"
			if strings.HasSuffix(f, ".pb") {
				ct = "application/x-protobuf"
				err = req.UnmarshalProto(raw)
			} else {
				err = req.UnmarshalJSON(shiftTimes(raw, delta))
			}
			if err != nil {
				t.Fatal(err)
			}
			rls := req.Logs().ResourceLogs()
			for i := 0; i < rls.Len(); i++ {
				lrs := rls.At(i).ScopeLogs().At(0).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					if lr.EventName() != EventNameChunk {
						t.Fatalf("%s: eventName %q", f, lr.EventName())
					}
					body := lr.Body().Str()
					if ct == "application/x-protobuf" { // shift in place, keep the SDK's encoding
						body = string(shiftTimes([]byte(body), delta))
						lr.Body().SetStr(body)
						lr.SetTimestamp(lr.Timestamp() + pcommon.Timestamp(delta*1e6))
					}
					session = str(lr.Attributes(), "session.id")
					// our recorder's record of the same events: gzip bytes of
					// the same JSON (addChunk would re-encode it)
					seq, _ := intAttr(lr.Attributes(), AttrSeq)
					rl := ours.ResourceLogs().AppendEmpty()
					rls.At(i).Resource().CopyTo(rl.Resource())
					o := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
					o.SetEventName(EventNameChunk)
					o.SetTimestamp(lr.Timestamp())
					o.Attributes().PutStr("session.id", "ours-"+exp+"-"+c.db)
					o.Attributes().PutStr("session_replay.window_id", str(lr.Attributes(), "session_replay.window_id"))
					o.Attributes().PutInt("session_replay.seq", seq)
					o.Attributes().PutStr("session_replay.encoding", "gzip")
					o.Body().SetEmptyBytes().FromRaw(gz(t, []byte(body)))
					records++
				}
			}
			body := shiftTimes(raw, delta)
			if ct == "application/x-protobuf" {
				body, _ = req.MarshalProto()
			}
			code, out, _ := c.post("/v1/logs", ct, body, "User-Agent", faroUA)
			if code != 200 || strings.Contains(string(out), "rejected") {
				t.Fatalf("%s: %d %s", f, code, out)
			}
		}
		c.sendLogs(ours, false)
		got, err := c.reader.Chunks(ctx, session)
		if err != nil || len(got) != records || records < 6 {
			t.Fatalf("%s: %d chunks of %d records: %v", exp, len(got), records, err)
		}
		want, err := c.reader.Chunks(ctx, "ours-"+exp+"-"+c.db)
		if err != nil || len(want) != len(got) {
			t.Fatalf("%s: our recorder's chunks: %d %v", exp, len(want), err)
		}
		for i := range got {
			got[i].SessionID, want[i].SessionID = "", ""
			if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
				t.Errorf("%s chunk %d:\n%+v\nour recorder's:\n%+v", exp, i, got[i], want[i])
			}
		}
		s, ok, _ := c.reader.Session(ctx, session)
		if !ok || s.PageViews != 3 || s.Browser == "" || s.Errors != 0 {
			t.Errorf("%s summary: %+v", exp, s)
		}
	}
}
