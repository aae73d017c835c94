package sessionreplayreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

func logsProto(t testing.TB, ld plog.Logs) []byte {
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// chunkLogs is one replay chunk request; mod edits the record.
func chunkLogs(t testing.TB, session string, seq int64, events []json.RawMessage, mod func(plog.LogRecord)) plog.Logs {
	ld := plog.NewLogs()
	addChunk(t, ld, chunkOpts{session: session, window: "w", seq: seq, events: events, gzip: true})
	if mod != nil {
		mod(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0))
	}
	return ld
}

func vmHWM(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.Join(strings.Fields(l)[1:], "")
		}
	}
	return "?"
}

// TestMalformedRequests sends bad input to the running collector; each gets
// the right status and a clear message, and a valid chunk sent right after
// still lands.
func TestMalformedRequests(t *testing.T) {
	c := startCollector(t, "", "")
	ctx := context.Background()
	now := time.Now().UnixMilli()
	small := []json.RawMessage{metaEvent("https://shop.example/", now)}
	valid := "valid-" + c.db
	validSeq := int64(0)

	future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	many := make([]json.RawMessage, 100000)
	for i := range many {
		many[i] = json.RawMessage(fmt.Sprintf(`{"type":3,"timestamp":%d,"data":{"source":1,"positions":[]}}`, now+int64(i)))
	}
	badUTF8Events := []json.RawMessage{json.RawMessage(fmt.Sprintf(`{"type":5,"timestamp":%d,"data":{"tag":"x","payload":"%s"}}`, now, "bad \xff\xfe bytes"))}

	type tc struct {
		name     string
		ct       string
		body     func() []byte
		hdr      []string
		code     int
		msg      string // in the response body (status message or partial success)
		rejected int64  // for 200: rejected log records
		check    func(t *testing.T)
	}
	cases := []tc{
		{name: "wrong content type", ct: "text/plain", body: func() []byte { return []byte("hello") }, code: 415, msg: "unsupported Content-Type"},
		{name: "truncated protobuf", ct: pbContentType, body: func() []byte {
			b := logsProto(t, chunkLogs(t, "trunc-"+c.db, 0, small, nil))
			return b[:len(b)/2]
		}, code: 400, msg: "malformed OTLP logs request"},
		{name: "invalid JSON", ct: jsonContentType, body: func() []byte { return []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":`) }, code: 400, msg: "malformed OTLP logs request"},
		{name: "gzip bomb", ct: pbContentType, hdr: []string{"Content-Encoding", "gzip"}, body: func() []byte { return gz(t, make([]byte, 256<<20)) }, code: 413, msg: "max_request_body_size"},
		{name: "50 MB body", ct: pbContentType, body: func() []byte { return bytes.Repeat([]byte{0x0a}, 50<<20) }, code: 413, msg: "max_request_body_size"},
		{name: "100k events in a chunk", ct: pbContentType, body: func() []byte { return logsProto(t, chunkLogs(t, "many-"+c.db, 0, many, nil)) },
			code: 200, rejected: 1, msg: "over max_chunk_events (50000)"},
		{name: "bad UTF-8 in session.id", ct: pbContentType, body: func() []byte {
			return logsProto(t, chunkLogs(t, "bad\xff\xfeid", 0, small, nil))
		}, code: 200, rejected: 1, msg: "session.id is not valid UTF-8"},
		{name: "bad UTF-8 inside the recording", ct: pbContentType, body: func() []byte {
			raw := []byte("[" + string(badUTF8Events[0]) + "]")
			return logsProto(t, chunkLogs(t, "utf8-"+c.db, 0, small, func(lr plog.LogRecord) { lr.Body().SetEmptyBytes().FromRaw(gz(t, raw)) }))
		}, code: 200, check: func(t *testing.T) {
			ch, err := c.reader.Chunks(ctx, "utf8-"+c.db)
			if err != nil || len(ch) != 1 || !strings.Contains(string(ch[0].Data), "bad \uFFFD bytes") {
				t.Errorf("stored: %v %+v", err, ch)
			}
		}},
		{name: "negative seq", ct: pbContentType, body: func() []byte { return logsProto(t, chunkLogs(t, "neg-"+c.db, -5, small, nil)) },
			code: 200, rejected: 1, msg: "negative session_replay.seq"},
		{name: "NaN seq", ct: pbContentType, body: func() []byte {
			return logsProto(t, chunkLogs(t, "nan-"+c.db, 0, small, func(lr plog.LogRecord) { lr.Attributes().PutDouble(AttrSeq, math.NaN()) }))
		}, code: 200, rejected: 1, msg: "session_replay.seq"},
		{name: "huge seq", ct: pbContentType, body: func() []byte { return logsProto(t, chunkLogs(t, "huge-"+c.db, math.MaxInt64, small, nil)) },
			code: 200, check: func(t *testing.T) {
				ch, err := c.reader.Chunks(ctx, "huge-"+c.db)
				if err != nil || len(ch) != 1 || ch[0].Seq != math.MaxInt64 {
					t.Errorf("stored: %v %+v", err, ch)
				}
			}},
		{name: "timestamps in 2100", ct: pbContentType, body: func() []byte {
			ev := []json.RawMessage{metaEvent("https://shop.example/future", future), json.RawMessage(fmt.Sprintf(`{"type":3,"timestamp":%d,"data":{"source":2,"type":2,"id":1,"x":1,"y":1}}`, future+5))}
			return logsProto(t, chunkLogs(t, "future-"+c.db, 0, ev, func(lr plog.LogRecord) {
				lr.Attributes().PutInt(AttrStart, future)
				lr.Attributes().PutInt(AttrEnd, future+5)
			}))
		}, code: 200, check: func(t *testing.T) {
			ch, err := c.reader.Chunks(ctx, "future-"+c.db)
			if err != nil || len(ch) != 1 || time.Since(ch[0].Start).Abs() > time.Minute || time.Since(ch[0].End).Abs() > time.Minute {
				t.Errorf("future chunk not clamped to now: %v %+v", err, ch)
			}
			if n := c.count("SELECT count() FROM DB.session_events WHERE session_id = {s:String} AND ts > now() + INTERVAL 2 HOUR", "s", "future-"+c.db); n != 0 {
				t.Errorf("%d markers in the future", n)
			}
			if n := c.count("SELECT count() FROM DB.session_summaries WHERE session_id = {s:String} AND (end_time > now() + INTERVAL 2 HOUR OR start_time > now() + INTERVAL 2 HOUR)", "s", "future-"+c.db); n != 0 {
				t.Errorf("summary in the future")
			}
		}},
	}
	for _, k := range cases {
		t.Run(strings.ReplaceAll(k.name, " ", "_"), func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, "http://"+c.endpoint+"/v1/logs", bytes.NewReader(k.body()))
			req.Header.Set("Content-Type", k.ct)
			for i := 0; i+1 < len(k.hdr); i += 2 {
				req.Header.Set(k.hdr[i], k.hdr[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", k.name, err)
			}
			var out bytes.Buffer
			_, _ = out.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != k.code {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, k.code, out.String())
			}
			if k.code == 200 {
				er := plogotlp.NewExportResponse()
				if err := er.UnmarshalProto(out.Bytes()); err != nil {
					t.Fatal(err)
				}
				if got := er.PartialSuccess().RejectedLogRecords(); got != k.rejected {
					t.Errorf("rejected %d, want %d (%s)", got, k.rejected, er.PartialSuccess().ErrorMessage())
				}
				if !strings.Contains(er.PartialSuccess().ErrorMessage(), k.msg) {
					t.Errorf("message %q, want %q", er.PartialSuccess().ErrorMessage(), k.msg)
				}
			} else if !strings.Contains(out.String(), k.msg) {
				t.Errorf("message %q, want %q", out.String(), k.msg)
			}
			if k.check != nil {
				k.check(t)
			}
			t.Logf("RELIABILITY scenario=bad_input case=%q status=%d collector_VmHWM=%s", k.name, resp.StatusCode, vmHWM(c.cmd.Process.Pid))
			// a valid chunk right after still lands
			validSeq++
			c.sendLogs(chunkLogs(t, valid, validSeq, small, nil), false)
			if n, err := c.reader.ChunkCount(ctx, "replay_chunks_buffer", valid); err != nil || n != uint64(validSeq) {
				t.Errorf("valid chunk after %s: count %d (want %d) %v", k.name, n, validSeq, err)
			}
		})
	}
}
