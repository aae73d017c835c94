package plugin

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The replay panel's details drawer reads one session's row: device, OS,
// browser, country, user id, entry URL and every page, whatever the range.
func TestSessionQueryGivesTheDetailsOfOneSession(t *testing.T) {
	w := setup(t, nil)
	sm := w.byID["s-smartx"]
	// a range far from the session: the details are still found
	f := mustFrame(t, query(t, w.ds, "session", w.t0.Add(-48*time.Hour), w.t0.Add(-47*time.Hour), map[string]any{"sessionId": "s-smartx"}))
	if f.Name != "session" || f.Rows() != 1 {
		t.Fatalf("frame %q with %d rows", f.Name, f.Rows())
	}
	for field, want := range map[string]string{"session_id": "s-smartx", "user_id": "alice@example.com", "device": "desktop",
		"os": "Windows", "browser": "Chrome", "country": "FR"} {
		if got := column[string](t, f, field)[0]; got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	urls := strings.Split(column[string](t, f, "urls")[0], "\n")
	if len(sm.URLs) == 0 || len(urls) != len(dedupe(sm.URLs)) {
		t.Fatalf("urls %q, want the session's %q", urls, sm.URLs)
	}
	if entry := column[string](t, f, "entry_url")[0]; entry != sm.URLs[0] {
		t.Errorf("entry_url %q, want %q", entry, sm.URLs[0])
	}
	if start := column[time.Time](t, f, "start")[0]; !start.Equal(sm.Start) {
		t.Errorf("start %v, want %v", start, sm.Start)
	}

	// unknown: an empty frame; no id: a user error
	if f := mustFrame(t, query(t, w.ds, "session", w.t0, w.t0, map[string]any{"sessionId": hostile1})); f.Rows() != 0 {
		t.Fatalf("unknown session: %d rows", f.Rows())
	}
	if r := query(t, w.ds, "session", w.t0, w.t0, nil); r.Error == nil || r.Status != 400 {
		t.Fatalf("no session id: %v %d", r.Error, r.Status)
	}
	assertTablesIntact(t, w)
}

// A panel following a live session asks for the chunks after the last one it
// holds: only those come, and the meta line comes even when there is none.
func TestReplayAfterStreamsOnlyTheNewChunksOfALiveSession(t *testing.T) {
	w := setup(t, nil)
	sm := w.byID["s-smartx"]
	cut := sm.Chunks[len(sm.Chunks)-3]
	meta, chunks, _ := readReplay(t, callResource(t, w.ds, fmt.Sprintf("sessions/s-smartx/replay?after=%d", cut.Start.UnixMilli())))
	if len(chunks) != 3 || chunks[0].Seq != cut.Seq || meta.End != sm.End.UnixMilli() {
		t.Fatalf("after the third last chunk: %d chunks from seq %d, meta end %d; want 3 from %d, end %d",
			len(chunks), chunks[0].Seq, meta.End, cut.Seq, sm.End.UnixMilli())
	}
	later := sm.End.Add(time.Second).UnixMilli()
	meta, chunks, _ = readReplay(t, callResource(t, w.ds, fmt.Sprintf("sessions/s-smartx/replay?after=%d", later)))
	if len(chunks) != 0 || meta.SessionID != "s-smartx" || meta.From != later || meta.End != sm.End.UnixMilli() {
		t.Fatalf("nothing new: %d chunks, meta %+v", len(chunks), meta)
	}
	if res := callResource(t, w.ds, "sessions/s-smartx/replay?after=soon"); res.Status != 400 {
		t.Fatalf("bad after: %d", res.Status)
	}
}

func dedupe(v []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
