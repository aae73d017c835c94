package assets_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/seed/sessionreplay/collector-receiver/internal/assets"
	"github.com/seed/sessionreplay/pkg/assetref"
	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/fixtures"
	"github.com/seed/sessionreplay/pkg/store"
)

func TestMain(m *testing.M) { os.Exit(chembedtest.Main(m)) }

// sessionChunk is one chunk of a real recording (smartx-90s: its full
// snapshot carries the site's stylesheets) with a value only this session
// has appended (a custom event with a large payload), as stored after
// extraction.
func sessionChunk(t *testing.T, session string, start time.Time, unique string) (store.Chunk, []byte) {
	t.Helper()
	rec := bytes.TrimSpace(fixtures.Read(t, "rrweb", "smartx-90s.events.json"))
	data := append([]byte(nil), rec[:len(rec)-1]...)
	data = fmt.Appendf(data, `,{"type":5,"data":{"tag":"note","payload":%q},"timestamp":%d}]`, unique, start.UnixMilli())
	c := store.Chunk{SessionID: session, WindowID: "w", Seq: 0, Start: start, End: start.Add(90 * time.Second),
		EventCount: 948, FullSnapshot: true, ServiceName: "shop-web", Data: data}
	if err := (assets.Extractor{}).Apply(&c); err != nil {
		t.Fatal(err)
	}
	return c, data
}

func uniqueValue(session string) string { return strings.Repeat("only in "+session+"; ", 200) }

func siteHasAsset(t *testing.T, conn driver.Conn, db string, value string) bool {
	t.Helper()
	q := fmt.Appendf(nil, "%q", value)
	h := assetref.Of(q[1 : len(q)-1]) // the token between its quotes
	var n uint64
	ctx := clickhouse.Context(context.Background(), clickhouse.WithParameters(clickhouse.Parameters{"h": h.String()}))
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".replay_assets WHERE site = 'shop-web' AND hex(hash) = upper({h:String})").Scan(&n); err != nil {

		t.Fatal(err)
	}
	return n > 0
}

// TestExpiredSessionTakesItsOwnAssetsAndLeavesSharedOnes expires a buffered
// session's chunks by their TTL and shows that its unique asset goes with
// them while the stylesheets another session still uses stay, and that a
// session copied to the retained table keeps its assets for the retained
// TTL. No chunk left refers to a missing asset, and both surviving sessions
// replay byte-equal to what was recorded.
func TestExpiredSessionTakesItsOwnAssetsAndLeavesSharedOnes(t *testing.T) {
	ctx := context.Background()
	conn, db := chembedtest.NewMigratedDatabase(t)
	w, r := store.NewWriter(conn, db), store.NewReader(conn, db)
	// default TTLs: a day of buffer, 30 days retained; five days ago is past
	// the buffer TTL and past the two days an asset outlives its chunks
	old := time.Now().Add(-5 * 24 * time.Hour).UTC().Truncate(time.Millisecond)
	now := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)

	expired, _ := sessionChunk(t, "expired", old, uniqueValue("expired"))
	kept, keptRaw := sessionChunk(t, "kept", old, uniqueValue("kept"))
	live, liveRaw := sessionChunk(t, "live", now, uniqueValue("live"))
	if len(expired.Assets) < 2 || expired.Refs[0].Hash != live.Refs[0].Hash {
		t.Fatalf("the sessions do not share their stylesheets: %d assets", len(expired.Assets))
	}
	// rows written already expired would race a TTL merge ClickHouse may
	// start at once: hold TTL merges until the test runs them
	tables := []string{store.TableBuffer, store.TableRetained, store.TableAssets}
	for _, table := range tables {
		if err := conn.Exec(ctx, fmt.Sprintf("SYSTEM STOP TTL MERGES %s.%s", db, table)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteChunks(ctx, store.TableBuffer, []store.Chunk{expired, kept, live}); err != nil {
		t.Fatal(err)
	}
	// "kept" is retained before its buffered chunks expire
	if err := w.CopyToRetained(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.ChunkCount(ctx, store.TableBuffer, "expired"); n != 1 {
		t.Fatalf("the expired session has %d buffered chunks before the TTL ran", n)
	}
	for _, s := range []string{"expired", "kept", "live"} {
		if !siteHasAsset(t, conn, db, uniqueValue(s)) {
			t.Fatalf("asset of %s not stored", s)
		}
	}

	// the TTL merges ClickHouse runs on its own, now
	for _, table := range tables {
		for _, q := range []string{"SYSTEM START TTL MERGES %s.%s", "ALTER TABLE %s.%s MATERIALIZE TTL SETTINGS mutations_sync = 2", "OPTIMIZE TABLE %s.%s FINAL"} {
			if err := conn.Exec(ctx, fmt.Sprintf(q, db, table)); err != nil {
				t.Fatal(err)
			}
		}
	}

	if n, _ := r.ChunkCount(ctx, store.TableBuffer, "expired"); n != 0 {
		t.Fatalf("the expired session still has %d buffered chunks", n)
	}
	if siteHasAsset(t, conn, db, uniqueValue("expired")) {
		t.Error("the expired session's own asset outlived every chunk that referred to it")
	}
	if !siteHasAsset(t, conn, db, uniqueValue("live")) || !siteHasAsset(t, conn, db, uniqueValue("kept")) {
		t.Error("an asset of a live or retained session was deleted")
	}
	var dangling uint64
	q := fmt.Sprintf(`SELECT count() FROM (
    SELECT service_name AS site, arrayJoin(asset_hashes) AS hash FROM %[1]s.replay_chunks_buffer
    UNION ALL SELECT service_name, arrayJoin(asset_hashes) FROM %[1]s.replay_chunks)
WHERE (site, hash) NOT IN (SELECT site, hash FROM %[1]s.replay_assets)`, db)
	if err := conn.QueryRow(ctx, q).Scan(&dangling); err != nil {
		t.Fatal(err)
	}
	if dangling != 0 {
		t.Errorf("%d references to deleted assets", dangling)
	}
	var all uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".replay_assets").Scan(&all); err != nil {
		t.Fatal(err)
	}
	t.Logf("asset rows left after the TTL: %d (live and retained sessions, shared stylesheets once per lifetime)", all)

	for session, want := range map[string][]byte{"kept": keptRaw, "live": liveRaw} {
		chunks, err := r.Chunks(ctx, session)
		if err != nil {
			t.Fatalf("%s: %v", session, err)
		}
		if len(chunks) != 1 || !bytes.Equal(chunks[0].Data, want) {
			t.Errorf("%s: replay is not byte-equal to the recording (%d chunks)", session, len(chunks))
		}
	}
}
