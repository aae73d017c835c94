package sessionreplayreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
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
				code, out, _ := c.post("/v1/logs", "application/x-protobuf", hyperdxRequest(t, res, part), "Content-Encoding", "gzip")
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
		if n := c.count(`SELECT count() FROM DB.replay_chunks_buffer FINAL WHERE session_id = {s:String}`, "s", sess); n != 6 {
			t.Errorf("%d chunk rows, want 6 (2 per page load)", n)
		}
		if s, ok, err := c.reader.Session(context.Background(), sess); err != nil || !ok || s.PageViews != 3 || s.EntryURL != "http://127.0.0.1:8080/" {
			t.Errorf("summary: %v %v %+v", ok, err, s)
		}
	}
}
