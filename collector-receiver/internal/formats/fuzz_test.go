package formats

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// FuzzRequest: any OTLP/JSON logs request through every format. Never
// panics; every chunk it returns has a valid key and a body.
func FuzzRequest(f *testing.F) {
	for _, name := range []string{"faro-2.12.1-replay.json", "otel-js-sdk-logs-0.223.1.json"} {
		b, err := readFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"rum.sessionId","value":{"stringValue":"s"}},{"key":"rum.scriptInstance","value":{"stringValue":"i"}}]},"scopeLogs":[{"scope":{"name":"rum.rr-web"},"logRecords":[{"body":{"stringValue":"{\"type\":2,\"timestamp\":1}"},"attributes":[{"key":"rr-web.event","value":{"doubleValue":1}},{"key":"rr-web.chunk","value":{"doubleValue":1}},{"key":"rr-web.total-chunks","value":{"doubleValue":2}}]}]}]}]}`))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"scope":{"name":"splunk.rr-web"},"logRecords":[{"body":{"bytesValue":"oWZldmVudHOA"}}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := plogotlp.NewExportRequest()
		if req.UnmarshalJSON(body) != nil {
			return
		}
		q := NewRequest()
		take(t, q, req.Logs())
		if _, err := q.JoinSplit(context.Background(), memParts{}); err != nil {
			t.Fatal(err)
		}
		for _, c := range q.Chunks() {
			if c.SessionID == "" || ValidID("session", c.SessionID) != nil || ValidID("window", c.WindowID) != nil || len(c.Data) == 0 {
				t.Fatalf("chunk %q/%q/%d with %d bytes", c.SessionID, c.WindowID, c.Seq, len(c.Data))
			}
		}
	})
}
