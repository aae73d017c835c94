package sessionreplayreceiver

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/pkg/fixtures"
)

// intAttr reads integer attributes the way every format does.
var intAttr = formats.Int

// loadEvents reads a recording and moves its timestamps to now (old
// recordings would be past the tables' TTL and vanish).
func loadEvents(t testing.TB, name string) []json.RawMessage {
	t.Helper()
	raw := loadRawEvents(t, name)
	var min int64
	for _, r := range raw {
		var e struct {
			Timestamp int64 `json:"timestamp"`
		}
		_ = json.Unmarshal(r, &e)
		if e.Timestamp > 0 && (min == 0 || e.Timestamp < min) {
			min = e.Timestamp
		}
	}
	shift := time.Now().Add(-10*time.Minute).UnixMilli() - min
	out := make([]json.RawMessage, len(raw))
	for i, r := range raw {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r, &m); err != nil {
			t.Fatal(err)
		}
		var ts int64
		_ = json.Unmarshal(m["timestamp"], &ts)
		m["timestamp"], _ = json.Marshal(ts + shift)
		out[i], _ = json.Marshal(m)
	}
	return out
}

func loadRawEvents(t testing.TB, name string) []json.RawMessage {
	t.Helper()
	var ev []json.RawMessage
	if err := json.Unmarshal(fixtures.Read(t, "rrweb", name), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// chunkOpts describe one replay chunk log record.
type chunkOpts struct {
	session, window string
	seq             int64
	events          []json.RawMessage
	gzip            bool
	userAgent       string
	country         string
	userID          string
}

func addChunk(t testing.TB, ld plog.Logs, o chunkOpts) {
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "shop-web")
	ra.PutStr("deployment.environment.name", "test")
	if o.userAgent != "" {
		ra.PutStr("user_agent.original", o.userAgent)
	}
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(EventNameChunk)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	a := lr.Attributes()
	a.PutStr("session.id", o.session)
	a.PutStr("session_replay.window_id", o.window)
	a.PutInt("session_replay.seq", o.seq)
	a.PutInt("session_replay.event_count", int64(len(o.events)))
	if o.country != "" {
		a.PutStr("geo.country.iso_code", o.country)
	}
	if o.userID != "" {
		a.PutStr("user.id", o.userID)
	}
	data, _ := json.Marshal(o.events)
	if o.gzip {
		a.PutStr("session_replay.encoding", "gzip")
		lr.Body().SetEmptyBytes().FromRaw(gz(t, data))
	} else {
		a.PutStr("session_replay.encoding", "json")
		lr.Body().SetStr(string(data))
	}
}

func addSpan(td ptrace.Traces, service, session string, traceID pcommon.TraceID, spanID pcommon.SpanID, name string, kind ptrace.SpanKind, errStatus bool, attrs map[string]string) {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(traceID)
	sp.SetSpanID(spanID)
	sp.SetName(name)
	sp.SetKind(kind)
	now := time.Now()
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(30 * time.Millisecond)))
	if session != "" {
		sp.Attributes().PutStr("session.id", session)
	}
	for k, v := range attrs {
		sp.Attributes().PutStr(k, v)
	}
	if errStatus {
		sp.Status().SetCode(ptrace.StatusCodeError)
		sp.Status().SetMessage("boom")
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func metaEvent(href string, ts int64) json.RawMessage {
	return json.RawMessage(`{"type":4,"data":{"href":"` + href + `","width":1200,"height":800},"timestamp":` + itoa(ts) + `}`)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func freePortNum(t testing.TB) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(freePort(t))
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
