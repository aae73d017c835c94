package formats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// memParts is a PartStore in memory, shared by the "requests" of a test;
// the receiver's is ClickHouse (pkg/store, tested there and end to end).
type memParts map[SplitKey]map[int64]SplitPart

func (m memParts) Gather(_ context.Context, parts []SplitPart) ([]SplitPart, error) {
	for _, p := range parts {
		if m[p.SplitKey] == nil {
			m[p.SplitKey] = map[int64]SplitPart{}
		}
		p.Body = append([]byte(nil), p.Body...)
		m[p.SplitKey][p.Part] = p
	}
	var out []SplitPart
	for _, p := range parts {
		for _, q := range m[p.SplitKey] {
			out = append(out, q)
		}
	}
	return out, nil
}

// take offers every record of ld to one request, as consumeLogs does.
func take(t *testing.T, q *Request, ld plog.Logs) (claimed int, errs []error) {
	t.Helper()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				name := lr.EventName()
				if name == "" {
					name = Str(lr.Attributes(), "event.name")
				}
				ok, err := q.Take(Record{Resource: rls.At(i).Resource(), Scope: sls.At(j).Scope(), Log: lr, Name: name})
				if ok {
					claimed++
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return claimed, errs
}

func event(typ int, ts int64, extra string) string {
	return fmt.Sprintf(`{"type":%d,"data":{%s},"timestamp":%d}`, typ, extra, ts)
}

// pageLoad is one page load of @hyperdx/browser 0.26: its recorder counts
// rr-web.event from 1, the resource carries rum.sessionId and the
// page's rum.scriptInstance (instance "" leaves it out).
func pageLoad(ld plog.Logs, session, instance string, t0 int64, n int) {
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "hyperdx-web")
	ra.PutStr("rum.sessionId", session)
	if instance != "" {
		ra.PutStr("rum.scriptInstance", instance)
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("rum.rr-web")
	for i := 1; i <= n; i++ {
		ts := t0 + int64(i)*10
		body := event(3, ts, `"source":1,"positions":[]`)
		switch i {
		case 1:
			body = event(4, ts, `"href":"https://shop.example/p`+fmt.Sprint(t0)+`","width":800,"height":600`)
		case 2:
			body = event(2, ts, `"node":{"type":0,"id":1,"childNodes":[]},"initialOffset":{"top":0,"left":0}`)
		}
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(ts * 1e6))
		lr.Body().SetStr(body)
		lr.Attributes().PutDouble("rr-web.offset", float64(i))
		lr.Attributes().PutDouble("rr-web.event", float64(i)) // the SDK's numbers are doubles
		lr.Attributes().PutDouble("rr-web.chunk", 1)
		lr.Attributes().PutDouble("rr-web.total-chunks", 1)
	}
}

func events(t *testing.T, c Chunk) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(c.Data, &out); err != nil {
		t.Fatalf("chunk %s/%d is not a JSON array: %v", c.WindowID, c.Seq, err)
	}
	return out
}

func TestRRWebPageLoadsOfOneSessionAreSeparateWindowsInIndexOrder(t *testing.T) {
	t0 := time.Now().UnixMilli()
	var keys []string
	for p, inst := range []string{"a1a1a1a1a1a1a1a1", "b2b2b2b2b2b2b2b2", "c3c3c3c3c3c3c3c3"} {
		// every page load is its own request, as the SDK exports from each page
		ld := plog.NewLogs()
		pageLoad(ld, "sess", inst, t0+int64(p)*10000, 4)
		q := NewRequest()
		if n, errs := take(t, q, ld); n != 4 || errs != nil {
			t.Fatalf("page %d: claimed %d, errors %v", p, n, errs)
		}
		chunks := q.Chunks()
		if len(chunks) != 1 {
			t.Fatalf("page %d: %d chunks", p, len(chunks))
		}
		c := chunks[0]
		if c.SessionID != "sess" || c.WindowID != "rr-web:"+inst || c.Seq != 1 {
			t.Errorf("page %d: key %s/%s/%d", p, c.SessionID, c.WindowID, c.Seq)
		}
		evs := events(t, c)
		if len(evs) != 4 || evs[0]["type"].(float64) != 4 {
			t.Errorf("page %d: events %v", p, evs)
		}
		keys = append(keys, fmt.Sprint(c.SessionID, "/", c.WindowID, "/", c.Seq))
	}
	if keys[0] == keys[1] || keys[1] == keys[2] || keys[0] == keys[2] {
		t.Errorf("page loads share a chunk key: %v", keys)
	}
}

func TestRRWebWithoutScriptInstanceKeysPageLoadsByTime(t *testing.T) {
	t0 := time.Now().UnixMilli()
	var prev uint64
	for p := 0; p < 3; p++ {
		ld := plog.NewLogs()
		pageLoad(ld, "sess", "", t0+int64(p)*10000, 3)
		q := NewRequest()
		take(t, q, ld)
		c := q.Chunks()[0]
		if c.WindowID != RRWebWindow {
			t.Errorf("window %q", c.WindowID)
		}
		if c.Seq <= prev {
			t.Errorf("page %d: seq %d not after the page before (%d)", p, c.Seq, prev)
		}
		if c.Seq&(1<<20-1) != 1 {
			t.Errorf("page %d: seq %d does not keep the first index 1", p, c.Seq)
		}
		prev = c.Seq
	}
}

func TestRRWebRetriedRequestWritesTheSameChunk(t *testing.T) {
	ld := plog.NewLogs()
	pageLoad(ld, "sess", "abcdef0123456789", time.Now().UnixMilli(), 5)
	var got []Chunk
	for range 2 {
		q := NewRequest()
		take(t, q, ld)
		got = append(got, q.Chunks()...)
	}
	if len(got) != 2 || got[0].WindowID != got[1].WindowID || got[0].Seq != got[1].Seq || string(got[0].Data) != string(got[1].Data) {
		t.Fatalf("retry differs: %+v", got)
	}
}

func TestRRWebRecordsOutOfOrderAreStoredInIndexOrder(t *testing.T) {
	ld := plog.NewLogs()
	pageLoad(ld, "sess", "abcdef0123456789", time.Now().UnixMilli(), 5)
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	reversed := plog.NewLogs()
	rl := reversed.ResourceLogs().AppendEmpty()
	ld.ResourceLogs().At(0).Resource().CopyTo(rl.Resource())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(RRWebScope)
	for i := lrs.Len() - 1; i >= 0; i-- {
		lrs.At(i).CopyTo(sl.LogRecords().AppendEmpty())
	}
	q := NewRequest()
	take(t, q, reversed)
	evs := events(t, q.Chunks()[0])
	for i := 1; i < len(evs); i++ {
		if evs[i]["timestamp"].(float64) < evs[i-1]["timestamp"].(float64) {
			t.Fatalf("event %d out of order: %v", i, evs)
		}
	}
}

// splitRecords appends the records of a HyperDX page: events 1..n, event
// split of them in parts of partLen bytes (rr-web.chunk from 1), every
// record stamped with its event's time as the SDK does. It returns the
// records' events in order and the records.
func splitRecords(t0 int64, n, split, partLen int) (events []string, recs []plog.LogRecord) {
	sl := plog.NewScopeLogs()
	for i := 1; i <= n; i++ {
		ts := t0 + int64(i)*10
		body := event(3, ts, `"source":1,"positions":[]`)
		if i == split {
			body = event(2, ts, `"node":{"type":0,"id":1,"childNodes":[{"type":2,"tagName":"html","attributes":{},"childNodes":[],"id":2}]},"initialOffset":{"top":0,"left":0}`)
		}
		events = append(events, body)
		var pieces []string
		for len(body) > 0 && i == split {
			k := min(partLen, len(body))
			pieces, body = append(pieces, body[:k]), body[k:]
		}
		if pieces == nil {
			pieces = []string{body}
		}
		for p, piece := range pieces {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.Timestamp(ts * 1e6))
			lr.Body().SetStr(piece)
			lr.Attributes().PutDouble("rr-web.event", float64(i))
			lr.Attributes().PutDouble("rr-web.chunk", float64(p+1))
			lr.Attributes().PutDouble("rr-web.total-chunks", float64(len(pieces)))
			recs = append(recs, lr)
		}
	}
	return events, recs
}

// rrRequest is one export holding recs, read and joined against parts.
func rrRequest(t *testing.T, parts PartStore, instance string, recs []plog.LogRecord) []Chunk {
	t.Helper()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("rum.sessionId", "sess")
	if instance != "" {
		rl.Resource().Attributes().PutStr("rum.scriptInstance", instance)
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(RRWebScope)
	for _, lr := range recs {
		lr.CopyTo(sl.LogRecords().AppendEmpty())
	}
	q := NewRequest()
	if _, errs := take(t, q, ld); errs != nil {
		t.Fatal(errs)
	}
	refused, err := q.JoinSplit(context.Background(), parts)
	if err != nil || refused != nil {
		t.Fatalf("join: %v %v", err, refused)
	}
	return q.Chunks()
}

func TestRRWebSplitEventWithinOneRequestJoinsIntoTheRequestsChunk(t *testing.T) {
	evs, recs := splitRecords(time.Now().UnixMilli(), 4, 2, 40)
	if len(recs) < 6 {
		t.Fatalf("the snapshot is not split: %d records", len(recs))
	}
	parts := memParts{}
	chunks := rrRequest(t, parts, "abcdef0123456789", recs)
	if len(chunks) != 1 || chunks[0].Seq != 1 || string(chunks[0].Data) != "["+strings.Join(evs, ",")+"]" {
		t.Fatalf("chunks %+v", chunks)
	}
	if len(parts) != 0 {
		t.Errorf("parts of an event complete in its request were stored: %v", parts)
	}
}

// TestRRWebSplitEventAcrossRequestsIsAChunkOfItsOwn: the parts of event 4
// straddle two exports. Whichever export comes second emits event 4 as a
// chunk of its own, keyed by the event (seq 4; in the window "rr-web", its
// time and index), the exports' chunks keep the least index of their whole
// events; a retry of either export writes the same keys.
func TestRRWebSplitEventAcrossRequestsIsAChunkOfItsOwn(t *testing.T) {
	t0 := time.Now().UnixMilli()
	evs, recs := splitRecords(t0, 7, 4, 50)
	var cut int // inside event 4's parts
	for i, lr := range recs {
		if n, _ := Int(lr.Attributes(), RRWebEventAttr); n == 4 {
			cut = i + 1
			break
		}
	}
	first, second := recs[:cut], recs[cut:]
	for _, instance := range []string{"abcdef0123456789", ""} {
		window := "rr-web"
		seq := func(idx int64) uint64 { return uint64(t0+idx*10)<<20 | uint64(idx) }
		if instance != "" {
			window += ":" + instance
			seq = func(idx int64) uint64 { return uint64(idx) }
		}
		want := map[uint64]string{
			seq(1): "[" + strings.Join(evs[:3], ",") + "]",
			seq(4): "[" + evs[3] + "]",
			seq(5): "[" + strings.Join(evs[4:], ",") + "]",
		}
		for _, order := range [][][]plog.LogRecord{{first, second, second}, {second, first, first}} {
			parts := memParts{}
			got := map[uint64]string{}
			for i, req := range order {
				chunks := rrRequest(t, parts, instance, req)
				for j, c := range chunks {
					if c.WindowID != window || c.SessionID != "sess" {
						t.Errorf("chunk key %s/%s", c.SessionID, c.WindowID)
					}
					if j > 0 && c.Seq <= chunks[j-1].Seq {
						t.Errorf("request %d: chunks not in seq order: %d after %d", i, c.Seq, chunks[j-1].Seq)
					}
					if prev, ok := got[c.Seq]; ok && prev != string(c.Data) {
						t.Errorf("window %q seq %d written with two bodies:\n%s\n%s", window, c.Seq, prev, c.Data)
					}
					got[c.Seq] = string(c.Data)
				}
				if i == 0 && len(chunks) != 1 {
					t.Errorf("window %q: the first export gave %d chunks, want its own only", window, len(chunks))
				}
			}
			if len(got) != len(want) {
				t.Errorf("window %q: chunks %v, want seqs 1, 4, 5", window, got)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("window %q seq %d:\n got %s\nwant %s", window, k, got[k], v)
				}
			}
		}
	}
}

func TestRRWebSplitEventWaitsWhenAPartIsMissing(t *testing.T) {
	_, recs := splitRecords(time.Now().UnixMilli(), 3, 2, 30)
	parts := memParts{}
	// every part of event 2 but the last
	chunks := rrRequest(t, parts, "abcdef0123456789", recs[:len(recs)-2])
	if len(chunks) != 1 || chunks[0].Seq != 1 || len(events(t, chunks[0])) != 1 {
		t.Fatalf("chunks %+v", chunks)
	}
	if len(parts) != 1 {
		t.Errorf("stored parts of %d events, want 1", len(parts))
	}
}

// addFaroEvent adds one record as @grafana/faro-transport-otlp-http 2.12.1
// writes a replay event (see testdata/faro-2.12.1-replay.json for the JSON).
func addFaroEvent(sl plog.ScopeLogs, session, recording string, seq int, ev string) {
	addFaroGenEvent(sl, session, recording, 1, seq, ev)
}

// addFaroGenEvent is addFaroEvent in document gen of the recording.
func addFaroGenEvent(sl plog.ScopeLogs, session, recording string, gen, seq int, ev string) {
	lr := sl.LogRecords().AppendEmpty()
	lr.Body().SetStr(FaroEventName)
	a := lr.Attributes()
	a.PutStr("session.id", session)
	a.PutStr("event.name", FaroEventName)
	ea := a.PutEmptyMap("event.attributes")
	ea.PutStr("event", ev)
	ea.PutStr("recording_id", recording)
	ea.PutStr("gen", fmt.Sprint(gen))
	ea.PutStr("seq", fmt.Sprint(seq))
}

func TestFaroDocumentsOfOneSessionAreWindowsInSeqOrder(t *testing.T) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	ts := time.Now().UnixMilli()
	// the top page's recording and an iframe's, interleaved, seq out of
	// order; the iframe's recording is handed on to the tab's next page
	// (gen 2), seq going on
	for _, e := range []struct {
		rec      string
		gen, seq int
	}{{"top", 1, 11}, {"frame", 1, 0}, {"top", 1, 10}, {"frame", 2, 3}, {"frame", 1, 1}, {"top", 1, 12}, {"frame", 1, 2}, {"frame", 2, 4}} {
		addFaroGenEvent(sl, "sess", e.rec, e.gen, e.seq, event(3, ts+int64(e.seq), `"source":1,"seq":`+fmt.Sprint(e.seq)))
	}
	q := NewRequest()
	if n, errs := take(t, q, ld); n != 8 || errs != nil {
		t.Fatalf("claimed %d, errors %v", n, errs)
	}
	chunks := q.Chunks()
	if len(chunks) != 3 {
		t.Fatalf("%d chunks", len(chunks))
	}
	want := map[string][]float64{"top:1": {10, 11, 12}, "frame:1": {0, 1, 2}, "frame:2": {3, 4}}
	for _, c := range chunks {
		w := want[c.WindowID]
		if w == nil || c.Seq != uint64(w[0]) || c.SessionID != "sess" {
			t.Fatalf("chunk key %s/%s/%d", c.SessionID, c.WindowID, c.Seq)
		}
		evs := events(t, c)
		if len(evs) != len(w) {
			t.Fatalf("window %s has %d events, want %d", c.WindowID, len(evs), len(w))
		}
		for i, e := range evs {
			if got := e["data"].(map[string]any)["seq"].(float64); got != w[i] {
				t.Errorf("window %s event %d has seq %v, want %v", c.WindowID, i, got, w[i])
			}
		}
		if _, ok := c.Attrs.Get(FaroAttrs); ok {
			t.Errorf("the chunk's attributes keep the event again")
		}
	}
}

func TestFaroRecordWithoutItsEventIsRefused(t *testing.T) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	addFaroEvent(sl, "sess", "rec", 0, `{"type":3}`)
	sl.LogRecords().At(0).Attributes().PutStr("event.attributes", "not a kvlist")
	addFaroEvent(sl, "sess", "rec", 1, `not json`)
	addFaroEvent(sl, "", "rec", 2, event(3, 1, ""))
	q := NewRequest()
	n, errs := take(t, q, ld)
	if n != 3 || len(errs) != 3 || len(q.Chunks()) != 0 {
		t.Fatalf("claimed %d, errors %v, chunks %d", n, errs, len(q.Chunks()))
	}
	if !errors.Is(errs[0], ErrBadBody) || !errors.Is(errs[2], ErrNoSession) || !strings.HasPrefix(errs[1].Error(), "faro replay event: ") {
		t.Errorf("errors %v", errs)
	}
}

func TestFaroLifecycleRecordsAreNotReplayData(t *testing.T) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for name := range FaroLifecycle {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr(name)
		lr.Attributes().PutStr("event.name", name)
		lr.Attributes().PutStr("session.id", "sess")
		lr.Attributes().PutEmptyMap("event.attributes").PutStr("recording_id", "rec")
	}
	q := NewRequest()
	if n, errs := take(t, q, ld); n != 0 || errs != nil {
		t.Fatalf("claimed %d, errors %v", n, errs)
	}
}

func TestSplunkRecorderSegmentsAreRefusedByName(t *testing.T) {
	cases := map[string]func(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord){
		"splunk scope, CBOR body": func(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) {
			sl.Scope().SetName(SplunkScope)
			lr.Body().SetEmptyBytes().FromRaw([]byte{0xa2, 0x66, 'a', 's', 's', 'e', 't', 's', 0xa0, 0x66, 'e', 'v', 'e', 'n', 't', 's', 0x80})
		},
		"splunk session resource, JSON segment": func(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) {
			rl.Resource().Attributes().PutStr(SplunkSessionAttr, "sess")
			sl.Scope().SetName(RRWebScope)
			lr.Body().SetStr(`{"assets":{},"events":[{"type":2}]}`)
		},
		"rr-web scope, segment body": func(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) {
			rl.Resource().Attributes().PutStr(RRWebSessionAttr, "sess")
			sl.Scope().SetName(RRWebScope)
			lr.Body().SetStr(` { "events": [], "assets": {} }`)
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			ld := plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			sl := rl.ScopeLogs().AppendEmpty()
			lr := sl.LogRecords().AppendEmpty()
			lr.Attributes().PutInt("rr-web.event", 1)
			mk(rl, sl, lr)
			q := NewRequest()
			n, errs := take(t, q, ld)
			if n != 1 || len(errs) != 1 || !errors.Is(errs[0], ErrSplunkSegment) || len(q.Chunks()) != 0 {
				t.Fatalf("claimed %d, errors %v, chunks %d", n, errs, len(q.Chunks()))
			}
			if !strings.Contains(errs[0].Error(), "Splunk RUM segment format is not rrweb") {
				t.Errorf("message %q", errs[0])
			}
		})
	}
}

// TestPlainOTelJSLogsSDKChunkIsOurs decodes a request shaped as
// @opentelemetry/exporter-logs-otlp-http 0.223.1 writes it (eventName field,
// ints as JSON numbers, times as strings) through pdata, as the receiver
// does.
func TestPlainOTelJSLogsSDKChunkIsOurs(t *testing.T) {
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalJSON(readTestdata(t, "otel-js-sdk-logs-0.223.1.json")); err != nil {
		t.Fatal(err)
	}
	q := NewRequest()
	if n, errs := take(t, q, req.Logs()); n != 1 || errs != nil {
		t.Fatalf("claimed %d, errors %v", n, errs)
	}
	c := q.Chunks()[0]
	if c.SessionID != "otel-js-session" || c.WindowID != "tab-1" || c.Seq != 3 || c.Start != 1764580000000 || len(events(t, c)) != 2 {
		t.Fatalf("chunk %+v", c)
	}
}

// TestFaroJSONWithNumericTimeUnixNanoDecodes: Faro writes timeUnixNano as a
// JSON number (Date.parse(...) * 1e6); pdata's decoder takes it.
func TestFaroJSONWithNumericTimeUnixNanoDecodes(t *testing.T) {
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalJSON(readTestdata(t, "faro-2.12.1-replay.json")); err != nil {
		t.Fatal(err)
	}
	lr := req.Logs().ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	if got := lr.Timestamp().AsTime().UnixMilli(); got != 1764580000123 {
		t.Errorf("timeUnixNano read as %d ms", got)
	}
	q := NewRequest()
	n, errs := take(t, q, req.Logs())
	if errs != nil {
		t.Fatal(errs)
	}
	chunks := q.Chunks()
	if n != 3 || len(chunks) != 1 || chunks[0].WindowID != "r7Hk2pQx1z:1" || chunks[0].Seq != 0 || len(events(t, chunks[0])) != 3 {
		t.Fatalf("claimed %d, chunks %+v", n, chunks)
	}
	if ua := Str(chunks[0].Resource.Attributes(), "user_agent.original"); !strings.Contains(ua, "Chrome") {
		t.Errorf("resource user agent %q", ua)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readFile(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }

func TestFaroExceptionIsRecognisedOnlyInFarosScope(t *testing.T) {
	lr := plog.NewLogRecord()
	lr.Attributes().PutStr("exception.type", "Error")
	scope := pcommon.NewInstrumentationScope()
	scope.SetName(FaroScope)
	if !IsFaroException(Record{Resource: pcommon.NewResource(), Scope: scope, Log: lr}) {
		t.Errorf("Faro exception not recognised")
	}
	if IsFaroException(Record{Resource: pcommon.NewResource(), Scope: scope, Log: lr, Name: "checkout"}) {
		t.Errorf("a named record renamed")
	}
	other := pcommon.NewInstrumentationScope()
	other.SetName("my-app")
	if IsFaroException(Record{Resource: pcommon.NewResource(), Scope: other, Log: lr}) {
		t.Errorf("another SDK's record renamed")
	}
}

// A console.warn through Faro 2.12's ConsoleInstrumentation and OTLP
// transport: scope @grafana/faro-web-sdk, no event name, body = the message,
// severity WARN (13); console.log is INFO2 (10).
func TestFaroConsoleRecordsAreReadAsConsole(t *testing.T) {
	scope := pcommon.NewInstrumentationScope()
	scope.SetName(FaroScope)
	rec := func(sev plog.SeverityNumber, body string) Record {
		lr := plog.NewLogRecord()
		lr.SetSeverityNumber(sev)
		lr.Body().SetStr(body)
		lr.Attributes().PutStr("session.id", "s1")
		return Record{Resource: pcommon.NewResource(), Scope: scope, Log: lr}
	}
	for sev, want := range map[plog.SeverityNumber]string{plog.SeverityNumberWarn: "warn", plog.SeverityNumberError: "error",
		plog.SeverityNumberInfo2: "log", plog.SeverityNumberInfo: "info", plog.SeverityNumberDebug: "debug"} {
		level, msg, ok := FaroConsole(rec(sev, "cart is stale"))
		if !ok || level != want || msg != "cart is stale" {
			t.Errorf("severity %d: %q %q %v, want %q", sev, level, msg, ok, want)
		}
	}
	exc := rec(plog.SeverityNumberError, "")
	exc.Log.Attributes().PutStr("exception.type", "Error")
	if _, _, ok := FaroConsole(exc); ok {
		t.Error("a Faro exception read as console")
	}
	named := rec(plog.SeverityNumberWarn, "x")
	named.Name = "checkout"
	if _, _, ok := FaroConsole(named); ok {
		t.Error("a named event read as console")
	}
	other := rec(plog.SeverityNumberWarn, "x")
	other.Scope = pcommon.NewInstrumentationScope()
	if _, _, ok := FaroConsole(other); ok {
		t.Error("another SDK's log read as console")
	}
}

// failingParts is a PartStore whose ClickHouse is down.
type failingParts struct{}

var errPartsDown = errors.New("parts store down")

func (failingParts) Gather(context.Context, []SplitPart) ([]SplitPart, error) {
	return nil, errPartsDown
}

func TestRRWebSplitPartsStoreFailureFailsTheRequest(t *testing.T) {
	_, recs := splitRecords(time.Now().UnixMilli(), 3, 2, 30)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("rum.sessionId", "sess")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(RRWebScope)
	for _, lr := range recs[:len(recs)-2] { // event 2 lacks its last part
		lr.CopyTo(sl.LogRecords().AppendEmpty())
	}
	q := NewRequest()
	if _, errs := take(t, q, ld); errs != nil {
		t.Fatal(errs)
	}
	waiting := q.SplitWaiting()
	if _, err := q.JoinSplit(context.Background(), failingParts{}); !errors.Is(err, errPartsDown) {
		t.Fatalf("JoinSplit: %v, want the store's error", err)
	}
	if waiting == 0 || q.SplitWaiting() != waiting || waiting != len(recs)-3 {
		t.Errorf("%d parts waiting before, %d after, want %d", waiting, q.SplitWaiting(), len(recs)-3)
	}
	// an event complete in its request never reaches the store
	_, whole := splitRecords(time.Now().UnixMilli(), 3, 2, 30)
	ld = plog.NewLogs()
	rl = ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("rum.sessionId", "sess")
	sl = rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(RRWebScope)
	for _, lr := range whole {
		lr.CopyTo(sl.LogRecords().AppendEmpty())
	}
	q = NewRequest()
	take(t, q, ld)
	if _, err := q.JoinSplit(context.Background(), failingParts{}); err != nil || q.SplitWaiting() != 0 || len(q.Chunks()) != 1 {
		t.Errorf("a request with its split event whole asked the store: %v, %d waiting", err, q.SplitWaiting())
	}
}
