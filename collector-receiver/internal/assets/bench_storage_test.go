package assets_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/seed/sessionreplay/collector-receiver/internal/assets"
	"github.com/seed/sessionreplay/collector-receiver/internal/jsontape"
	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/fixtures"
	"github.com/seed/sessionreplay/pkg/otellogs"
	"github.com/seed/sessionreplay/pkg/store"
)

type event = fixtures.Event

func loadEvents(tb testing.TB, name string) []event { return fixtures.Events(tb, name) }

// at is e moved to time ms: its top-level timestamp rewritten in place, every
// other byte as recorded (re-encoding would escape HTML and reorder keys).
func at(tb testing.TB, e event, ms int64) event {
	var tp jsontape.Tape
	if err := tp.Parse(e.Raw); err != nil {
		tb.Fatal(err)
	}
	ts := tp.Member(0, "timestamp")
	if ts < 0 {
		tb.Fatal("event without timestamp")
	}
	tok := tp.Tokens[ts]
	raw := make([]byte, 0, len(e.Raw)+8)
	raw = append(raw, e.Raw[:tok.Start]...)
	raw = strconv.AppendInt(raw, ms, 10)
	raw = append(raw, e.Raw[tok.End:]...)
	return event{Type: e.Type, Timestamp: ms, Raw: raw}
}

// pageLoad is a real recording of the site split into what a page load
// starts with (meta and full snapshot: the layout and stylesheets) and what
// follows (the interactions).
type pageLoad struct {
	start []event
	rest  []event
}

func splitPageLoad(tb testing.TB, name string) pageLoad {
	ev := loadEvents(tb, name)
	for i, e := range ev {
		if e.Type == 2 {
			head := []event{e}
			if i > 0 && ev[i-1].Type == 4 {
				head = []event{ev[i-1], e}
			}
			var rest []event
			for _, r := range ev[i+1:] {
				if r.Type == 3 {
					rest = append(rest, r)
				}
			}
			return pageLoad{start: head, rest: rest}
		}
	}
	tb.Fatalf("%s: no full snapshot", name)
	return pageLoad{}
}

type session struct {
	id     string
	site   string
	events []event
}

// siteCorpus builds n sessions of one site (smartx) from its two real
// recordings: each session has 2 to 5 page loads, each page load the
// recording's own meta and full snapshot (same layout and stylesheets in
// every session) and then a different stretch of that recording's
// interactions (random start and length, kept in their recorded rhythm).
// Deterministic (seeded).
func siteCorpus(tb testing.TB, n int, base time.Time) []session {
	loads := []pageLoad{splitPageLoad(tb, "smartx-90s.events.json"), splitPageLoad(tb, "smartx-2h.events.json")}
	rng := rand.New(rand.NewPCG(16, 1))
	out := make([]session, n)
	for s := range out {
		t := base.Add(time.Duration(s) * time.Minute).UnixMilli()
		var evs []event
		for p, pages := 0, 2+rng.IntN(4); p < pages; p++ {
			pl := loads[rng.IntN(len(loads))]
			for _, e := range pl.start {
				evs = append(evs, at(tb, e, t))
				t += 10
			}
			length := 20 + rng.IntN(len(pl.rest)-20)
			from := rng.IntN(len(pl.rest) - length + 1)
			prev := pl.rest[from].Timestamp
			for _, e := range pl.rest[from : from+length] {
				// idle gaps over a minute shortened, as the session goes on
				t += min(e.Timestamp-prev, 60_000)
				prev = e.Timestamp
				evs = append(evs, at(tb, e, t))
			}
			t += 1000
		}
		out[s] = session{id: fmt.Sprintf("site-%03d", s), site: "smartx", events: evs}
	}
	return out
}

// singleSessions are the real recordings BenchmarkStorage of pkg/store
// measures, each its own site (no stylesheet shared between them).
func singleSessions(tb testing.TB, base time.Time) []session {
	var out []session
	for i, name := range []string{
		"smartx-2h.events.json", "smartx-90s.events.json", "byterat-css-inline.events.json", "commandbar-session.events.json",
		"rrweb-player-demo-demoit.events.json", "legacy-2018-checkout-demo.events.json", "steel-codesandbox.events.json",
	} {
		ev := loadEvents(tb, name)
		shift := base.UnixMilli() - ev[0].Timestamp
		for j := range ev {
			ev[j] = at(tb, ev[j], ev[j].Timestamp+shift)
		}
		out = append(out, session{id: fmt.Sprintf("rec-%d", i), site: strings.TrimSuffix(name, ".events.json"), events: ev})
	}
	return out
}

// chunks cuts a session into 5-second chunks, as the recorder flushes them.
func (s session) chunks() []store.Chunk {
	var out []store.Chunk
	for i := 0; i < len(s.events); {
		start := s.events[i].Timestamp
		j := i
		var data [][]byte
		full := false
		for j < len(s.events) && s.events[j].Timestamp < start+5000 {
			data = append(data, s.events[j].Raw)
			full = full || s.events[j].Type == 2
			j++
		}
		body := rrweb.Join(data) // the events' bytes as recorded
		out = append(out, store.Chunk{SessionID: s.id, WindowID: "w", Seq: uint64(len(out)),
			Start: time.UnixMilli(start).UTC(), End: time.UnixMilli(s.events[j-1].Timestamp).UTC(),
			EventCount: uint32(j - i), FullSnapshot: full, ServiceName: s.site, Data: body})
		i = j
	}
	return out
}

func (s session) minutes() float64 {
	return float64(s.events[len(s.events)-1].Timestamp-s.events[0].Timestamp) / 60000
}

// partsBytes is the size on disk of tables after merging their parts.
func partsBytes(tb testing.TB, conn driver.Conn, db string, tables ...string) uint64 {
	tb.Helper()
	ctx := context.Background()
	var total uint64
	for _, table := range tables {
		// the merges ClickHouse runs in the background, TTL ones included
		// (the retained table's recompression of chunks over an hour old)
		qs := []string{"OPTIMIZE TABLE %s.%s FINAL"}
		if table != "otel_logs" { // which has no TTL
			qs = append([]string{"ALTER TABLE %s.%s MATERIALIZE TTL SETTINGS mutations_sync = 2"}, qs...)
		}
		for _, q := range qs {
			if err := conn.Exec(ctx, fmt.Sprintf(q, db, table)); err != nil {
				tb.Fatal(err)
			}
		}
		var n uint64
		q := fmt.Sprintf("SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = '%s' AND table = '%s'", db, table)
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			tb.Fatal(err)
		}
		total += n
	}
	return total
}

type storageFigures struct {
	sessions, pageLoads, events int
	minutes                     float64
	raw, today, ours, assets    uint64
	otel                        uint64
}

// measureStorage writes the sessions three ways, side by side: our chunk
// table with assets (and the asset table), our chunk table as it was before
// assets (ZSTD(3), values inline), and one row per event in otel_logs; raw
// JSON is the events' bytes.
func measureStorage(b *testing.B, sessions []session) storageFigures {
	ctx := context.Background()
	conn, db := chembedtest.NewMigratedDatabase(b)
	if err := conn.Exec(ctx, otellogs.DDL(db)); err != nil {
		b.Fatal(err)
	}
	todayConn, todayDB := chembedtest.NewMigratedDatabase(b)
	// the chunk table as migration 1 made it
	for _, q := range []string{
		"ALTER TABLE %s.replay_chunks MODIFY COLUMN data String CODEC(ZSTD(3))",
		"ALTER TABLE %s.replay_chunks MODIFY SETTING min_compress_block_size = 65536, max_compress_block_size = 1048576",
		"ALTER TABLE %s.replay_chunks MODIFY TTL toDateTime(start_time) + INTERVAL 2592000 SECOND",
	} {
		if err := todayConn.Exec(ctx, fmt.Sprintf(q, todayDB)); err != nil {
			b.Fatal(err)
		}
	}
	ours, today := store.NewWriter(conn, db), store.NewWriter(todayConn, todayDB)
	var f storageFigures
	for _, s := range sessions {
		f.sessions++
		f.minutes += s.minutes()
		rows := make([]otellogs.Event, len(s.events))
		for i, e := range s.events {
			f.raw += uint64(len(e.Raw)) + 1
			if e.Type == 2 {
				f.pageLoads++
			}
			rows[i] = otellogs.Event{Time: time.UnixMilli(e.Timestamp), JSON: e.Raw}
		}
		f.events += len(s.events)
		chunks := s.chunks()
		if err := today.WriteChunks(ctx, store.TableRetained, chunks); err != nil {
			b.Fatal(err)
		}
		for i := range chunks {
			if err := (assets.Extractor{}).Apply(&chunks[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := ours.WriteChunks(ctx, store.TableRetained, chunks); err != nil {
			b.Fatal(err)
		}
		if err := otellogs.Insert(ctx, conn, db, s.site, s.id, rows); err != nil {
			b.Fatal(err)
		}
	}
	f.assets = partsBytes(b, conn, db, store.TableAssets)
	f.ours = partsBytes(b, conn, db, store.TableRetained) + f.assets
	f.today = partsBytes(b, todayConn, todayDB, store.TableRetained)
	f.otel = partsBytes(b, conn, db, "otel_logs")
	return f
}

func (f storageFigures) report(b *testing.B, name string) {
	b.ReportMetric(float64(f.ours), "ours_B")
	b.ReportMetric(float64(f.assets), "assets_B")
	b.ReportMetric(float64(f.today), "before_assets_B")
	b.ReportMetric(float64(f.otel), "otellogs_B")
	b.ReportMetric(float64(f.raw), "rawjson_B")
	b.ReportMetric(float64(f.ours)/f.minutes, "ours_B/min")
	b.ReportMetric(float64(f.ours)/float64(f.otel), "ours/otellogs")
	b.ReportMetric(float64(f.raw)/float64(f.ours), "rawjson/ours")
	fmt.Printf("BenchmarkSiteStorage/%s: %d sessions, %d page loads, %d events, %.1f recorded minutes: ours %d B on disk (chunks %d + assets %d; %.0f B/min), before assets %d B, otel_logs %d B, raw JSON %d B: %.2f of otel_logs, %.1fx smaller than raw JSON (before assets: %.2f, %.1fx)\n",
		name, f.sessions, f.pageLoads, f.events, f.minutes, f.ours, f.ours-f.assets, f.assets, float64(f.ours)/f.minutes, f.today, f.otel, f.raw,
		float64(f.ours)/float64(f.otel), float64(f.raw)/float64(f.ours), float64(f.today)/float64(f.otel), float64(f.raw)/float64(f.today))
}

// BenchmarkSiteStorage reports bytes on disk after merges of the same
// sessions in our tables (chunks with their large values stored once per site
// in replay_assets), in our chunk table as it was before assets, one row per
// rrweb event in otel_logs (the HyperDX layout), and as raw JSON, side by
// side in one run:
//
//   - sessions=100: 100 sessions of one site (siteCorpus, built from the two
//     real smartx recordings), the goal at most 1/3 of otel_logs;
//
//   - single: the 7 real recordings, each its own site, goal at least 12x
//     smaller than raw JSON.
//
//     go test -bench BenchmarkSiteStorage -run '^$' -benchtime 1x ./collector-receiver/internal/assets/
func BenchmarkSiteStorage(b *testing.B) {
	// six hours ago: every chunk is past the retained table's recompression
	// (an hour) and far from any TTL
	base := time.Now().Add(-6 * time.Hour).Truncate(time.Millisecond)
	b.Run("sessions=100", func(b *testing.B) {
		f := measureStorage(b, siteCorpus(b, 100, base))
		f.report(b, "sessions=100")
		for i := 0; i < b.N; i++ {
			// the figures above are the result; there is nothing to repeat
		}
	})
	b.Run("single", func(b *testing.B) {
		f := measureStorage(b, singleSessions(b, base))
		f.report(b, "single")
		for i := 0; i < b.N; i++ {
		}
	})
}
