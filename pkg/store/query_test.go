package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/seed/sessionreplay/pkg/store"
)

// Values that would break a query built by string concatenation.
var hostileValues = []string{
	`'; DROP TABLE sessions; --`,
	`\' OR 1=1`,
	`\`, `'`, `"`, `\\'`, "tab\there", "new\nline", `{p0:String}`, `%s`, "nul\x00byte", `x') OR ('1'='1`,
}

// queryWorld writes one session per hostile value (as its user id, browser
// and attribute) plus a real recording, all at t0 + i minutes.
func queryWorld(t *testing.T) (*store.Reader, time.Time, []string) {
	t.Helper()
	ctx := context.Background()
	conn, db := migrated(t)
	w := store.NewWriter(conn, db)
	t0 := recent()
	fixture, err := os.ReadFile("../../../shared/fixtures/rrweb/steel-codesandbox.events.json")
	if err != nil {
		t.Fatal(err)
	}
	var b store.Batch
	var ids []string
	for i, v := range append([]string{"plain"}, hostileValues...) {
		id := fmt.Sprintf("h%02d", i)
		ids = append(ids, id)
		start := t0.Add(time.Duration(i) * time.Minute)
		b.Buffered = append(b.Buffered, store.Chunk{SessionID: id, WindowID: "w", Start: start, End: start.Add(24 * time.Second),
			EventCount: 84, FullSnapshot: true, Data: fixture})
		b.Sessions = append(b.Sessions,
			store.SessionSummary{SessionID: id, Start: start, End: start.Add(20 * time.Second), Clicks: uint64(i), UserID: v,
				Browser: v, Device: "desktop", URLs: []string{"https://shop.example/" + v}, EntryURL: "https://shop.example/" + v,
				Attributes: map[string]string{"k": v, v: "by-key"}},
			// A row from an error log: no device, browser, ... of its own.
			store.SessionSummary{SessionID: id, Start: start.Add(22 * time.Second), End: start.Add(24 * time.Second), Errors: 1})
		b.Links = append(b.Links, store.TraceLink{TraceID: v, SessionID: id, Time: start.Add(time.Second)})
	}
	if err := w.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	return store.NewReader(conn, db), t0, ids
}

func list(t *testing.T, r *store.Reader, q store.ListQuery) []string {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 1000
	}
	rows, err := r.ListSessions(context.Background(), q)
	if err != nil {
		t.Fatalf("%+v: %v", q, err)
	}
	ids := []string{}
	for _, s := range rows {
		ids = append(ids, s.SessionID)
	}
	return ids
}

func TestListSessionsBindsHostileValuesLiterally(t *testing.T) {
	ctx := context.Background()
	r, t0, ids := queryWorld(t)
	tr := store.TimeRange{From: t0.Add(-time.Minute), To: t0.Add(time.Hour)}
	for i, v := range hostileValues {
		want := []string{ids[i+1]}
		for _, f := range []store.Filter{
			{Key: "user_id", Operator: "=", Value: v},
			{Key: "browser", Operator: "=", Value: v},
			{Key: "attributes.k", Operator: "=", Value: v},
			{Key: "attributes." + v, Operator: "=", Value: "by-key"},
			{Key: "url", Operator: "=", Value: "https://shop.example/" + v},
			{Key: "entry_url", Operator: "=", Value: "https://shop.example/" + v},
		} {
			if got := list(t, r, store.ListQuery{SessionFilter: store.SessionFilter{TimeRange: tr, Filters: []store.Filter{f}}}); !reflect.DeepEqual(got, want) {
				t.Errorf("%s = %q: %v, want %v", f.Key, f.Value, got, want)
			}
		}
		if got := list(t, r, store.ListQuery{SessionFilter: store.SessionFilter{TimeRange: tr, Search: v}}); len(got) == 0 || !contains(got, ids[i+1]) {
			t.Errorf("search %q: %v", v, got)
		}
		links, err := r.TraceSessions(ctx, v, tr, 10)
		if err != nil || len(links) != 1 || links[0].SessionID != ids[i+1] {
			t.Errorf("trace %q: %+v %v", v, links, err)
		}
		vals, err := r.TagValues(ctx, "attributes."+v, tr, 10)
		if err != nil || !reflect.DeepEqual(vals, []string{"by-key"}) {
			t.Errorf("tag values of attributes.%q: %v %v", v, vals, err)
		}
	}
	// The error rows have no browser: the narrowed grouping keeps them.
	rows, err := r.ListSessions(ctx, store.ListQuery{SessionFilter: store.SessionFilter{TimeRange: tr,
		Filters: []store.Filter{{Key: "browser", Operator: "=", Value: hostileValues[0]}, {Key: "device", Operator: "=~", Value: "desk.*"}}}, Limit: 10})
	if err != nil || len(rows) != 1 || rows[0].Errors != 1 || rows[0].End.Sub(rows[0].Start) != 24*time.Second {
		t.Fatalf("narrowed list: %+v %v", rows, err)
	}
	// Nothing was dropped or altered.
	if got := list(t, r, store.ListQuery{SessionFilter: store.SessionFilter{TimeRange: tr}}); len(got) != len(ids) {
		t.Fatalf("after hostile queries: %d sessions, want %d", len(got), len(ids))
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestListSessionsPagingOrderingAndErrors(t *testing.T) {
	ctx := context.Background()
	r, t0, ids := queryWorld(t)
	tr := store.TimeRange{From: t0.Add(-time.Minute), To: t0.Add(time.Hour)}
	all := list(t, r, store.ListQuery{SessionFilter: store.SessionFilter{TimeRange: tr}, OrderBy: "clicks", OrderDir: "asc"})
	if !reflect.DeepEqual(all, ids) {
		t.Fatalf("clicks asc: %v", all)
	}
	var paged []string
	for off := 0; off < len(ids)+3; off += 3 {
		paged = append(paged, list(t, r, store.ListQuery{SessionFilter: store.SessionFilter{TimeRange: tr}, OrderBy: "clicks", OrderDir: "asc", Limit: 3, Offset: off})...)
	}
	if !reflect.DeepEqual(paged, ids) {
		t.Fatalf("pages: %v", paged)
	}
	if got := list(t, r, store.ListQuery{SessionFilter: store.SessionFilter{TimeRange: store.TimeRange{From: t0.Add(-3 * time.Hour), To: t0.Add(-2 * time.Hour)}}}); len(got) != 0 {
		t.Fatalf("empty range: %v", got)
	}
	for _, q := range []store.ListQuery{
		{SessionFilter: store.SessionFilter{TimeRange: tr}, Limit: 1, OrderBy: "x"},
		{SessionFilter: store.SessionFilter{TimeRange: tr}, Limit: 1, OrderDir: "up"},
		{SessionFilter: store.SessionFilter{TimeRange: tr}, Limit: 0},
		{SessionFilter: store.SessionFilter{TimeRange: tr, Filters: []store.Filter{{Key: "x", Operator: "=", Value: "1"}}}, Limit: 1},
		{SessionFilter: store.SessionFilter{TimeRange: tr, Filters: []store.Filter{{Key: "errors", Operator: "=", Value: "'1'"}}}, Limit: 1},
		{SessionFilter: store.SessionFilter{TimeRange: store.TimeRange{From: tr.To, To: tr.From}}, Limit: 1},
	} {
		if _, err := r.ListSessions(ctx, q); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("%+v: %v, want ErrInvalidQuery", q, err)
		}
	}
	pts, err := r.SessionStats(ctx, store.SessionFilter{TimeRange: tr, HasErrors: true}, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, p := range pts {
		n += p.Sessions
	}
	if n != uint64(len(ids)) || len(pts) < 7 || len(pts) > 8 {
		t.Fatalf("stats: %d sessions in %d points", n, len(pts))
	}
}
