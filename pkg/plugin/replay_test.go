package plugin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/seed/sessionreplay/pkg/store"
)

// grafanaMaxMessage is the largest resource response message Grafana accepts.
const grafanaMaxMessage = 16 << 20

// loadLargeSession writes a ~40 MiB session built from a real recording:
// chunks of ~3 MiB (over MaxLineBytes, so each is split by events) and one
// chunk holding a single 5 MiB full snapshot (split into event parts). Every
// event gets a unique increasing timestamp so the order can be checked.
func loadLargeSession(t testing.TB, w *store.Writer, id string, start time.Time) (events []json.RawMessage, total int) {
	t.Helper()
	src := readEvents(t, "smartx-90s.events.json")
	var seq uint64
	ts := start.UnixMilli()
	var chunks []store.Chunk
	var sums []store.SessionSummary
	addChunk := func(evs []json.RawMessage, full bool) {
		data := append([]byte("["), []byte(strings.Join(rawStrings(evs), ","))...)
		data = append(data, ']')
		c := store.Chunk{SessionID: id, WindowID: "w1", Seq: seq, Start: time.UnixMilli(ts - int64(len(evs))).UTC(), End: time.UnixMilli(ts).UTC(),
			EventCount: uint32(len(evs)), FullSnapshot: full, ServiceName: "shop-web", Data: data}
		chunks = append(chunks, c)
		sums = append(sums, store.SessionSummary{SessionID: id, Start: c.Start, End: c.End, Chunks: 1, Events: uint64(len(evs)), Bytes: uint64(len(data))})
		total += len(data)
		seq++
	}
	restamp := func(e json.RawMessage) json.RawMessage {
		var m map[string]any
		if err := json.Unmarshal(e, &m); err != nil {
			t.Fatal(err)
		}
		ts++
		m["timestamp"] = ts
		b, err := marshalNoEscape(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The huge full snapshot first: 5 MiB of text with multi-byte characters.
	big := map[string]any{"type": 2, "timestamp": ts + 1, "data": map[string]any{
		"node":          map[string]any{"type": 0, "id": 1, "childNodes": []any{map[string]any{"type": 3, "id": 2, "textContent": strings.Repeat("héllo wörld ✓ 🎬 \"q\" \\ <b>&amp; ", 5<<20/40)}}},
		"initialOffset": map[string]any{"top": 0, "left": 0},
	}}
	ts++
	bigRaw, err := marshalNoEscape(big)
	if err != nil {
		t.Fatal(err)
	}
	events = append(events, bigRaw)
	addChunk([]json.RawMessage{bigRaw}, true)
	for len(chunks) < 13 {
		var evs []json.RawMessage
		size := 0
		for size < 3<<20 {
			for _, e := range src {
				e = restamp(e)
				evs = append(evs, e)
				size += len(e) + 1
			}
		}
		events = append(events, evs...)
		addChunk(evs, false)
	}
	if err := w.Write(context.Background(), &store.Batch{Buffered: chunks, Sessions: sums}); err != nil {
		t.Fatal(err)
	}
	return events, total
}

func rawStrings(evs []json.RawMessage) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e)
	}
	return out
}

func TestReplayStreamStaysUnder16MiBPerMessage(t *testing.T) {
	conn, db := migrated(t)
	events, total := loadLargeSession(t, store.NewWriter(conn, db), "big", recent())
	if total < 40<<20 {
		t.Fatalf("test session is %d bytes, want >= 40 MiB", total)
	}
	ds := newDS(t, db, nil)
	res := callResource(t, ds, "sessions/big/replay")
	largest := 0
	for _, m := range res.Messages {
		largest = max(largest, len(m))
		if len(m) >= grafanaMaxMessage {
			t.Fatalf("a message of %d bytes", len(m))
		}
		if len(m) > FlushBytes+MaxLineBytes {
			t.Errorf("a message of %d bytes, over the %d bound", len(m), FlushBytes+MaxLineBytes)
		}
	}
	_, chunks, got := readReplay(t, res)
	t.Logf("%d MiB of chunks streamed in %d messages (largest %d KiB) as %d chunk lines", total>>20, len(res.Messages), largest>>10, len(chunks))
	if len(res.Messages) < total/(FlushBytes+MaxLineBytes) {
		t.Fatalf("only %d messages", len(res.Messages))
	}
	if !sameEvents(got, events) {
		for i := range min(len(got), len(events)) {
			if string(compact(got[i])) != string(compact(events[i])) {
				t.Fatalf("event %d differs (of %d received, %d sent)", i, len(got), len(events))
			}
		}
		t.Fatalf("received %d events, sent %d", len(got), len(events))
	}
	var parts int
	for _, c := range chunks {
		if c.Seq == 1 {
			parts++
		}
	}
	if parts < 2 {
		t.Fatalf("the 3 MiB chunk was sent in %d line(s)", parts)
	}
}
