//go:build e2e

package sdks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/seed/sessionreplay/pkg/store"
)

// splunkRefused sends what Splunk RUM's recorder 3.x sends — the rr-web.*
// attribute names, scope splunk.rr-web, the session in resource
// splunk.rumSessionId — with its own segment body ({assets, events}, not an
// rrweb event), hand-built since the recorder is not on npm as a standalone
// page SDK. The receiver must answer with a partial success that names the
// format and store nothing of it.
func splunkRefused(t *testing.T, collector string, reader *store.Reader) {
	const session = "5b1c0ffee0000000000000000000cafe"
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop-splunk")
	rl.Resource().Attributes().PutStr("splunk.rumSessionId", session)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("splunk.rr-web")
	sl.Scope().SetVersion("3.0.0")
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommonNow())
	lr.Body().SetStr(`{"assets":{"styles":[],"images":[]},"events":[{"t":0,"k":"snapshot","d":{"root":1}},{"t":12,"k":"mouse","d":[10,20]}]}`)
	for k, v := range map[string]int64{"rr-web.offset": 1, "rr-web.event": 1, "rr-web.chunk": 1, "rr-web.total-chunks": 1} {
		lr.Attributes().PutInt(k, v)
	}
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(collector+"/v1/logs", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Splunk request: HTTP %d %s", resp.StatusCode, raw)
	}
	answer := plogotlp.NewExportResponse()
	if err := answer.UnmarshalProto(raw); err != nil {
		t.Fatalf("Splunk request: answer %q: %v", raw, err)
	}
	ps := answer.PartialSuccess()
	t.Logf("Splunk request: rejected %d, message %q", ps.RejectedLogRecords(), ps.ErrorMessage())
	if ps.RejectedLogRecords() != 1 || !strings.Contains(strings.ToLower(ps.ErrorMessage()), "splunk") {
		t.Errorf("Splunk segment: partial success rejected %d with %q, want 1 refused with a message naming the Splunk format",
			ps.RejectedLogRecords(), ps.ErrorMessage())
	}
	ctx := context.Background()
	time.Sleep(500 * time.Millisecond) // past the receiver's batch delay
	for _, table := range []string{store.TableBuffer, store.TableRetained} {
		if n, err := reader.ChunkCount(ctx, table, session); err != nil || n != 0 {
			t.Errorf("Splunk session has %d chunks in %s (%v), want none", n, table, err)
		}
	}
	if _, ok, err := reader.Session(ctx, session); err != nil || ok {
		t.Errorf("Splunk session is stored as a session (%v)", err)
	}
}

func pcommonNow() pcommon.Timestamp { return pcommon.NewTimestampFromTime(time.Now()) }
