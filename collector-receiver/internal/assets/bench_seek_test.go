package assets_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/seed/sessionreplay/collector-receiver/internal/assets"
	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/store"
)

// longSession is pkg/store's BenchmarkReplaySeek session: the real
// smartx-90s recording played 20 times, a full snapshot every 90 s, 30
// minutes.
func longSession(tb testing.TB, base time.Time) session {
	one := loadEvents(tb, "smartx-90s.events.json")
	span := one[len(one)-1].Timestamp - one[0].Timestamp + 1000
	shift := base.UnixMilli() - one[0].Timestamp
	var evs []event
	for r := int64(0); r < 20; r++ {
		for _, e := range one {
			evs = append(evs, at(tb, e, e.Timestamp+r*span+shift))
		}
	}
	return session{id: "long", site: "smartx", events: evs}
}

func medianMs(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// BenchmarkReplaySeekAssets opens the 30-minute session at minute 25 as the
// plugin does (ReplayStart, then StreamChunks until the chunk covering minute
// 25), with the chunks stored with their assets (the backend re-inlines
// them) and stored as before assets, side by side in one run. It reports the
// bytes the stream returns (the same: byte-equal events), the stored bytes
// behind them (chunk data plus the assets they refer to: the same too, as
// an asset leaves only its quotes behind), what ClickHouse itself reports
// reading for the seek's queries (compressed from disk, and uncompressed
// columns), and the time, median of 5; the whole session too. The bytes read are also what
// the other design, serving assets once each and re-inlining in the panel,
// would move on a first open: the seek starts at a full snapshot, which
// refers to each stylesheet once.
//
//	go test -bench BenchmarkReplaySeekAssets -run '^$' -benchtime 1x ./collector-receiver/internal/assets/
func BenchmarkReplaySeekAssets(b *testing.B) {
	ctx := context.Background()
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
	s := longSession(b, base)
	for _, layout := range []string{"assets", "before"} {
		b.Run(layout, func(b *testing.B) {
			conn, db := chembedtest.NewMigratedDatabase(b)
			chunks := s.chunks()
			if layout == "assets" {
				for i := range chunks {
					if err := (assets.Extractor{}).Apply(&chunks[i]); err != nil {
						b.Fatal(err)
					}
				}
			} else if err := conn.Exec(ctx, "ALTER TABLE "+db+".replay_chunks MODIFY COLUMN data String CODEC(ZSTD(3))"); err != nil {
				b.Fatal(err)
			}
			if err := store.NewWriter(conn, db).WriteChunks(ctx, store.TableRetained, chunks); err != nil {
				b.Fatal(err)
			}
			// measure the steady state: the session is two hours old, so its
			// parts are due for the retained table's recompression; run it
			// now rather than have it compete with the reads
			partsBytes(b, conn, db, store.TableRetained, store.TableAssets)
			start := chunks[0].Start
			target := start.Add(25 * time.Minute)
			r := store.NewReader(conn, db)
			errEnough := errors.New("enough")
			read := func(ctx context.Context, from, until time.Time) (returned int, since time.Time, last time.Time, took time.Duration) {
				t0 := time.Now()
				since, err := r.ReplayStart(ctx, "long", from)
				if err != nil {
					b.Fatal(err)
				}
				err = r.StreamChunks(ctx, "long", since, func(c *store.Chunk) error {
					returned += len(c.Data)
					last = c.Start
					if !until.IsZero() && !c.End.Before(until) {
						return errEnough
					}
					return nil
				})
				if err != nil && !errors.Is(err, errEnough) {
					b.Fatal(err)
				}
				return returned, since, last, time.Since(t0)
			}
			var seekMs, wholeMs []float64
			var seekBytes, wholeBytes int
			var since, last time.Time
			var counted readCounter
			seekCtx := counted.context(ctx)
			for i := 0; i < 5; i++ {
				var d time.Duration
				seekBytes, since, last, d = read(seekCtx, target, target)
				seekMs = append(seekMs, float64(d.Microseconds())/1000)
				wholeBytes, _, _, d = read(ctx, time.Time{}, time.Time{})
				wholeMs = append(wholeMs, float64(d.Microseconds())/1000)
			}
			stored := storedBytes(b, conn, db, since, last)
			disk, rows := counted.disk, counted.read
			b.ReportMetric(float64(seekBytes), "seek_bytes")
			b.ReportMetric(float64(stored), "seek_stored_bytes")
			b.ReportMetric(float64(disk)/5, "seek_disk_bytes")
			b.ReportMetric(medianMs(seekMs), "seek_ms")
			b.ReportMetric(float64(wholeBytes), "whole_bytes")
			b.ReportMetric(medianMs(wholeMs), "whole_ms")
			fmt.Printf("BenchmarkReplaySeekAssets/%s: %d chunks: seek to minute 25 returns %d bytes (their stored data and assets: %d; ClickHouse read %d B from disk, %d B uncompressed, per seek) in %.1f ms; whole session %d bytes in %.1f ms (median of 5)\n",
				layout, len(chunks), seekBytes, stored, disk/5, rows/5, medianMs(seekMs), wholeBytes, medianMs(wholeMs))
			for i := 0; i < b.N; i++ {
			}
		})
	}
}

// readCounter adds up what ClickHouse reports reading for the queries of a
// context (the native protocol's progress and profile events): compressed
// bytes from disk, and bytes of the columns read (uncompressed, every column
// the queries touch, the key's too).
type readCounter struct {
	mu         sync.Mutex
	disk, read uint64
}

func (c *readCounter) context(ctx context.Context) context.Context {
	return clickhouse.Context(ctx,
		clickhouse.WithProgress(func(p *clickhouse.Progress) {
			c.mu.Lock()
			c.read += p.Bytes
			c.mu.Unlock()
		}),
		clickhouse.WithProfileEvents(func(evs []clickhouse.ProfileEvent) {
			c.mu.Lock()
			for _, e := range evs {
				if e.Name == "ReadCompressedBytes" && e.Type == "increment" {
					c.disk += uint64(e.Value)
				}
			}
			c.mu.Unlock()
		}))
}

// storedBytes is what the chunks starting in [since, last] hold in the chunk
// table, plus the distinct assets they refer to.
func storedBytes(b *testing.B, conn driver.Conn, db string, since, last time.Time) uint64 {
	ctx := clickhouse.Context(context.Background(), clickhouse.WithParameters(clickhouse.Parameters{
		"from": fmt.Sprint(since.UnixMilli()), "to": fmt.Sprint(last.UnixMilli())}))
	q := fmt.Sprintf(`WITH c AS (SELECT data, asset_hashes FROM %[1]s.replay_chunks FINAL WHERE session_id = 'long'
    AND start_time BETWEEN fromUnixTimestamp64Milli({from:Int64}) AND fromUnixTimestamp64Milli({to:Int64}))
SELECT (SELECT sum(length(data)) FROM c) + (SELECT ifNull(sum(length(value)), 0) FROM (SELECT any(value) AS value FROM %[1]s.replay_assets
    WHERE hash IN (SELECT arrayJoin(asset_hashes) FROM c) GROUP BY hash))`, db)
	var n uint64
	if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}
