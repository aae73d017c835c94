package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"sync"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
)

// chunkRequest is an OTLP logs request with one session_replay.chunk record
// holding events, gzip-encoded or as JSON text.
func chunkRequest(t testing.TB, events string, gzipBody bool) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(AttrServiceName, "shop-web")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(formats.EventNameChunk)
	a := lr.Attributes()
	a.PutStr(formats.AttrSessionID, "s1")
	a.PutStr(formats.AttrWindowID, "w")
	a.PutInt(formats.AttrSeq, 3)
	if gzipBody {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, _ = w.Write([]byte(events))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		a.PutStr(formats.AttrEncoding, "gzip")
		lr.Body().SetEmptyBytes().FromRaw(buf.Bytes())
	} else {
		a.PutStr(formats.AttrEncoding, "json")
		lr.Body().SetStr(events)
	}
	return ld
}

// FuzzDecodeLogs: arbitrary OTLP logs bodies (protobuf or JSON) through
// chunkFromRecord and decodeChunk (gzip/JSON chunk bodies, masking, the
// tab's summary state). Never panics, and what it accepts is stored as a
// valid UTF-8 JSON array of the events it counted.
func FuzzDecodeLogs(f *testing.F) {
	events := `[{"type":4,"timestamp":1700000000000,"data":{"href":"https://a/"}},` +
		`{"type":3,"timestamp":1700000000100,"data":{"source":5,"text":"4111 1111 1111 1111","id":2}}]`
	for _, gz := range []bool{false, true} {
		req := plogotlp.NewExportRequestFromLogs(chunkRequest(f, events, gz))
		pb, _ := req.MarshalProto()
		js, _ := req.MarshalJSON()
		f.Add(pb, false)
		f.Add(js, true)
	}
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"session_replay.chunk","attributes":[{"key":"session.id","value":{"stringValue":"s"}},{"key":"session_replay.seq","value":{"doubleValue":1e300}}],"body":{"stringValue":"[{\"type\":1}]"}}]}]}]}`), true)
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"session_replay.chunk","attributes":[{"key":"session.id","value":{"stringValue":"s"}},{"key":"session_replay.window_id","value":{"stringValue":"w"}}],"body":{"stringValue":"[{\"type\":3,\"data\":{\"source\":5,\"text\":\"\\udc00\"}}]"}}]}]}]}`), true)
	cfg := &Config{MaxChunkBytes: 1 << 20, MaxChunkEvents: 50000}
	m, err := privacy.New(privacy.Config{MaskInputs: false})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		req := plogotlp.NewExportRequest()
		if asJSON {
			err = req.UnmarshalJSON(body)
		} else {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			return
		}
		rls := req.Logs().ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			res := rls.At(i).Resource()
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					c, err := chunkFromRecord(lrs.At(k), res, "")
					if err != nil {
						continue
					}
					data, _, n, err := decodeChunk(cfg, m, c.data, &privacy.State{}, &rrweb.Window{}, c.seq, &sync.Mutex{})
					if err != nil {
						continue
					}
					var stored []json.RawMessage
					if !utf8.Valid(data) || json.Unmarshal(data, &stored) != nil || len(stored) != n || n == 0 {
						t.Fatalf("stored %d events of %d as %q", len(stored), n, data)
					}
				}
			}
		}
	})
}
