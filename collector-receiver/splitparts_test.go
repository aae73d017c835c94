package sessionreplayreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"go.uber.org/zap"

	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/store"
)

// A session @hyperdx/browser 0.26.0 recorded (testdata/sdk/hyperdx-0.26.0,
// three page loads and an iframe) whose full snapshots are each split in
// parts, as the SDK splits an event over ~950 KB, and whose exports are cut
// inside those parts: the SDK's batch processor exports when its batch is
// full, wherever that falls.

// capturedHyperDX reads the captured logs exports, times moved to now and
// the session renamed.
func capturedHyperDX(t *testing.T, session string) []plog.Logs {
	t.Helper()
	files, _ := filepath.Glob("testdata/sdk/hyperdx-0.26.0/*_v1_logs.pb")
	if len(files) != 4 {
		t.Fatalf("%d captured exports", len(files))
	}
	delta := captureShift(t, files)
	var out []plog.Logs
	for _, f := range files {
		ld := readLogsExport(t, f)
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			rls.At(i).Resource().Attributes().PutStr("rum.sessionId", session)
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					lr.SetTimestamp(lr.Timestamp() + pcommon.Timestamp(delta*1e6))
					lr.Body().SetStr(string(shiftTimes([]byte(lr.Body().Str()), delta)))
				}
			}
		}
		out = append(out, ld)
	}
	return out
}

// splitSnapshot returns ld with its first full snapshot in n parts (same
// attributes, rr-web.chunk 1..n of n, as the SDK writes them) and the number
// of records up to and with its first part (0: no snapshot in ld).
func splitSnapshot(ld plog.Logs, n int) (plog.Logs, int) {
	out := plog.NewLogs()
	cut, seen := 0, 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		orl := out.ResourceLogs().AppendEmpty()
		rls.At(i).Resource().CopyTo(orl.Resource())
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			osl := orl.ScopeLogs().AppendEmpty()
			sls.At(j).Scope().CopyTo(osl.Scope())
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				body := lr.Body().Str()
				if cut > 0 || !strings.HasPrefix(body, `{"type":2,`) {
					lr.CopyTo(osl.LogRecords().AppendEmpty())
					seen++
					continue
				}
				size := (len(body) + n - 1) / n
				for p := 0; p < n; p++ {
					part := osl.LogRecords().AppendEmpty()
					lr.CopyTo(part)
					part.Body().SetStr(body[min(p*size, len(body)):min((p+1)*size, len(body))])
					part.Attributes().PutDouble("rr-web.chunk", float64(p+1))
					part.Attributes().PutDouble("rr-web.total-chunks", float64(n))
					seen++
					if p == 0 {
						cut = seen
					}
				}
			}
		}
	}
	return out, cut
}

// cutLogs splits ld after its first n records (resources and scopes copied
// to both halves).
func cutLogs(ld plog.Logs, n int) (first, second plog.Logs) {
	first, second = plog.NewLogs(), plog.NewLogs()
	seen := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			lrs := sl.LogRecords()
			var halves [2]plog.ScopeLogs
			for h, ld := range []plog.Logs{first, second} {
				orl := ld.ResourceLogs().AppendEmpty()
				rl.Resource().CopyTo(orl.Resource())
				halves[h] = orl.ScopeLogs().AppendEmpty()
				sl.Scope().CopyTo(halves[h].Scope())
			}
			for k := 0; k < lrs.Len(); k++ {
				h := 0
				if seen >= n {
					h = 1
				}
				lrs.At(k).CopyTo(halves[h].LogRecords().AppendEmpty())
				seen++
			}
		}
	}
	return first, second
}

// sentPerWindow is what the SDK sent, per window, in its order: the events
// of the captured exports (before any split).
func sentPerWindow(t *testing.T, exports []plog.Logs) map[string][]string {
	sent := map[string][]sentEvent{}
	for _, ld := range exports {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			window := "rr-web:" + str(rls.At(i).Resource().Attributes(), "rum.scriptInstance")
			lrs := rls.At(i).ScopeLogs().At(0).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				idx, _ := intAttr(lrs.At(k).Attributes(), "rr-web.event")
				sent[window] = append(sent[window], sentEvent{idx, lrs.At(k).Body().Str()})
			}
		}
	}
	return wantPerWindow(t, sent)
}

// postHyperDX sends one export as the SDK does (gzip protobuf) and returns
// the status, the body and the Retry-After header.
func postHyperDX(t *testing.T, c *collector, ld plog.Logs) (int, string, string) {
	t.Helper()
	pb, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	code, out, hdr := c.post("/v1/logs", "application/x-protobuf", gz(t, pb), "Content-Encoding", "gzip", "User-Agent", faroUA)
	if code == 200 {
		resp := plogotlp.NewExportResponse()
		if err := resp.UnmarshalProto(out); err != nil || resp.PartialSuccess().RejectedLogRecords() != 0 {
			t.Fatalf("partial success: %v %q", err, resp.PartialSuccess().ErrorMessage())
		}
	}
	return code, string(out), hdr.Get("Retry-After")
}

// typedBeforeSnapshot is the canonical form of the input events (typed
// text) among ld's records, masked: a replica that has not seen the tab's
// full snapshot cannot tell a password field from another, so it masks
// typed text whatever mask_inputs says (privacy.State fails closed).
func typedBeforeSnapshot(t *testing.T, ld plog.Logs) map[string]string {
	out := map[string]string{}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		lrs := rls.At(i).ScopeLogs().At(0).LogRecords()
		for k := 0; k < lrs.Len(); k++ {
			var ev map[string]any
			if json.Unmarshal([]byte(lrs.At(k).Body().Str()), &ev) != nil {
				continue // a part of the snapshot
			}
			if data, ok := ev["data"].(map[string]any); ok && ev["type"] == float64(3) && data["source"] == float64(5) {
				before := canonical(t, []byte(lrs.At(k).Body().Str()))
				data["text"] = "******"
				masked, _ := json.Marshal(ev)
				out[before] = string(masked)
			}
		}
	}
	return out
}

// postConcurrently is postHyperDX for a goroutine: it returns the status
// (0: the request failed) and fails no test itself.
func postConcurrently(c *collector, ld plog.Logs) int {
	pb, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		return 0
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(pb)
	_ = zw.Close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.endpoint+"/v1/logs", &buf)
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("User-Agent", faroUA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestHyperDXSnapshotSplitAcrossTwoReplicasReplaysEveryEventOnce: two
// collector binaries share one ClickHouse, as replicas behind a round-robin
// balancer. Each full snapshot of the captured session is cut between two
// exports, the first to one replica and the second to the other — in the
// SDK's order for one session, the other way round for another — and one of
// the two exports is sent again to the other replica (a response lost on the
// way); for a third session the second export goes to both replicas at once,
// so both complete the event at the same time. Every window replays exactly the events the SDK sent, once each, in
// order, and the summary counts each once. (The other way round, the events
// after the snapshot reach a replica before the snapshot does: their typed
// text is masked, as privacy requires when the snapshot is not known.)
func TestHyperDXSnapshotSplitAcrossTwoReplicasReplaysEveryEventOnce(t *testing.T) {
	conn, db := chembedtest.NewDatabase(t)
	replicas := []*collector{
		startCollectorOn(t, conn, db, chembedtest.DSN(db), "", "", noInputMasking),
		startCollectorOn(t, conn, db, chembedtest.DSN(db), "", "", noInputMasking),
	}
	ctx := context.Background()
	type send struct {
		to *collector
		ld plog.Logs
	}
	for _, order := range []string{"sdk", "reversed", "concurrent"} {
		session := fmt.Sprintf("hdx-split-%s-%s", order, db)
		exports := capturedHyperDX(t, session)
		want := sentPerWindow(t, exports)
		sentEvents, splits := 0, 0
		maskedTyped := map[string]string{}
		for _, evs := range want {
			sentEvents += len(evs)
		}
		for i, ld := range exports {
			a, b := replicas[i%2], replicas[(i+1)%2]
			split, cut := splitSnapshot(ld, 3)
			if cut == 0 {
				if code, out, _ := postHyperDX(t, a, ld); code != 200 {
					t.Fatalf("export %d: %d %s", i, code, out)
				}
				continue
			}
			splits++
			first, second := cutLogs(split, cut)
			var sends []send
			switch order {
			case "sdk": // the second half retried on the other replica
				sends = []send{{a, first}, {b, second}, {a, second}}
			case "reversed": // the first half retried on the other replica
				sends = []send{{b, second}, {a, first}, {b, first}}
				for sent, masked := range typedBeforeSnapshot(t, second) {
					maskedTyped[sent] = masked
				}
			case "concurrent": // both replicas complete the event at once
				sends = []send{{a, first}}
			}
			for k, s := range sends {
				if code, out, _ := postHyperDX(t, s.to, s.ld); code != 200 {
					t.Fatalf("export %d, send %d: %d %s", i, k, code, out)
				}
			}
			if order == "concurrent" {
				var wg sync.WaitGroup
				codes := make([]int, 2)
				for k, to := range []*collector{a, b} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						codes[k] = postConcurrently(to, second)
					}()
				}
				wg.Wait()
				if codes[0] != 200 || codes[1] != 200 {
					t.Fatalf("export %d, the second half to both replicas at once: %v", i, codes)
				}
			}
		}
		if splits < 3 {
			t.Fatalf("%d exports hold a full snapshot, want one per page load", splits)
		}
		for w, evs := range want {
			for i, e := range evs {
				if m, ok := maskedTyped[e]; ok {
					want[w][i] = m
				}
			}
		}
		if order == "reversed" && len(maskedTyped) == 0 {
			t.Errorf("no typed text after a snapshot: the masking case is not exercised")
		}
		got, _ := replayed(t, replicas[0], session)
		compareReplay(t, got, want)
		s, ok, err := replicas[1].reader.Session(ctx, session)
		if err != nil || !ok || s.Events != uint64(sentEvents) || s.Chunks != chunkKeys(replicas[0], session) || s.PageViews != 4 {
			t.Errorf("summary: %v %v events %d of %d, chunks %d of %d keys, page views %d", ok, err, s.Events, sentEvents,
				s.Chunks, chunkKeys(replicas[0], session), s.PageViews)
		}
		t.Logf("order %s: %d exports with a split snapshot, %d events in %d chunks, %d typed texts masked for want of their snapshot",
			order, splits, s.Events, s.Chunks, len(maskedTyped))
	}
}

// TestSplitPartsStoreFailureIsRetryableAndLosesNothing: while the parts
// cannot be stored, an export holding some parts of an event gets the same
// retryable 503 and Retry-After as any store failure; its retry, once
// ClickHouse takes them again, completes the event.
func TestSplitPartsStoreFailureIsRetryableAndLosesNothing(t *testing.T) {
	conn, db := chembedtest.NewDatabase(t)
	c := startCollectorOn(t, conn, db, chembedtest.DSN(db), "", "", noInputMasking)
	session := "hdx-split-outage-" + db
	exports := capturedHyperDX(t, session)
	want := sentPerWindow(t, exports[:1])
	split, cut := splitSnapshot(exports[0], 4)
	if cut == 0 {
		t.Fatal("the first export holds no full snapshot")
	}
	first, second := cutLogs(split, cut+1) // two of four parts in each
	if code, out, _ := postHyperDX(t, c, first); code != 200 {
		t.Fatalf("first: %d %s", code, out)
	}
	ctx := context.Background()
	before := chunkKeys(c, session)
	if err := conn.Exec(ctx, "RENAME TABLE "+db+".pending_parts TO "+db+".pending_parts_away"); err != nil {
		t.Fatal(err)
	}
	code, out, retry := postHyperDX(t, c, second)
	if code != 503 || retry == "" {
		t.Fatalf("with the parts table gone: %d (Retry-After %q) %s", code, retry, out)
	}
	t.Logf("refused: %d, Retry-After %s: %s", code, retry, out)
	if after := chunkKeys(c, session); after != before {
		t.Errorf("the refused export stored chunks: %d keys before, %d after", before, after)
	}
	if err := conn.Exec(ctx, "RENAME TABLE "+db+".pending_parts_away TO "+db+".pending_parts"); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := postHyperDX(t, c, second); code != 200 {
		t.Fatalf("retry: %d %s", code, out)
	}
	got, _ := replayed(t, c, session)
	compareReplay(t, got, want)
}

// The parts of split events are fragments the masker cannot read, so they
// reach ClickHouse sealed: the stored rows hold none of the typed text, a
// replica with the same key joins them, and one with another key (a
// deployment whose replicas do not share privacy.split_parts_key) cannot
// open them and leaves the event incomplete rather than storing it wrong.
func TestSplitPartsAreStoredSealed(t *testing.T) {
	ctx := context.Background()
	conn, db := chembedtest.NewMigratedDatabase(t)
	w, r := store.NewWriter(conn, db), store.NewReader(conn, db)
	parts := func(key configopaque.String) storedParts {
		box, err := partsBox(key)
		if err != nil {
			t.Fatal(err)
		}
		return storedParts{writer: w, reader: r, box: box, timeout: 10 * time.Second, logger: zap.NewNop(), warned: new(atomic.Bool)}
	}
	a, b, stranger := parts(testPartsKey), parts(testPartsKey), parts("")
	k := formats.SplitKey{SessionID: "s1", WindowID: "rr-web:1", Event: 7}
	first := formats.SplitPart{SplitKey: k, Part: 1, Total: 2, Body: []byte(`{"type":2,"data":{"node":{"attributes":{"value":"hunter2`)}
	second := formats.SplitPart{SplitKey: k, Part: 2, Total: 2, Body: []byte(`"}}}}`)}

	if got, err := a.Gather(ctx, []formats.SplitPart{first}); err != nil || len(got) != 1 || !bytes.Equal(got[0].Body, first.Body) {
		t.Fatalf("replica a reads back %d parts (%v)", len(got), err)
	}
	var leaked uint64
	if err := conn.QueryRow(ctx, "SELECT countIf(position(body, 'hunter2') > 0) FROM "+db+".pending_parts").Scan(&leaked); err != nil || leaked != 0 {
		t.Fatalf("%d stored parts hold the typed text (%v)", leaked, err)
	}
	got, err := b.Gather(ctx, []formats.SplitPart{second})
	if err != nil || len(got) != 2 || !bytes.Equal(append(got[0].Body, got[1].Body...), append(first.Body, second.Body...)) {
		t.Fatalf("replica b (same key) gathers %d parts (%v), want both", len(got), err)
	}
	// the stranger's copy of part 2 and b's are one row: it reads whichever
	// ClickHouse keeps, and never the part sealed under the shared key
	got, err = stranger.Gather(ctx, []formats.SplitPart{second})
	if err != nil || len(got) > 1 || len(got) == 1 && got[0].Part != 2 {
		t.Fatalf("a replica with another key gathers %d parts (%v), want at most its own", len(got), err)
	}
}
