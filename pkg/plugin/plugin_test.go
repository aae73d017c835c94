package plugin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/seed/sessionreplay/pkg/store"
)

// world is a database with six real recordings at known times.
type world struct {
	ds     *Datasource
	db     string
	t0     time.Time
	byID   map[string]loaded
	hostID string
}

const hostile1 = `'; DROP TABLE sessions; --`
const hostile2 = `\' OR 1=1`
const hostile3 = "quote\" back\\slash\ttab\nnewline {p0:String} ${x} 'x'"

func setup(t *testing.T, jsonData map[string]any) *world {
	t.Helper()
	conn, db := migrated(t)
	w := store.NewWriter(conn, db)
	t0 := recent()
	fixtures := []fx{
		{ID: "s-smartx", File: "smartx-90s.events.json", UserID: "alice@example.com", Device: "desktop", OS: "Windows", Browser: "Chrome",
			Country: "FR", Service: "shop-web", Attrs: map[string]string{"plan": "pro", "ab": "a"}, Start: t0, Errors: 2, Retained: "errors-on-checkout", Checkout: true,
			RageClicks: 1, DeadClicks: 3},
		{ID: "s-byterat", File: "byterat-css-inline.events.json", UserID: "bob", Device: "desktop", OS: "macOS", Browser: "Safari",
			Country: "US", Service: "shop-web", Attrs: map[string]string{"plan": "free"}, Start: t0.Add(10 * time.Minute)},
		{ID: "s-commandbar", File: "commandbar-session.events.json", UserID: "carol", Device: "mobile", OS: "Android", Browser: "Chrome",
			Country: "DE", Service: "shop-web", Start: t0.Add(20 * time.Minute), Errors: 1},
		{ID: "s-steel", File: "steel-codesandbox.events.json", UserID: "dave", Device: "desktop", OS: "Windows", Browser: "Firefox",
			Country: "FR", Service: "docs", Attrs: map[string]string{"plan": "pro"}, Start: t0.Add(30 * time.Minute), Retained: "sample", DeadClicks: 1},
		{ID: "s-legacy", File: "legacy-2018-checkout-demo.events.json", UserID: "erin", Device: "desktop", OS: "Linux", Browser: "Chrome",
			Country: "GB", Service: "shop-web", Start: t0.Add(40 * time.Minute)},
		// A session whose values are hostile strings.
		{ID: "s-hostile", File: "rrweb-player-demo-demoit.events.json", UserID: hostile1, Device: "desktop", OS: hostile2, Browser: hostile3,
			Country: "IT", Service: "shop-web", Attrs: map[string]string{"note": hostile1, hostile2: hostile3}, Start: t0.Add(50 * time.Minute)},
	}
	wd := &world{db: db, t0: t0, byID: map[string]loaded{}, hostID: "s-hostile"}
	for _, f := range fixtures {
		wd.byID[f.ID] = loadSession(t, w, f)
	}
	wd.ds = newDS(t, db, jsonData)
	return wd
}

func (w *world) all() (time.Time, time.Time) { return w.t0.Add(-time.Minute), w.t0.Add(2 * time.Hour) }

func sessionIDs(t *testing.T, r backend.DataResponse) []string {
	t.Helper()
	return column[string](t, mustFrame(t, r), "session_id")
}

func TestSessionsQuery(t *testing.T) {
	w := setup(t, nil)
	from, to := w.all()

	f := mustFrame(t, query(t, w.ds, "sessions", from, to, nil))
	want := []string{"session_id", "start", "end", "duration_ms", "active_ms", "user_id", "device", "os", "browser", "country",
		"entry_url", "pages", "clicks", "rage_clicks", "dead_clicks", "errors", "retained_rule"}
	if !reflect.DeepEqual(fieldNames(f), want) {
		t.Fatalf("fields %v\nwant   %v", fieldNames(f), want)
	}
	if f.Name != "sessions" || f.Meta == nil || f.Meta.PreferredVisualization != data.VisTypeTable {
		t.Fatalf("frame name %q meta %+v", f.Name, f.Meta)
	}
	ids := column[string](t, f, "session_id")
	if !reflect.DeepEqual(ids, []string{"s-hostile", "s-legacy", "s-steel", "s-commandbar", "s-byterat", "s-smartx"}) {
		t.Fatalf("default order (start desc): %v", ids)
	}
	// Values of one row, against what was written.
	sm := w.byID["s-smartx"]
	i := slices.Index(ids, "s-smartx")
	if got := column[time.Time](t, f, "start")[i]; !got.Equal(sm.Start) {
		t.Errorf("start %v want %v", got, sm.Start)
	}
	if got := column[time.Time](t, f, "end")[i]; !got.Equal(sm.End) {
		t.Errorf("end %v want %v", got, sm.End)
	}
	if got := column[int64](t, f, "duration_ms")[i]; got != sm.End.Sub(sm.Start).Milliseconds() {
		t.Errorf("duration %d", got)
	}
	if got := column[int64](t, f, "clicks")[i]; got != int64(sm.Clicks) || got == 0 {
		t.Errorf("clicks %d want %d", got, sm.Clicks)
	}
	if got, dead := column[int64](t, f, "rage_clicks")[i], column[int64](t, f, "dead_clicks")[i]; got != 1 || dead != 3 {
		t.Errorf("rage_clicks %d dead_clicks %d want 1 and 3", got, dead)
	}
	if got := column[int64](t, f, "errors")[i]; got != 2 {
		t.Errorf("errors %d want 2", got)
	}
	if got := column[string](t, f, "retained_rule")[i]; got != "errors-on-checkout" {
		t.Errorf("retained_rule %q", got)
	}
	if got := column[string](t, f, "retained_rule")[slices.Index(ids, "s-byterat")]; got != "" {
		t.Errorf("buffered session has retained_rule %q", got)
	}
	if got := column[string](t, f, "entry_url")[i]; got != "https://www.smartx.com/" {
		t.Errorf("entry_url %q", got)
	}
	for _, name := range []string{"duration_ms", "active_ms"} {
		if fl, _ := f.FieldByName(name); fl.Config == nil || fl.Config.Unit != "ms" {
			t.Errorf("%s has no ms unit", name)
		}
	}

	cases := []struct {
		name  string
		model map[string]any
		want  []string
	}{
		{"browser =", filters("browser", "=", "Chrome"), []string{"s-legacy", "s-commandbar", "s-smartx"}},
		{"browser = and os =", filters("browser", "=", "Chrome", "os", "=", "Windows"), []string{"s-smartx"}},
		{"browser !=", filters("browser", "!=", "Chrome"), []string{"s-hostile", "s-steel", "s-byterat"}},
		{"os =~ anchored", filters("os", "=~", "Win.*|mac"), []string{"s-steel", "s-smartx"}},
		{"os !~", filters("os", "!~", "Win.*"), []string{"s-hostile", "s-legacy", "s-commandbar", "s-byterat"}},
		{"attribute =", filters("attributes.plan", "=", "pro"), []string{"s-steel", "s-smartx"}},
		{"attribute != includes missing", filters("attributes.plan", "!=", "pro"), []string{"s-hostile", "s-legacy", "s-commandbar", "s-byterat"}},
		{"clicks >", filters("clicks", ">", "5"), []string{"s-legacy", "s-steel", "s-smartx"}},
		{"rage_clicks >", filters("rage_clicks", ">", "0"), []string{"s-smartx"}},
		{"dead_clicks >", filters("dead_clicks", ">", "0"), []string{"s-steel", "s-smartx"}},
		{"dead_clicks >=2 as > 1", filters("dead_clicks", ">", "1"), []string{"s-smartx"}},
		{"errors <", filters("errors", "<", "1"), []string{"s-hostile", "s-legacy", "s-steel", "s-byterat"}},
		{"duration_ms >", filters("duration_ms", ">", "60000"), []string{"s-hostile", "s-commandbar", "s-smartx"}},
		{"url =", filters("url", "=", "https://fw8kb.csb.app/"), []string{"s-steel"}},
		{"url =~", filters("url", "=~", "https://www\\.smartx\\.com/.*"), []string{"s-smartx"}},
		{"entry_url =", filters("entry_url", "=", "https://www.byterat.io/app/e/cell-measurements"), []string{"s-byterat"}},
		{"service", filters("service", "=", "docs"), []string{"s-steel"}},
		{"country + user", filters("country", "=", "FR", "user_id", "=", "dave"), []string{"s-steel"}},
		{"device", filters("device", "=", "mobile"), []string{"s-commandbar"}},
		{"search url case-insensitive", map[string]any{"search": "SMARTX.com"}, []string{"s-smartx"}},
		{"search user id", map[string]any{"search": "CAROL"}, []string{"s-commandbar"}},
		{"hasErrors", map[string]any{"hasErrors": true}, []string{"s-commandbar", "s-smartx"}},
		{"retainedOnly", map[string]any{"retainedOnly": true}, []string{"s-steel", "s-smartx"}},
		{"retainedOnly + hasErrors", map[string]any{"retainedOnly": true, "hasErrors": true}, []string{"s-smartx"}},
		{"order clicks asc", map[string]any{"orderBy": "clicks", "orderDir": "asc", "adhocFilters": []store.Filter{{Key: "clicks", Operator: ">", Value: "0"}}},
			[]string{"s-hostile", "s-smartx", "s-steel", "s-legacy"}},
		{"order duration desc", map[string]any{"orderBy": "duration", "limit": 2}, []string{"s-commandbar", "s-smartx"}},
		{"order errors desc", map[string]any{"orderBy": "errors", "limit": 2}, []string{"s-smartx", "s-commandbar"}},
		{"order pages asc", map[string]any{"orderBy": "pages", "orderDir": "asc", "limit": 1}, []string{"s-legacy"}},
		{"no match", filters("browser", "=", "Lynx"), []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := sessionIDs(t, query(t, w.ds, "sessions", from, to, c.model))
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v\nwant %v", got, c.want)
			}
		})
	}
}

func filters(kv ...string) map[string]any {
	var fs []store.Filter
	for i := 0; i+2 < len(kv)+1; i += 3 {
		fs = append(fs, store.Filter{Key: kv[i], Operator: kv[i+1], Value: kv[i+2]})
	}
	return map[string]any{"adhocFilters": fs}
}

func TestSessionsTimeRangeAndPaging(t *testing.T) {
	w := setup(t, map[string]any{"maxRows": 4})
	// Only sessions overlapping [t0+25m, t0+45m]: steel (30m) and legacy (40m);
	// commandbar started at 20m and lasts 263 s, so it ended before 25m.
	got := sessionIDs(t, query(t, w.ds, "sessions", w.t0.Add(25*time.Minute), w.t0.Add(45*time.Minute), nil))
	if !reflect.DeepEqual(got, []string{"s-legacy", "s-steel"}) {
		t.Fatalf("time range: %v", got)
	}
	// A range that starts inside a session finds it, with its whole extent.
	r := query(t, w.ds, "sessions", w.t0.Add(20*time.Minute+time.Minute), w.t0.Add(20*time.Minute+2*time.Minute), nil)
	f := mustFrame(t, r)
	if ids := column[string](t, f, "session_id"); !reflect.DeepEqual(ids, []string{"s-commandbar"}) {
		t.Fatalf("range inside a session: %v", ids)
	}
	if d := column[int64](t, f, "duration_ms")[0]; d != w.byID["s-commandbar"].End.Sub(w.byID["s-commandbar"].Start).Milliseconds() {
		t.Fatalf("duration cut by the range: %d", d)
	}
	// Empty: a frame with every field and no rows.
	f = mustFrame(t, query(t, w.ds, "sessions", w.t0.Add(-10*time.Hour), w.t0.Add(-9*time.Hour), nil))
	if f.Rows() != 0 || len(f.Fields) != 17 {
		t.Fatalf("empty result: %d rows, %d fields", f.Rows(), len(f.Fields))
	}

	// Paging: pages of 2 concatenate to the full list (maxRows 4 caps it).
	from, to := w.all()
	var paged []string
	for off := 0; off < 8; off += 2 {
		paged = append(paged, sessionIDs(t, query(t, w.ds, "sessions", from, to, map[string]any{"limit": 2, "offset": off}))...)
	}
	if !reflect.DeepEqual(paged, []string{"s-hostile", "s-legacy", "s-steel", "s-commandbar", "s-byterat", "s-smartx"}) {
		t.Fatalf("pages: %v", paged)
	}
	r = query(t, w.ds, "sessions", from, to, map[string]any{"limit": 1000})
	f = mustFrame(t, r)
	if f.Rows() != 4 || f.Meta == nil || len(f.Meta.Notices) != 1 {
		t.Fatalf("limit over maxRows: %d rows, meta %+v", f.Rows(), f.Meta)
	}
	if ids := sessionIDs(t, query(t, w.ds, "sessions", from, to, map[string]any{"offset": 100})); len(ids) != 0 {
		t.Fatalf("offset past the end: %v", ids)
	}
}

func TestHostileValuesMatchLiterallyAndNeverAlterTheQuery(t *testing.T) {
	for _, protocol := range []string{"native", "http"} {
		t.Run(protocol, func(t *testing.T) {
			jd := map[string]any{"protocol": protocol}
			if protocol == "http" {
				jd["addresses"] = []string{httpAddr(t)}
			}
			w := setup(t, jd)
			from, to := w.all()
			for _, c := range []struct{ key, value string }{
				{"user_id", hostile1}, {"os", hostile2}, {"browser", hostile3},
				{"attributes.note", hostile1}, {"attributes." + hostile2, hostile3},
			} {
				got := sessionIDs(t, query(t, w.ds, "sessions", from, to, filters(c.key, "=", c.value)))
				if !reflect.DeepEqual(got, []string{w.hostID}) {
					t.Errorf("%s = %q: got %v, want the hostile session alone", c.key, c.value, got)
				}
				got = sessionIDs(t, query(t, w.ds, "sessions", from, to, filters(c.key, "!=", c.value)))
				if len(got) != 5 || slices.Contains(got, w.hostID) {
					t.Errorf("%s != %q: got %v", c.key, c.value, got)
				}
			}
			// Hostile values that match nothing, in every operator and in search.
			for _, v := range []string{hostile1, hostile2, hostile3, `' OR '1'='1`, `\`, `'`, `") OR 1=1 --`, "x') UNION SELECT 1 --"} {
				for _, op := range []string{"=", "=~", "<"} {
					r := query(t, w.ds, "sessions", from, to, filters("country", op, v+"zz"))
					if r.Error != nil && !strings.Contains(r.Error.Error(), "regexp") && !strings.Contains(r.Error.Error(), "re2") {
						t.Errorf("country %s %q: %v", op, v, r.Error)
					}
					if r.Error == nil && op == "=" && mustFrame(t, r).Rows() != 0 {
						t.Errorf("country = %q matched rows", v)
					}
				}
				r := query(t, w.ds, "sessions", from, to, map[string]any{"search": v + "zz"})
				if f := mustFrame(t, r); f.Rows() != 0 {
					t.Errorf("search %q matched %d rows", v, f.Rows())
				}
			}
			if got := sessionIDs(t, query(t, w.ds, "sessions", from, to, map[string]any{"search": "DROP TABLE"})); !reflect.DeepEqual(got, []string{w.hostID}) {
				t.Errorf("search for part of a hostile user id: %v", got)
			}
			// Regex metacharacters of a hostile value, escaped by the user, match it.
			if got := sessionIDs(t, query(t, w.ds, "sessions", from, to, filters("os", "=~", `\\' OR 1=1`))); !reflect.DeepEqual(got, []string{w.hostID}) {
				t.Errorf("os =~ escaped hostile: %v", got)
			}
			// Hostile tag values come back verbatim.
			res := callResource(t, w.ds, fmt.Sprintf("tag-values?key=os&from=%d&to=%d", from.UnixMilli(), to.UnixMilli()))
			var vals []textValue
			_ = json.Unmarshal(res.Body(), &vals)
			if !slices.Contains(vals, textValue{hostile2}) {
				t.Errorf("tag-values os: %s", res.Body())
			}
			// Every table is still there and whole.
			assertTablesIntact(t, w)
		})
	}
}

func assertTablesIntact(t *testing.T, w *world) {
	t.Helper()
	ctx := context.Background()
	for _, table := range store.DataTables {
		var n uint64
		if err := w.ds.conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.%s", w.db, table)).Scan(&n); err != nil {
			t.Fatalf("table %s: %v", table, err)
		}
		// The fixture writes no retained chunk, no version-1 summary, none of
		// the receiver's own rule state (pending matches, evaluations, click
		// candidates, split parts), and no assets (the receiver takes
		// them out of chunks; the fidelity suite replays those).
		if n == 0 && table != store.TableRetained && table != store.TableSessionsV1 && table != store.TablePending && table != store.TableEvaluations &&
			table != store.TableAssets && table != store.TableClickCandidates && table != store.TablePendingParts {
			t.Errorf("table %s is empty", table)
		}
	}
	var sessions uint64
	_ = w.ds.conn.QueryRow(ctx, fmt.Sprintf("SELECT uniqExact(session_id) FROM %s.session_summaries", w.db)).Scan(&sessions)
	if sessions != 6 {
		t.Errorf("sessions table holds %d sessions, want 6", sessions)
	}
}

func TestBadQueriesAreDownstreamUserErrors(t *testing.T) {
	w := setup(t, nil)
	from, to := w.all()
	for name, model := range map[string]map[string]any{
		"unknown key":       filters("password", "=", "x"),
		"unknown operator":  filters("browser", "LIKE", "x"),
		"number expected":   filters("clicks", ">", "many"),
		"regex on a number": filters("clicks", "=~", "1"),
		"range on urls":     filters("url", "<", "x"),
		"empty attribute":   filters("attributes.", "=", "x"),
		"bad order":         {"orderBy": "session_id; DROP TABLE sessions"},
		"bad direction":     {"orderDir": "sideways"},
		"negative offset":   {"offset": -1},
		"zero limit":        {"limit": 0},
	} {
		r := query(t, w.ds, "sessions", from, to, model)
		if r.Error == nil || r.ErrorSource != backend.ErrorSourceDownstream || r.Status != backend.StatusBadRequest {
			t.Errorf("%s: error %v source %q status %d", name, r.Error, r.ErrorSource, r.Status)
		}
	}
	// An invalid regular expression is refused by ClickHouse: downstream too.
	r := query(t, w.ds, "sessions", from, to, filters("browser", "=~", "("))
	if r.Error == nil || r.ErrorSource != backend.ErrorSourceDownstream {
		t.Errorf("bad regexp: %v %q", r.Error, r.ErrorSource)
	}
	r = query(t, w.ds, "nonsense", from, to, nil)
	if r.Error == nil || r.Status != backend.StatusBadRequest {
		t.Errorf("unknown query type: %v", r.Error)
	}
	r = query(t, w.ds, "markers", from, to, nil)
	if r.Error == nil || r.Status != backend.StatusBadRequest {
		t.Errorf("markers without sessionId: %v", r.Error)
	}
	assertTablesIntact(t, w)
}

func TestStatsQuery(t *testing.T) {
	w := setup(t, nil)
	from := w.t0.Add(-5 * time.Minute)
	to := w.t0.Add(55 * time.Minute)
	raw, _ := json.Marshal(map[string]any{"queryType": "stats"})
	resp, err := w.ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
		RefID: "A", QueryType: "stats", JSON: raw, TimeRange: backend.TimeRange{From: from, To: to}, Interval: 20 * time.Minute,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	f := mustFrame(t, resp.Responses["A"])
	if f.Name != "stats" || !reflect.DeepEqual(fieldNames(f), []string{"time", "sessions", "retained", "error_sessions"}) {
		t.Fatalf("frame %s %v", f.Name, fieldNames(f))
	}
	times := column[time.Time](t, f, "time")
	var total, retained, errs int64
	for i := range times {
		total += column[int64](t, f, "sessions")[i]
		retained += column[int64](t, f, "retained")[i]
		errs += column[int64](t, f, "error_sessions")[i]
		if i > 0 && times[i].Sub(times[i-1]) != 20*time.Minute {
			t.Fatalf("interval %v", times[i].Sub(times[i-1]))
		}
	}
	if total != 6 || retained != 2 || errs != 2 {
		t.Fatalf("totals sessions=%d retained=%d errors=%d", total, retained, errs)
	}
	if times[0].After(from) || times[len(times)-1].Before(to.Add(-20*time.Minute)) {
		t.Fatalf("buckets %v..%v do not cover %v..%v", times[0], times[len(times)-1], from, to)
	}
	// Filters apply: Chrome sessions only.
	r := query(t, w.ds, "stats", from, to, filters("browser", "=", "Chrome"))
	total = 0
	for _, v := range column[int64](t, mustFrame(t, r), "sessions") {
		total += v
	}
	if total != 3 {
		t.Fatalf("Chrome sessions %d, want 3", total)
	}
}

func TestMarkersQuery(t *testing.T) {
	w := setup(t, map[string]any{"tracesDatasourceUid": "tempo-uid"})
	from, to := w.all()
	f := mustFrame(t, query(t, w.ds, "markers", from, to, map[string]any{"sessionId": "s-smartx"}))
	if f.Name != "markers" || !reflect.DeepEqual(fieldNames(f), []string{"time", "offset_ms", "kind", "name", "url", "detail", "trace_id", "span_id"}) {
		t.Fatalf("frame %s %v", f.Name, fieldNames(f))
	}
	kinds := column[string](t, f, "kind")
	count := map[string]int{}
	for _, k := range kinds {
		count[k]++
	}
	if count["click"] != w.byID["s-smartx"].Clicks || count["error"] != 2 || count["navigation"] != 2 {
		t.Fatalf("marker kinds %v (clicks written %d)", count, w.byID["s-smartx"].Clicks)
	}
	times := column[time.Time](t, f, "time")
	offsets := column[int64](t, f, "offset_ms")
	for i := range times {
		if i > 0 && times[i].Before(times[i-1]) {
			t.Fatal("markers not in time order")
		}
		if offsets[i] != times[i].Sub(w.t0).Milliseconds() {
			t.Fatalf("offset %d for %v", offsets[i], times[i])
		}
	}
	tf, _ := f.FieldByName("trace_id")
	if tf.Config == nil || len(tf.Config.Links) != 1 || tf.Config.Links[0].Internal == nil || tf.Config.Links[0].Internal.DatasourceUID != "tempo-uid" {
		t.Fatalf("trace link %+v", tf.Config)
	}
	// Kinds filter and the time range.
	f = mustFrame(t, query(t, w.ds, "markers", from, to, map[string]any{"sessionId": "s-smartx", "kinds": []string{"error"}}))
	if got := column[string](t, f, "trace_id"); !reflect.DeepEqual(got, []string{"trace-s-smartx-0", "trace-s-smartx-1"}) {
		t.Fatalf("error markers %v", got)
	}
	f = mustFrame(t, query(t, w.ds, "markers", w.t0.Add(2500*time.Millisecond), w.t0.Add(3500*time.Millisecond), map[string]any{"sessionId": "s-smartx", "kinds": []string{"error"}}))
	if got := column[string](t, f, "trace_id"); !reflect.DeepEqual(got, []string{"trace-s-smartx-1"}) {
		t.Fatalf("markers in [2.5s, 3.5s]: %v", got)
	}
	if f := mustFrame(t, query(t, w.ds, "markers", from, to, map[string]any{"sessionId": "nope"})); f.Rows() != 0 {
		t.Fatal("markers of an unknown session")
	}
	if r := query(t, w.ds, "markers", from, to, map[string]any{"sessionId": "s-smartx", "kinds": []string{"x' OR 1=1"}}); r.Status != backend.StatusBadRequest {
		t.Fatalf("unknown kind: %v", r.Error)
	}
	// No traces data source configured: no link.
	plain := newDS(t, w.db, nil)
	f = mustFrame(t, query(t, plain, "markers", from, to, map[string]any{"sessionId": "s-smartx"}))
	if tf, _ := f.FieldByName("trace_id"); tf.Config != nil && len(tf.Config.Links) > 0 {
		t.Fatal("link without tracesDatasourceUid")
	}
}

func TestTraceSessionQuery(t *testing.T) {
	w := setup(t, nil)
	from, to := w.all()
	f := mustFrame(t, query(t, w.ds, "traceSession", from, to, map[string]any{"traceId": "trace-s-smartx-1"}))
	if f.Name != "trace_session" || !reflect.DeepEqual(fieldNames(f), []string{"trace_id", "session_id", "session_start", "session_end", "span_time", "offset_ms"}) {
		t.Fatalf("frame %s %v", f.Name, fieldNames(f))
	}
	if f.Rows() != 1 || column[string](t, f, "session_id")[0] != "s-smartx" {
		t.Fatalf("rows %d", f.Rows())
	}
	// The error span (t0+3s) wins over the earlier non-error one (t0+2.5s).
	if span := column[time.Time](t, f, "span_time")[0]; !span.Equal(w.t0.Add(3 * time.Second)) {
		t.Fatalf("span_time %v", span)
	}
	if off := column[int64](t, f, "offset_ms")[0]; off != 3000 {
		t.Fatalf("offset %d", off)
	}
	if s := column[time.Time](t, f, "session_start")[0]; !s.Equal(w.t0) {
		t.Fatalf("session_start %v", s)
	}
	if e := column[time.Time](t, f, "session_end")[0]; !e.Equal(w.byID["s-smartx"].End) {
		t.Fatalf("session_end %v want %v", e, w.byID["s-smartx"].End)
	}
	for _, tid := range []string{"unknown", hostile1, hostile2} {
		if f := mustFrame(t, query(t, w.ds, "traceSession", from, to, map[string]any{"traceId": tid})); f.Rows() != 0 {
			t.Fatalf("trace %q found", tid)
		}
	}
	// Outside the time range: nothing.
	if f := mustFrame(t, query(t, w.ds, "traceSession", w.t0.Add(time.Hour), to, map[string]any{"traceId": "trace-s-smartx-1"})); f.Rows() != 0 {
		t.Fatal("trace found outside the time range")
	}
}

func TestTagResources(t *testing.T) {
	w := setup(t, nil)
	from, to := w.all()
	res := callResource(t, w.ds, fmt.Sprintf("tag-keys?from=%d&to=%d", from.UnixMilli(), to.UnixMilli()))
	var keys []textValue
	if err := json.Unmarshal(res.Body(), &keys); err != nil || res.Status != 200 {
		t.Fatalf("tag-keys %d %s", res.Status, res.Body())
	}
	for _, k := range []string{"browser", "os", "device", "url", "attributes.plan", "attributes.ab", "attributes." + hostile2} {
		if !slices.Contains(keys, textValue{k}) {
			t.Errorf("tag-keys lacks %q: %s", k, res.Body())
		}
	}
	res = callResource(t, w.ds, fmt.Sprintf("tag-values?key=browser&from=%d&to=%d", from.UnixMilli(), to.UnixMilli()))
	var vals []textValue
	_ = json.Unmarshal(res.Body(), &vals)
	if len(vals) != 4 || vals[0].Text != "Chrome" {
		t.Fatalf("browser values (Chrome most frequent first): %s", res.Body())
	}
	// Time-range aware: only the sessions at 30m and 40m.
	res = callResource(t, w.ds, fmt.Sprintf("tag-values?key=browser&from=%d&to=%d", w.t0.Add(25*time.Minute).UnixMilli(), w.t0.Add(45*time.Minute).UnixMilli()))
	vals = nil
	_ = json.Unmarshal(res.Body(), &vals)
	if !reflect.DeepEqual(vals, []textValue{{"Chrome"}, {"Firefox"}}) && !reflect.DeepEqual(vals, []textValue{{"Firefox"}, {"Chrome"}}) {
		t.Fatalf("browser values in 25m..45m: %s", res.Body())
	}
	res = callResource(t, w.ds, fmt.Sprintf("tag-values?key=attributes.plan&from=%d&to=%d", from.UnixMilli(), to.UnixMilli()))
	vals = nil
	_ = json.Unmarshal(res.Body(), &vals)
	if !reflect.DeepEqual(vals, []textValue{{"pro"}, {"free"}}) {
		t.Fatalf("attributes.plan values: %s", res.Body())
	}
	res = callResource(t, w.ds, fmt.Sprintf("tag-values?key=url&from=%d&to=%d", from.UnixMilli(), to.UnixMilli()))
	if !bytes.Contains(res.Body(), []byte("https://fw8kb.csb.app/")) {
		t.Fatalf("url values: %s", res.Body())
	}
	for path, status := range map[string]int{
		"tag-values?key=nope":             400,
		"tag-values":                      400,
		"tag-values?key=os&from=abc":      400,
		"no-such-resource":                404,
		"tag-values?key=clicks":           200,
		"sessions/unknown/replay":         404,
		"sessions/s-smartx/replay?from=x": 400,
	} {
		if res := callResource(t, w.ds, path); res.Status != status {
			t.Errorf("%s: status %d want %d (%s)", path, res.Status, status, res.Body())
		}
	}
}

// replayLine is one NDJSON line of the replay stream.
type replayLine struct {
	Type         string            `json:"type"`
	SessionID    string            `json:"sessionId"`
	Start        int64             `json:"start"`
	End          int64             `json:"end"`
	From         int64             `json:"from"`
	WindowID     string            `json:"windowId"`
	Seq          uint64            `json:"seq"`
	FullSnapshot bool              `json:"fullSnapshot"`
	Events       []json.RawMessage `json:"events"`
	Part         int               `json:"part"`
	Parts        int               `json:"parts"`
	Data         string            `json:"data"`
	Message      string            `json:"message"`
}

// readReplay parses a replay stream the way the frontend does and returns
// its lines and the events in arrival order (event parts joined).
func readReplay(t testing.TB, res resourceResult) (meta replayLine, chunks []replayLine, events []json.RawMessage) {
	t.Helper()
	if res.Status != 200 {
		t.Fatalf("replay status %d: %s", res.Status, res.Body())
	}
	if ct := res.Headers["Content-Type"]; len(ct) != 1 || ct[0] != "application/x-ndjson" {
		t.Fatalf("content type %v", ct)
	}
	sc := bufio.NewScanner(bytes.NewReader(res.Body()))
	sc.Buffer(nil, 64<<20)
	var part strings.Builder
	first := true
	for sc.Scan() {
		var l replayLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line is not JSON: %v", err)
		}
		if first {
			if l.Type != "meta" {
				t.Fatalf("first line is %q", l.Type)
			}
			meta, first = l, false
			continue
		}
		switch l.Type {
		case "chunk":
			chunks = append(chunks, l)
			events = append(events, l.Events...)
		case "event_part":
			if l.Part == 0 {
				part.Reset()
			}
			part.WriteString(l.Data)
			if l.Part == l.Parts-1 {
				events = append(events, json.RawMessage(part.String()))
			}
		default:
			t.Fatalf("line type %q: %s", l.Type, l.Message)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return meta, chunks, events
}

func TestReplayResource(t *testing.T) {
	w := setup(t, nil)
	sm := w.byID["s-smartx"]
	res := callResource(t, w.ds, "sessions/s-smartx/replay")
	meta, chunks, events := readReplay(t, res)
	if meta.SessionID != "s-smartx" || meta.Start != sm.Start.UnixMilli() || meta.End != sm.End.UnixMilli() || meta.From != sm.Chunks[0].Start.UnixMilli() {
		t.Fatalf("meta %+v", meta)
	}
	if len(chunks) != len(sm.Chunks) || !sameEvents(events, sm.Events) {
		t.Fatalf("%d chunks / %d events, want %d / %d", len(chunks), len(events), len(sm.Chunks), len(sm.Events))
	}
	// From the middle: the stream starts at the checkout (second full snapshot).
	var checkout int
	for i, c := range sm.Chunks[1:] {
		if c.FullSnapshot {
			checkout = i + 1
			break
		}
	}
	if checkout == 0 {
		t.Fatal("fixture has no second full snapshot")
	}
	last := sm.Chunks[len(sm.Chunks)-1]
	meta, chunks, events = readReplay(t, callResource(t, w.ds, fmt.Sprintf("sessions/s-smartx/replay?from=%d", last.End.UnixMilli())))
	if meta.From != sm.Chunks[checkout].Start.UnixMilli() || chunks[0].Seq != uint64(checkout) || !chunks[0].FullSnapshot {
		t.Fatalf("from the end: meta.from %d first seq %d, want chunk %d", meta.From, chunks[0].Seq, checkout)
	}
	var want []json.RawMessage
	for _, c := range sm.Chunks[checkout:] {
		var evs []json.RawMessage
		_ = json.Unmarshal(c.Data, &evs)
		want = append(want, evs...)
	}
	if !sameEvents(events, want) {
		t.Fatalf("events from the checkout differ: %d vs %d", len(events), len(want))
	}
	// Before the session: from its start.
	meta, _, _ = readReplay(t, callResource(t, w.ds, fmt.Sprintf("sessions/s-smartx/replay?from=%d", w.t0.Add(-time.Hour).UnixMilli())))
	if meta.From != sm.Chunks[0].Start.UnixMilli() {
		t.Fatalf("from before the session: %d", meta.From)
	}
	// A hostile session id is just an unknown session.
	if res := callResource(t, w.ds, "sessions/'%3B%20DROP%20TABLE%20sessions%3B%20--/replay"); res.Status != 404 {
		t.Fatalf("hostile id: %d %s", res.Status, res.Body())
	}
	assertTablesIntact(t, w)
}

func sameEvents(a, b []json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(compact(a[i]), compact(b[i])) {
			return false
		}
	}
	return true
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return b
	}
	return out.Bytes()
}
