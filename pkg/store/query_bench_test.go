package store_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/otellogs"
	"github.com/seed/sessionreplay/pkg/store"
)

// BenchmarkSessionList compares the session list read from the sessions
// summary table with the same list computed by grouping raw rrweb events in
// an otel_logs table (the HyperDX layout: one row per event, session id in
// the resource attribute rum.sessionId), on the same data, in the same run.
//
//	go test -bench BenchmarkSessionList -run '^$' ./pkg/store/
//
// SESSIONREPLAY_BENCH_SESSIONS (default 1000000) and
// SESSIONREPLAY_BENCH_EVENTS (events per session, default 10: real sessions
// have hundreds, so the raw side is flattered) size it.
func BenchmarkSessionList(b *testing.B) {
	ctx := context.Background()
	conn, db := chembedtest.NewMigratedDatabase(b)
	sessions := envInt(b, "SESSIONREPLAY_BENCH_SESSIONS", 1_000_000)
	perSession := envInt(b, "SESSIONREPLAY_BENCH_EVENTS", 10)
	// Sessions start over 24 hours ending an hour ago; each lasts 1 to 31 minutes.
	base := time.Now().Add(-25 * time.Hour).Truncate(time.Hour).UTC()
	spacingUs := int64(24*time.Hour/time.Microsecond) / int64(sessions)

	load := time.Now()
	benchLoad(b, conn, db, base, sessions, perSession, spacingUs)
	loadTook := time.Since(load)
	var summaryRows, rawRows uint64
	// Let background merges settle so they do not slow either side.
	settle := time.Now()
	for time.Since(settle) < 90*time.Second {
		var merging uint64
		_ = conn.QueryRow(clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"db": db})),
			"SELECT count() FROM system.merges WHERE database = {db:String}").Scan(&merging)
		if merging == 0 {
			break
		}
		time.Sleep(time.Second)
	}
	fmt.Printf("BenchmarkSessionList: merges settled in %s\n", time.Since(settle).Round(time.Millisecond))
	_ = conn.QueryRow(ctx, "SELECT count() FROM "+db+"."+store.TableSessions).Scan(&summaryRows)
	_ = conn.QueryRow(ctx, "SELECT count() FROM "+db+".otel_logs").Scan(&rawRows)
	fmt.Printf("BenchmarkSessionList: loaded %d sessions (%d summary rows) and %d raw events in %s\n", sessions, summaryRows, rawRows, loadTook.Round(time.Millisecond))

	// Six hours in the middle of the day, Chrome on Windows, newest first.
	from := base.Add(9 * time.Hour)
	to := from.Add(6 * time.Hour)
	r := store.NewReader(conn, db)
	q := store.ListQuery{
		SessionFilter: store.SessionFilter{
			TimeRange: store.TimeRange{From: from, To: to},
			Filters:   []store.Filter{{Key: "browser", Operator: "=", Value: "Chrome"}, {Key: "os", Operator: "=", Value: "Windows"}},
		},
		Limit: 100,
	}
	summary := func() []string {
		rows, err := r.ListSessions(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]string, len(rows))
		for i, s := range rows {
			ids[i] = s.SessionID
		}
		return ids
	}
	raw := func() []string { return rawSessionList(b, conn, db, from, to, 100) }

	// Both answer the same question: same sessions, same order.
	a, c := summary(), raw()
	if len(a) != 100 || !reflect.DeepEqual(a, c) {
		b.Fatalf("lists differ:\nsummary %d %v\nraw     %d %v", len(a), head(a), len(c), head(c))
	}

	var summaryMs, rawMs []float64
	measure := func(fn func() []string, into *[]float64) func(*testing.B) {
		return func(b *testing.B) {
			for i := 0; i < max(b.N, 3); i++ {
				start := time.Now()
				fn()
				*into = append(*into, float64(time.Since(start).Microseconds())/1000)
			}
			b.ReportMetric(median(*into), "median-ms/list") // ns/op is off: at least 3 runs per op
		}
	}
	b.Run("summary-table", measure(summary, &summaryMs))
	b.Run("raw-events", measure(raw, &rawMs))
	s, rr := median(summaryMs), median(rawMs)
	fmt.Printf("BenchmarkSessionList: session list, %s range + browser = Chrome AND os = Windows, page of 100: summary table %.1f ms, raw events %.1f ms (median of %d / %d runs): ratio 1/%.1f (goal <= 1/10)\n",
		to.Sub(from), s, rr, len(summaryMs), len(rawMs), rr/s)
}

func envInt(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q", name, v)
		}
		return n
	}
	return def
}

func head(s []string) []string { return s[:min(5, len(s))] }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// benchLoad fills both tables server-side (INSERT ... SELECT FROM numbers()).
// Session n: id = hex(sipHash128(n)); start = base + n*spacing; duration
// 60 s + (n % 1800) s; two summary rows (one per half, as two chunks write);
// perSession raw events spread evenly from start to end.
func benchLoad(b *testing.B, conn driver.Conn, db string, base time.Time, sessions, perSession int, spacingUs int64) {
	ctx := clickhouse.Context(context.Background(), clickhouse.WithSettings(clickhouse.Settings{
		"max_insert_threads": 2, "max_threads": 2, "max_execution_time": 600,
		"min_insert_block_size_rows": 4_000_000, "min_insert_block_size_bytes": 1 << 30,
	}))
	session := fmt.Sprintf(`lower(hex(sipHash128(n))) AS sid,
    toDateTime64('%s', 6, 'UTC') + toIntervalMicrosecond(n * %d) AS s_start,
    toUInt64(60000 + (n %% 1800) * 1000) AS dur_ms,
    ['Chrome', 'Firefox', 'Safari', 'Edge'][cityHash64(n, 1) %% 4 + 1] AS browser,
    ['Windows', 'macOS', 'Linux', 'Android', 'iOS'][cityHash64(n, 2) %% 5 + 1] AS os,
    ['desktop', 'mobile', 'tablet'][cityHash64(n, 3) %% 3 + 1] AS device,
    ['FR', 'US', 'DE', 'GB', 'IT', 'JP'][cityHash64(n, 4) %% 6 + 1] AS country,
    concat('https://shop.example/p/', toString(n %% 1000)) AS url`, base.Format("2006-01-02 15:04:05"), spacingUs)
	stmts := []string{
		fmt.Sprintf(`INSERT INTO %s.session_summaries (session_id, part_id, start_time, end_time, active_ms, chunk_count, event_count, bytes, page_views,
    clicks, inputs, rage_clicks, errors, urls, entry, user_id, service_name, device, os, browser, country, user_agent, attributes)
SELECT sid, part + 1,
    toDateTime64(s_start + toIntervalMillisecond(part * intDiv(dur_ms, 2)), 3),
    toDateTime64(s_start + toIntervalMillisecond(if(part = 0, intDiv(dur_ms, 2), dur_ms)), 3),
    intDiv(dur_ms, 2), 1, %[2]d / 2, 20000, 1, n %% 7, n %% 3, 0, if(part = 1 AND n %% 10 = 0, 1, 0),
    [url], (toDateTime64(s_start, 3), url), concat('user-', toString(n %% 50000)), 'shop-web', device, os, browser, country,
    'Mozilla/5.0', map('plan', ['free', 'pro', 'team'][n %% 3 + 1])
FROM (SELECT intDiv(number, 2) AS n, number %% 2 AS part, %[3]s FROM numbers(%[4]d))`, db, perSession, session, 2*sessions),
		otellogs.DDL(db),
		fmt.Sprintf(`INSERT INTO %s.otel_logs (Timestamp, ServiceName, Body, ResourceAttributes, ScopeName, LogAttributes, SeverityText)
SELECT s_start + toIntervalMillisecond(intDiv(dur_ms * i, %[2]d - 1)), 'shop-web',
    '{"type":3,"data":{"source":1,"positions":[{"x":1,"y":1,"id":7,"timeOffset":0}]}}',
    res, 'rum.rr-web',
    map('rr-web.event', toString(i), 'rr-web.offset', '0', 'rr-web.chunk', '1', 'rr-web.total-chunks', '1'),
    'INFO'
FROM (
    SELECT s_start, dur_ms, map('service.name', 'shop-web', 'rum.sessionId', sid, 'browser.name', browser, 'os.name', os,
        'device.type', device, 'telemetry.sdk.name', 'hyperdx-browser') AS res
    FROM (SELECT number AS n, %[3]s FROM numbers(%[4]d))
)
ARRAY JOIN range(%[2]d) AS i`, db, perSession, session, sessions),
	}
	for i, s := range stmts {
		start := time.Now()
		if err := conn.Exec(ctx, s); err != nil {
			b.Fatalf("load: %v\n%s", err, s)
		}
		fmt.Printf("BenchmarkSessionList: load step %d: %s\n", i+1, time.Since(start).Round(time.Millisecond))
	}
}

// rawSessionList is the same page computed from raw events: group by the
// session id, with the same time-range prefilter. It only counts events and
// takes the time bounds (the summary also gives clicks, errors, URLs...), so
// it is a lower bound of what grouping raw events costs.
func rawSessionList(b *testing.B, conn driver.Conn, db string, from, to time.Time, limit int) []string {
	ctx := clickhouse.Context(context.Background(), clickhouse.WithParameters(clickhouse.Parameters{
		"from": strconv.FormatInt(from.UnixMilli(), 10), "to": strconv.FormatInt(to.UnixMilli(), 10),
		"browser": "Chrome", "os": "Windows",
	}))
	q := fmt.Sprintf(`SELECT sid FROM (
    SELECT ResourceAttributes['rum.sessionId'] AS sid, min(Timestamp) AS s, max(Timestamp) AS e, count() AS events
    FROM %s.otel_logs
    WHERE ServiceName = 'shop-web' AND ScopeName = 'rum.rr-web'
      AND TimestampTime >= toDateTime(fromUnixTimestamp64Milli({from:Int64}) - INTERVAL 4 HOUR)
      AND TimestampTime <= toDateTime(fromUnixTimestamp64Milli({to:Int64}) + INTERVAL 4 HOUR)
      AND ResourceAttributes['browser.name'] = {browser:String} AND ResourceAttributes['os.name'] = {os:String}
    GROUP BY sid
    HAVING s <= fromUnixTimestamp64Milli({to:Int64}) AND e >= fromUnixTimestamp64Milli({from:Int64})
    ORDER BY s DESC, sid DESC
    LIMIT %d
)`, db, limit)
	rows, err := conn.Query(ctx, q)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			b.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}
