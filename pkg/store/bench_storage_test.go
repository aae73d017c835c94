package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/fixtures"
	"github.com/seed/sessionreplay/pkg/otellogs"
	"github.com/seed/sessionreplay/pkg/store"
)

// storageRecordings are the real recordings of ../shared/fixtures/rrweb
// measured by BenchmarkStorage (the long, sparse smartx-2h one included).
var storageRecordings = []string{
	"smartx-2h.events.json", "smartx-90s.events.json", "byterat-css-inline.events.json", "commandbar-session.events.json",
	"rrweb-player-demo-demoit.events.json", "legacy-2018-checkout-demo.events.json", "steel-codesandbox.events.json",
}

type rrwebEvent = fixtures.Event

func loadEvents(tb testing.TB, name string) []rrwebEvent { return fixtures.Events(tb, name) }

// chunkEvents cuts events into chunks of `every`, as the recorder flushes them.
func chunkEvents(session string, events []rrwebEvent, every time.Duration, shift time.Duration) []store.Chunk {
	var chunks []store.Chunk
	for i := 0; i < len(events); {
		start := events[i].Timestamp
		j := i
		var data []json.RawMessage
		full := false
		for j < len(events) && events[j].Timestamp < start+every.Milliseconds() {
			data = append(data, events[j].Raw)
			full = full || events[j].Type == 2
			j++
		}
		body, _ := json.Marshal(data)
		chunks = append(chunks, store.Chunk{
			SessionID: session, WindowID: "w", Seq: uint64(len(chunks)),
			Start: time.UnixMilli(start).Add(shift).UTC(), End: time.UnixMilli(events[j-1].Timestamp).Add(shift).UTC(),
			EventCount: uint32(j - i), FullSnapshot: full, ServiceName: "shop-web", Data: body,
		})
		i = j
	}
	return chunks
}

// BenchmarkStorage reports bytes on disk per recorded minute of real
// recordings in our chunk table, next to the raw JSON and to one row per
// rrweb event in an otel_logs table (the HyperDX layout), same data, same run.
//
//	go test -bench BenchmarkStorage -run '^$' ./pkg/store/
func BenchmarkStorage(b *testing.B) {
	ctx := context.Background()
	conn, db := chembedtest.NewMigratedDatabase(b)
	if err := conn.Exec(ctx, otellogs.DDL(db)); err != nil {
		b.Fatal(err)
	}
	w := store.NewWriter(conn, db)
	// Timestamps are moved so each recording ends three hours ago: no TTL drops
	// the rows, and the retained table's recompression TTL (an hour) is due.
	var rawBytes int64
	var minutes float64
	for i, name := range storageRecordings {
		events := loadEvents(b, name)
		shift := time.Since(time.UnixMilli(events[len(events)-1].Timestamp)) - 3*time.Hour
		session := fmt.Sprintf("rec-%d", i)
		for _, e := range events {
			rawBytes += int64(len(e.Raw)) + 1
		}
		minutes += float64(events[len(events)-1].Timestamp-events[0].Timestamp) / 60000
		if err := w.WriteChunks(ctx, store.TableRetained, chunkEvents(session, events, 5*time.Second, shift)); err != nil {
			b.Fatal(err)
		}
		insertOtelLogs(b, conn, db, session, events, shift)
	}
	ours := tableBytes(b, conn, db, store.TableRetained)
	otel := tableBytes(b, conn, db, "otel_logs")
	b.ReportMetric(float64(ours)/minutes, "ours_B/min")
	b.ReportMetric(float64(rawBytes)/minutes, "rawjson_B/min")
	b.ReportMetric(float64(otel)/minutes, "otellogs_B/min")
	fmt.Printf("BenchmarkStorage: %d recordings, %.1f recorded minutes: ours %d B on disk (%.0f B/min), raw JSON %d B (%.0f B/min), otel_logs %d B (%.0f B/min)\n",
		len(storageRecordings), minutes, ours, float64(ours)/minutes, rawBytes, float64(rawBytes)/minutes, otel, float64(otel)/minutes)
	for i := 0; i < b.N; i++ {
		// The figures above are the result; there is nothing to repeat.
	}
}

func insertOtelLogs(b *testing.B, conn driver.Conn, db, session string, events []rrwebEvent, shift time.Duration) {
	b.Helper()
	rows := make([]otellogs.Event, len(events))
	for i, e := range events {
		rows[i] = otellogs.Event{Time: time.UnixMilli(e.Timestamp).Add(shift), JSON: e.Raw}
	}
	if err := otellogs.Insert(context.Background(), conn, db, "shop-web", session, rows); err != nil {
		b.Fatal(err)
	}
}

// tableBytes is the table's size on disk after merging its parts.
func tableBytes(b *testing.B, conn driver.Conn, db, table string) uint64 {
	b.Helper()
	ctx := context.Background()
	if table == store.TableRetained {
		// The retained table is recompressed by a TTL merge once its chunks are
		// an hour old (migration 3); the rows here are three hours old, so the
		// steady state is that merge done, which ClickHouse runs in the background.
		if err := conn.Exec(ctx, "ALTER TABLE "+db+"."+table+" MATERIALIZE TTL SETTINGS mutations_sync = 2"); err != nil {
			b.Fatal(err)
		}
	}
	if err := conn.Exec(ctx, "OPTIMIZE TABLE "+db+"."+table+" FINAL"); err != nil {
		b.Fatal(err)
	}
	var n uint64
	q := fmt.Sprintf("SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = '%s' AND table = '%s'", db, table)
	if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkReplaySeek opens a 30-minute session at minute 25: it reads from
// the nearest full snapshot (ReplayStart + StreamChunks) until the chunk that
// covers minute 25 arrived, next to loading the whole session, same run. The
// session is a real recording (smartx-90s) repeated 20 times, so a full
// snapshot comes every 90 s, as a recorder with checkoutEveryMs 90000 makes.
//
//	go test -bench BenchmarkReplaySeek -run '^$' ./pkg/store/
func BenchmarkReplaySeek(b *testing.B) {
	ctx := context.Background()
	conn, db := chembedtest.NewMigratedDatabase(b)
	one := loadEvents(b, "smartx-90s.events.json")
	span := one[len(one)-1].Timestamp - one[0].Timestamp + 1000
	var long []rrwebEvent
	for r := int64(0); r < 20; r++ {
		for _, e := range one {
			e.Timestamp += r * span
			raw := map[string]any{}
			_ = json.Unmarshal(e.Raw, &raw)
			raw["timestamp"] = e.Timestamp
			e.Raw, _ = json.Marshal(raw)
			long = append(long, e)
		}
	}
	shift := time.Since(time.UnixMilli(long[0].Timestamp)) - 2*time.Hour
	chunks := chunkEvents("long", long, 5*time.Second, shift)
	if err := store.NewWriter(conn, db).WriteChunks(ctx, store.TableRetained, chunks); err != nil {
		b.Fatal(err)
	}
	start := chunks[0].Start
	minutes := chunks[len(chunks)-1].End.Sub(start).Minutes()
	target := start.Add(25 * time.Minute)
	r := store.NewReader(conn, db)

	read := func(from time.Time, until time.Time) (bytes int, took time.Duration) {
		t0 := time.Now()
		since, err := r.ReplayStart(ctx, "long", from)
		if err != nil {
			b.Fatal(err)
		}
		errEnough := fmt.Errorf("enough")
		err = r.StreamChunks(ctx, "long", since, func(c *store.Chunk) error {
			bytes += len(c.Data)
			if !until.IsZero() && !c.End.Before(until) {
				return errEnough
			}
			return nil
		})
		if err != nil && err != errEnough {
			b.Fatal(err)
		}
		return bytes, time.Since(t0)
	}
	var seekMs, wholeMs []float64
	var seekBytes, wholeBytes int
	for i := 0; i < 5; i++ {
		var d time.Duration
		seekBytes, d = read(target, target)
		seekMs = append(seekMs, float64(d.Microseconds())/1000)
		wholeBytes, d = read(time.Time{}, time.Time{})
		wholeMs = append(wholeMs, float64(d.Microseconds())/1000)
	}
	b.ReportMetric(float64(seekBytes), "seek_bytes")
	b.ReportMetric(median(seekMs), "seek_ms")
	b.ReportMetric(float64(wholeBytes), "whole_bytes")
	b.ReportMetric(median(wholeMs), "whole_ms")
	fmt.Printf("BenchmarkReplaySeek: %.1f-minute session, %d chunks: seek to minute 25 reads %d bytes in %.1f ms; whole session %d bytes in %.1f ms (median of 5)\n",
		minutes, len(chunks), seekBytes, median(seekMs), wholeBytes, median(wholeMs))
	for i := 0; i < b.N; i++ {
	}
}
