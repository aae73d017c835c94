package store_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/fixtures"
	"github.com/seed/sessionreplay/pkg/store"
)

// splitEvent is an rrweb event in n parts, as HyperDX splits one: every part
// of the same event index, numbered 1..n.
func splitEvent(key store.PartKey, body string, n int) []store.PendingPart {
	var out []store.PendingPart
	size := (len(body) + n - 1) / n
	for i := 0; i < n; i++ {
		piece := body[min(i*size, len(body)):min((i+1)*size, len(body))]
		out = append(out, store.PendingPart{PartKey: key, Part: int64(i + 1), Total: int64(n), Body: []byte(piece)})
	}
	return out
}

// joined is what the receiver does with the parts read back: in order of
// their number, once each. It fails the test on a duplicate part.
func joined(t *testing.T, parts []store.PendingPart, key store.PartKey) (string, int) {
	t.Helper()
	var mine []store.PendingPart
	seen := map[int64]bool{}
	for _, p := range parts {
		if p.PartKey != key {
			t.Errorf("part of another event read back: %+v", p.PartKey)
			continue
		}
		if seen[p.Part] {
			t.Errorf("part %d of event %+v read back twice", p.Part, key)
		}
		seen[p.Part] = true
		mine = append(mine, p)
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].Part < mine[j].Part })
	var b strings.Builder
	for _, p := range mine {
		b.Write(p.Body)
	}
	return b.String(), len(mine)
}

// snapshotBody is a full-snapshot event as the SDK serialises it.
func snapshotBody(ts int64) string {
	return fmt.Sprintf(`{"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"tagName":"html","attributes":{"lang":"en"},"childNodes":[],"id":2}]},"initialOffset":{"top":0,"left":0}},"timestamp":%d}`, ts)
}

// pendingPartsJoinAcrossRequests writes the parts of one event from two
// "requests" (the second one retried) through w and reads them back through
// r after each, as two receiver replicas do.
func pendingPartsJoinAcrossRequests(t *testing.T, w *store.Writer, r *store.Reader, session string) {
	t.Helper()
	ctx := context.Background()
	key := store.PartKey{SessionID: session, WindowID: "rr-web:0123abcd", Event: 2}
	body := snapshotBody(1796110000123)
	parts := splitEvent(key, body, 3)
	// another event of the session, and the same index in the instance-less
	// window of two page loads (told apart by time): never read with key
	other := store.PartKey{SessionID: session, WindowID: "rr-web", Event: 2, EventTime: 1796110000123}
	otherLoad := other
	otherLoad.EventTime++
	noise := append(splitEvent(other, snapshotBody(1), 2), splitEvent(otherLoad, snapshotBody(2), 2)[0])
	if err := w.WritePendingParts(ctx, noise); err != nil {
		t.Fatal(err)
	}

	// request 1 holds part 1 only
	if err := w.WritePendingParts(ctx, parts[:1]); err != nil {
		t.Fatal(err)
	}
	got, err := r.PendingPartsOf(ctx, []store.PartKey{key})
	if err != nil {
		t.Fatal(err)
	}
	if _, n := joined(t, got, key); n != 1 {
		t.Fatalf("after request 1: %d parts stored, want 1", n)
	}
	// request 2 holds parts 2 and 3; it is sent twice (a lost response)
	for try := 0; try < 2; try++ {
		if err := w.WritePendingParts(ctx, parts[1:]); err != nil {
			t.Fatal(err)
		}
		got, err = r.PendingPartsOf(ctx, []store.PartKey{key, key})
		if err != nil {
			t.Fatal(err)
		}
		if s, n := joined(t, got, key); n != 3 || s != body {
			t.Fatalf("try %d: %d parts joined to %q, want %q", try, n, s, body)
		}
	}
	got, err = r.PendingPartsOf(ctx, []store.PartKey{other, otherLoad})
	if err != nil {
		t.Fatal(err)
	}
	if s, n := joined(t, filterKey(got, other), other); n != 2 || s != snapshotBody(1) {
		t.Errorf("instance-less window: %d parts joined to %q", n, s)
	}
	if _, n := joined(t, filterKey(got, otherLoad), otherLoad); n != 1 {
		t.Errorf("instance-less window, the other page load: %d parts, want 1", n)
	}
}

func filterKey(parts []store.PendingPart, k store.PartKey) []store.PendingPart {
	var out []store.PendingPart
	for _, p := range parts {
		if p.PartKey == k {
			out = append(out, p)
		}
	}
	return out
}

func TestPendingPartsFromTwoRequestsJoinOnceEach(t *testing.T) {
	conn, db := migrated(t)
	pendingPartsJoinAcrossRequests(t, store.NewWriter(conn, db), store.NewReader(conn, db), "split-1")
	if got, err := store.NewReader(conn, db).PendingPartsOf(context.Background(), nil); err != nil || got != nil {
		t.Errorf("no keys: %v %v", got, err)
	}
}

// BenchmarkPendingParts measures what an rr-web event whose parts straddle
// two requests costs those requests: each writes its part to pending_parts
// and reads the event's parts back (the second finds both). The event is
// the 1.46 MB of real rrweb JSON of the smartx-2h recording, split at the
// SDK's 950 KiB (@hyperdx/otel-web-session-recorder MAX_CHUNK_SIZE) into two
// parts, as a page's large full snapshot is. One embedded ClickHouse.
func BenchmarkPendingParts(b *testing.B) {
	conn, db := chembedtest.NewMigratedDatabase(b)
	w, r := store.NewWriter(conn, db), store.NewReader(conn, db)
	body := fixtures.Read(b, "rrweb", "smartx-2h.events.json")
	const maxPart = 950 * 1024
	ctx := context.Background()
	var first, second []float64
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := store.PartKey{SessionID: fmt.Sprintf("bench-%d", i), WindowID: "rr-web:0123abcd", Event: 2}
		parts := []store.PendingPart{
			{PartKey: key, Part: 1, Total: 2, Body: body[:maxPart]},
			{PartKey: key, Part: 2, Total: 2, Body: body[maxPart:]},
		}
		for n, p := range parts {
			start := time.Now()
			if err := w.WritePendingParts(ctx, []store.PendingPart{p}); err != nil {
				b.Fatal(err)
			}
			got, err := r.PendingPartsOf(ctx, []store.PartKey{key})
			if err != nil || len(got) != n+1 {
				b.Fatalf("request %d: %d parts, %v", n+1, len(got), err)
			}
			ms := float64(time.Since(start).Microseconds()) / 1000
			if n == 0 {
				first = append(first, ms)
			} else {
				second = append(second, ms)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(median(first), "request1_ms")
	b.ReportMetric(median(second), "request2_ms")
}
