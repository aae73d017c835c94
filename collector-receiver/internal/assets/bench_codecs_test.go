package assets_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed/sessionreplay/collector-receiver/internal/assets"
	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/store"
)

// codecVariant is a codec of the large column of a table, with the size of
// the compressed blocks ClickHouse writes (0: its defaults, 64 KiB to 1 MiB).
type codecVariant struct {
	codec string
	block int
}

func (v codecVariant) String() string {
	name := strings.NewReplacer("(", "", ")", "", ",", "_").Replace(strings.ToLower(v.codec))
	if v.block == 0 {
		return name + "_blockdefault"
	}
	return fmt.Sprintf("%s_block%dKiB", name, v.block>>10)
}

var codecVariants = []codecVariant{
	{"ZSTD(1)", 0}, {"ZSTD(3)", 0}, {"ZSTD(6)", 0}, {"ZSTD(9)", 0}, {"ZSTD(15)", 0}, {"ZSTD(19)", 0}, {"ZSTD(22)", 0},
	{"ZSTD(3)", 4 << 20}, {"ZSTD(9)", 4 << 20}, {"ZSTD(19)", 4 << 20},
}

// BenchmarkAssetCodecs is the measurement the codecs of migration 3
// (pkg/store/schema.go) were chosen by: the chunk table's data column and the
// asset table's value column, each rewritten under every codec and block
// size of codecVariants (a copy of the table, merged), on the 100-session
// corpus of one site and on the 7 real recordings. It reports bytes on disk
// of each copy, and the time ClickHouse took to write it (the insert cost of
// that codec).
//
//	go test -bench BenchmarkAssetCodecs -run '^$' -benchtime 1x ./collector-receiver/internal/assets/
func BenchmarkAssetCodecs(b *testing.B) {
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Millisecond)
	for _, corpus := range []struct {
		name     string
		sessions func() []session
	}{
		{"sessions=100", func() []session { return siteCorpus(b, 100, base) }},
		{"single", func() []session { return singleSessions(b, base) }},
	} {
		b.Run(corpus.name, func(b *testing.B) {
			ctx := context.Background()
			conn, db := chembedtest.NewMigratedDatabase(b)
			w := store.NewWriter(conn, db)
			for _, s := range corpus.sessions() {
				chunks := s.chunks()
				for i := range chunks {
					if err := (assets.Extractor{}).Apply(&chunks[i]); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.WriteChunks(ctx, store.TableRetained, chunks); err != nil {
					b.Fatal(err)
				}
			}
			for _, t := range []struct{ table, column string }{{store.TableRetained, "data"}, {store.TableAssets, "value"}} {
				for i, v := range codecVariants {
					cp := fmt.Sprintf("%s_v%d", t.table, i)
					stmts := []string{
						fmt.Sprintf("CREATE TABLE %[1]s.%[2]s AS %[1]s.%[3]s", db, cp, t.table),
						fmt.Sprintf("ALTER TABLE %s.%s MODIFY COLUMN %s String CODEC(%s)", db, cp, t.column, v.codec),
					}
					if v.block > 0 {
						stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s.%s MODIFY SETTING min_compress_block_size = %d, max_compress_block_size = %d", db, cp, v.block, v.block))
					}
					for _, q := range stmts {
						if err := conn.Exec(ctx, q); err != nil {
							b.Fatal(err)
						}
					}
					t0 := time.Now()
					if err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO %[1]s.%[2]s SELECT * FROM %[1]s.%[3]s", db, cp, t.table)); err != nil {
						b.Fatal(err)
					}
					took := time.Since(t0)
					n := partsBytes(b, conn, db, cp)
					b.ReportMetric(float64(n), t.column+"_"+v.String()+"_B")
					fmt.Printf("BenchmarkAssetCodecs/%s: %s.%s %s: %d B on disk, written in %.0f ms\n", corpus.name, t.table, t.column, v, n, float64(took.Microseconds())/1000)
				}
			}
			for i := 0; i < b.N; i++ {
			}
		})
	}
}

// BenchmarkAssetMinBytes is the measurement DefaultMinBytes was chosen by:
// bytes on disk (chunks and assets, merged) of the 100-session corpus and of
// the 7 real recordings, for several size bounds of an extracted value.
//
//	go test -bench BenchmarkAssetMinBytes -run '^$' -benchtime 1x ./collector-receiver/internal/assets/
func BenchmarkAssetMinBytes(b *testing.B) {
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Millisecond)
	for _, corpus := range []struct {
		name     string
		sessions []session
	}{{"sessions=100", siteCorpus(b, 100, base)}, {"single", singleSessions(b, base)}} {
		for _, min := range []int{256, 1024, 4096, 16384, 1 << 30} {
			b.Run(fmt.Sprintf("%s/min=%d", corpus.name, min), func(b *testing.B) {
				ctx := context.Background()
				conn, db := chembedtest.NewMigratedDatabase(b)
				w := store.NewWriter(conn, db)
				for _, s := range corpus.sessions {
					chunks := s.chunks()
					for i := range chunks {
						if err := (assets.Extractor{MinBytes: min}).Apply(&chunks[i]); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.WriteChunks(ctx, store.TableRetained, chunks); err != nil {
						b.Fatal(err)
					}
				}
				chunks, as := partsBytes(b, conn, db, store.TableRetained), partsBytes(b, conn, db, store.TableAssets)
				b.ReportMetric(float64(chunks+as), "ours_B")
				fmt.Printf("BenchmarkAssetMinBytes/%s/min=%d: %d B on disk (chunks %d, assets %d)\n", corpus.name, min, chunks+as, chunks, as)
				for i := 0; i < b.N; i++ {
				}
			})
		}
	}
}
