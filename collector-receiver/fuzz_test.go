package sessionreplayreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// decodeOnly is the receiver's request path up to decoding: confighttp's
// decompression and body limit, readRequest, OTLP decoding and the status
// answers. What the records become is internal/ingest's (FuzzDecodeLogs).
func decodeOnly(t testing.TB) http.Handler {
	cfg := createDefaultConfig().(*Config)
	cfg.MaxRequestBodySize = 1 << 20
	r := &srReceiver{cfg: cfg}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ct, body, _, ok := r.readRequest(w, req)
		if !ok {
			return
		}
		ereq := plogotlp.NewExportRequest()
		if err := decodeRequest(ct, body, ereq); err != nil {
			writeStatus(w, ct, badRequest("malformed: %v", err))
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	srv, err := cfg.ServerConfig.ToServer(context.Background(), nil, componenttest.NewNopTelemetrySettings(), h, confighttpErrorHandler())
	if err != nil {
		t.Fatal(err)
	}
	return srv.Handler
}

// FuzzLogsRequest: arbitrary /v1/logs bodies, optionally gzip-encoded
// (Content-Encoding), protobuf or JSON. Never panics; answers 200, 400, 413.
func FuzzLogsRequest(f *testing.F) {
	seed := func(gzipBody, asJSON bool, chunkGzip bool) []byte {
		ld := plog.NewLogs()
		addChunk(f, ld, chunkOpts{session: "s1", window: "w", seq: 3, events: []json.RawMessage{json.RawMessage(`{"type":4,"timestamp":1700000000000,"data":{"href":"https://a/"}}`),
			json.RawMessage(`{"type":3,"timestamp":1700000000100,"data":{"source":5,"text":"4111 1111 1111 1111","id":2}}`)}, gzip: chunkGzip})
		req := plogotlp.NewExportRequestFromLogs(ld)
		var b []byte
		if asJSON {
			b, _ = req.MarshalJSON()
		} else {
			b, _ = req.MarshalProto()
		}
		if gzipBody {
			b = gz(f, b)
		}
		return b
	}
	for _, g := range []bool{false, true} {
		for _, j := range []bool{false, true} {
			f.Add(seed(g, j, true), g, j)
			f.Add(seed(g, j, false), g, j)
		}
	}
	f.Add(gz(f, make([]byte, 4<<20)), true, false) // bomb: inflates past the body limit
	f.Add([]byte{0x1f, 0x8b, 0x08}, true, false)
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"session_replay.chunk","attributes":[{"key":"session.id","value":{"stringValue":"s"}},{"key":"session_replay.seq","value":{"doubleValue":1e300}}],"body":{"stringValue":"[{\"type\":1}]"}}]}]}]}`), false, true)
	h := decodeOnly(f)
	f.Fuzz(func(t *testing.T, body []byte, gzipBody, asJSON bool) {
		req := httptest.NewRequest(http.MethodPost, "/v1/logs", bytes.NewReader(body))
		if asJSON {
			req.Header.Set("Content-Type", jsonContentType)
		} else {
			req.Header.Set("Content-Type", pbContentType)
		}
		if gzipBody {
			req.Header.Set("Content-Encoding", "gzip")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	})
}
