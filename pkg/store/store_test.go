package store_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/fixtures"
	"github.com/seed/sessionreplay/pkg/store"
)

func TestMain(m *testing.M) { os.Exit(chembedtest.Main(m)) }

func migrated(t *testing.T) (driver.Conn, string) { return chembedtest.NewMigratedDatabase(t) }

func TestMigrateTwiceIsNoOp(t *testing.T) {
	ctx := context.Background()
	conn, db := chembedtest.NewDatabase(t)
	opts := store.DefaultSchemaOptions()
	opts.Database = db
	first, err := store.Migrate(ctx, conn, opts)
	if err != nil {
		t.Fatalf("first migrate: %v", err)
	}
	if len(first) == 0 || first[len(first)-1] != store.LatestSchemaVersion() {
		t.Fatalf("first run applied %v, want up to %d", first, store.LatestSchemaVersion())
	}
	tablesBefore := tableDDL(t, conn, db)
	second, err := store.Migrate(ctx, conn, opts)
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if len(second) != 0 {
		t.Fatalf("second run applied %v, want nothing", second)
	}
	if after := tableDDL(t, conn, db); !reflect.DeepEqual(tablesBefore, after) {
		t.Fatalf("tables changed on second run:\n%v\n%v", tablesBefore, after)
	}
	var recorded uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".schema_migrations FINAL").Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != uint64(len(first)) {
		t.Fatalf("schema_migrations has %d rows, want %d", recorded, len(first))
	}
}

func tableDDL(t *testing.T, conn driver.Conn, db string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ctx := clickhouse.Context(context.Background(), clickhouse.WithParameters(clickhouse.Parameters{"db": db}))
	rows, err := conn.Query(ctx, "SELECT name, create_table_query FROM system.tables WHERE database = {db:String}")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, ddl string
		if err := rows.Scan(&name, &ddl); err != nil {
			t.Fatal(err)
		}
		out[name] = ddl
	}
	return out
}

func TestEveryDataTableHasItsTTL(t *testing.T) {
	conn, db := migrated(t)
	ddl := tableDDL(t, conn, db)
	opts := store.DefaultSchemaOptions()
	want := map[string]int64{
		store.TableBuffer: int64(opts.BufferTTL / time.Second),
		// parts of split events wait a day for the others, whatever the TTLs
		store.TablePendingParts: int64(store.PendingPartsTTL / time.Second),
	}
	for _, table := range store.DataTables {
		q, ok := ddl[table]
		if !ok {
			t.Errorf("table %s missing", table)
			continue
		}
		if table == store.TableAssets {
			// an asset outlives the chunks that refer to it, buffered or retained
			life := fmt.Sprintf("if(retained, %d, %d)", int64(opts.RetentionTTL/time.Second), int64(opts.BufferTTL/time.Second))
			if !strings.Contains(q, life) || !strings.Contains(q, "TTL expires_at") {
				t.Errorf("table %s: lifetime %s not found in ClickHouse's DDL:\n%s", table, life, q)
			}
			continue
		}
		secs, ok := want[table]
		if !ok {
			secs = int64(opts.RetentionTTL / time.Second)
		}
		if !strings.Contains(q, fmt.Sprintf("TTL toDateTime(")) || !strings.Contains(q, fmt.Sprintf("toIntervalSecond(%d)", secs)) {
			t.Errorf("table %s: TTL of %ds not found in ClickHouse's DDL:\n%s", table, secs, q)
		}
	}
	if !strings.Contains(ddl[store.TableBuffer], "`data` String CODEC(ZSTD(9))") {
		t.Errorf("table %s: payload column is not ZSTD:\n%s", store.TableBuffer, ddl[store.TableBuffer])
	}
	// retained chunks are written cheaply and recompressed once they are old
	if q := ddl[store.TableRetained]; !strings.Contains(q, "`data` String CODEC(Default)") || !strings.Contains(q, "RECOMPRESS CODEC(ZSTD(19))") {
		t.Errorf("table %s: payload column is not recompressed with ZSTD:\n%s", store.TableRetained, q)
	}
}

func sampleChunk(session string, seq uint64, start time.Time, full bool) store.Chunk {
	data := fmt.Sprintf(`[{"type":%d,"data":{},"timestamp":%d}]`, map[bool]int{true: 2, false: 3}[full], start.UnixMilli())
	return store.Chunk{
		SessionID: session, WindowID: "w1", Seq: seq, Start: start, End: start.Add(5 * time.Second),
		EventCount: 1, FullSnapshot: full, ServiceName: "shop-web", Data: []byte(data),
	}
}

func TestChunksAndSummariesReadBackIdentical(t *testing.T) {
	ctx := context.Background()
	conn, db := migrated(t)
	w := store.NewWriter(conn, db)
	r := store.NewReader(conn, db)
	t0 := recent().Add(123 * time.Millisecond)
	fixture := fixtures.Read(t, "rrweb", "steel-codesandbox.events.json")
	chunks := []store.Chunk{sampleChunk("s1", 0, t0, true), sampleChunk("s1", 1, t0.Add(5*time.Second), false)}
	chunks[1].Data = fixture
	if err := w.WriteChunks(ctx, store.TableBuffer, chunks); err != nil {
		t.Fatal(err)
	}
	got, err := r.Chunks(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, chunks) {
		t.Fatalf("chunks differ:\n got %+v\nwant %+v", brief(got), brief(chunks))
	}

	rows := []store.SessionSummary{
		{SessionID: "s1", Start: t0, End: t0.Add(5 * time.Second), ActiveMs: 4000, Chunks: 1, Events: 10, Bytes: 100, PageViews: 1,
			Clicks: 2, Inputs: 1, URLs: []string{"https://shop.example/"}, EntryURL: "https://shop.example/", UserID: "u-1",
			ServiceName: "shop-web", Device: "desktop", OS: "Linux", Browser: "Chrome", Country: "FR", UserAgent: "Mozilla/5.0",
			Attributes: map[string]string{"plan": "pro"}},
		{SessionID: "s1", Start: t0.Add(5 * time.Second), End: t0.Add(20 * time.Second), ActiveMs: 3000, Chunks: 1, Events: 5, Bytes: 50,
			PageViews: 1, Clicks: 3, RageClicks: 1, Errors: 1, URLs: []string{"https://shop.example/pricing"},
			EntryURL: "https://shop.example/pricing", ServiceName: "shop-web", Device: "desktop", OS: "Linux", Browser: "Chrome",
			Country: "FR", UserAgent: "Mozilla/5.0", Attributes: map[string]string{"ab": "b"}},
		{SessionID: "s1", Start: t0.Add(7 * time.Second), End: t0.Add(7 * time.Second), Errors: 1},
	}
	if err := w.WriteSessions(ctx, rows); err != nil {
		t.Fatal(err)
	}
	s, ok, err := r.Session(ctx, "s1")
	if err != nil || !ok {
		t.Fatalf("session: ok=%v err=%v", ok, err)
	}
	want := store.SessionSummary{
		SessionID: "s1", Start: t0, End: t0.Add(20 * time.Second), ActiveMs: 7000, Chunks: 2, Events: 15, Bytes: 150, PageViews: 2,
		Clicks: 5, Inputs: 1, RageClicks: 1, Errors: 2, URLs: []string{"https://shop.example/", "https://shop.example/pricing"},
		EntryURL: "https://shop.example/", UserID: "u-1", ServiceName: "shop-web", Device: "desktop", OS: "Linux", Browser: "Chrome",
		Country: "FR", UserAgent: "Mozilla/5.0", Attributes: map[string]string{"plan": "pro", "ab": "b"},
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("summary:\n got %+v\nwant %+v", s, want)
	}
	if _, ok, _ := r.Session(ctx, "nope"); ok {
		t.Fatal("unknown session reported as found")
	}
}

func brief(cs []store.Chunk) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s/%s/%d %s..%s n=%d full=%v svc=%s %dB", c.SessionID, c.WindowID, c.Seq,
			c.Start.Format(time.RFC3339Nano), c.End.Format(time.RFC3339Nano), c.EventCount, c.FullSnapshot, c.ServiceName, len(c.Data)))
	}
	return out
}

func TestCopyToRetainedIsIdempotentAndReadsDeduplicate(t *testing.T) {
	ctx := context.Background()
	conn, db := migrated(t)
	w := store.NewWriter(conn, db)
	r := store.NewReader(conn, db)
	t0 := recent()
	var chunks []store.Chunk
	for i := 0; i < 5; i++ {
		chunks = append(chunks, sampleChunk("s2", uint64(i), t0.Add(time.Duration(i)*5*time.Second), i%2 == 0))
	}
	// A client retry writes the same chunk twice.
	if err := w.WriteChunks(ctx, store.TableBuffer, append(chunks, chunks[3])); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // two collectors deciding the same session
		if err := w.CopyToRetained(ctx, "s2"); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteChunks(ctx, store.TableRetained, []store.Chunk{sampleChunk("s2", 5, t0.Add(25*time.Second), false)}); err != nil {
		t.Fatal(err)
	}
	n, err := r.ChunkCount(ctx, store.TableRetained, "s2")
	if err != nil || n != 6 {
		t.Fatalf("retained chunks = %d (%v), want 6", n, err)
	}
	all, err := r.Chunks(ctx, "s2")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("read %d chunks, want 6 (each once): %v", len(all), brief(all))
	}
	for i, c := range all {
		if c.Seq != uint64(i) {
			t.Fatalf("chunk %d has seq %d: not in time order", i, c.Seq)
		}
	}

	// A replay wanting t0+17s starts at the full snapshot of seq 2 (t0+10s).
	start, err := r.ReplayStart(ctx, "s2", t0.Add(17*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !start.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("replay start = %v, want %v", start, t0.Add(10*time.Second))
	}
	var seqs []uint64
	if err := r.StreamChunks(ctx, "s2", start, func(c *store.Chunk) error { seqs = append(seqs, c.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seqs, []uint64{2, 3, 4, 5}) {
		t.Fatalf("streamed seqs %v, want [2 3 4 5]", seqs)
	}
}

func TestBatcherGroupsConcurrentWritesAndAcknowledgesAfterStoring(t *testing.T) {
	ctx := context.Background()
	conn, db := migrated(t)
	var flushes int
	var mu sync.Mutex
	b := store.NewBatcher(store.NewWriter(conn, db), store.BatcherConfig{MaxDelay: 50 * time.Millisecond, OnFlush: func(rows, bytes int, took time.Duration, err error) {
		mu.Lock()
		flushes++
		mu.Unlock()
		if err != nil {
			t.Errorf("flush: %v", err)
		}
	}})
	t0 := recent()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := sampleChunk(fmt.Sprintf("b%d", i), 0, t0, true)
			rows := &store.Batch{Buffered: []store.Chunk{c}, Decisions: []store.Decision{{SessionID: c.SessionID, Rule: "sample", TriggerTime: t0}}}
			if err := b.Add(ctx, rows, len(c.Data)); err != nil {
				t.Errorf("add: %v", err)
			}
		}(i)
	}
	wg.Wait()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".replay_chunks_buffer").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 20 {
		t.Fatalf("acknowledged 20, stored %d", n)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if flushes >= 20 {
		t.Fatalf("%d flushes for 20 concurrent adds: no grouping", flushes)
	}
	t.Logf("20 concurrent adds written in %d flushes", flushes)
	if err := b.Add(ctx, &store.Batch{}, 0); err != store.ErrClosed {
		t.Fatalf("add after close = %v, want ErrClosed", err)
	}
}

func TestClusterDDLRendersOnClusterReplicatedAndDistributed(t *testing.T) {
	opts := store.DefaultSchemaOptions()
	opts.Cluster = "replay"
	rendered, err := store.RenderMigrations(opts)
	if err != nil {
		t.Fatal(err)
	}
	var stmts []string
	for _, m := range rendered {
		stmts = append(stmts, m...)
	}
	all := strings.Join(stmts, "\n;\n")
	for _, table := range store.DataTables {
		if !strings.Contains(all, "CREATE TABLE IF NOT EXISTS sessionreplay."+table+"_local ON CLUSTER replay") {
			t.Errorf("%s_local ON CLUSTER missing", table)
		}
		if !strings.Contains(all, "ENGINE = Distributed(replay, sessionreplay, "+table+"_local, cityHash64(") {
			t.Errorf("Distributed %s missing", table)
		}
	}
	if strings.Contains(all, "= ReplacingMergeTree") || !strings.Contains(all, "ReplicatedReplacingMergeTree(ingested_at)") ||
		!strings.Contains(all, "ReplicatedAggregatingMergeTree()") {
		t.Errorf("engines not Replicated:\n%s", all)
	}
	if _, err := store.RenderMigrations(store.SchemaOptions{Database: "x; DROP TABLE y", BufferTTL: time.Hour, RetentionTTL: time.Hour}); err == nil {
		t.Error("a database name with SQL in it was accepted")
	}
}

// recent is a whole-second time of an hour ago: inside every TTL (rows that
// are already expired can be dropped as soon as they are written).
func recent() time.Time { return time.Now().Add(-time.Hour).Truncate(time.Second).UTC() }

// TestHostileSessionIDsReadBackLiterally: ids reach ClickHouse as bound
// parameters, escaped for its text format, so quotes, backslashes, tabs and
// SQL match themselves and nothing else.
func TestHostileSessionIDsReadBackLiterally(t *testing.T) {
	ctx := context.Background()
	conn, db := migrated(t)
	w := store.NewWriter(conn, db)
	r := store.NewReader(conn, db)
	t0 := recent()
	ids := []string{`a\b`, "tab\there", "line\nbreak", `'; DROP TABLE sessions; --`, `\' OR 1=1`, `{sid:String}`}
	for i, id := range ids {
		if err := w.WriteChunks(ctx, store.TableBuffer, []store.Chunk{sampleChunk(id, 0, t0.Add(time.Duration(i)*time.Second), true)}); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteSessions(ctx, []store.SessionSummary{{SessionID: id, Start: t0, End: t0, Clicks: uint64(i + 1)}}); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		got, err := r.Chunks(ctx, id)
		if err != nil || len(got) != 1 || got[0].SessionID != id {
			t.Errorf("chunks of %q: %d, %v", id, len(got), err)
		}
		s, ok, err := r.Session(ctx, id)
		if err != nil || !ok || s.SessionID != id || s.Clicks != uint64(i+1) {
			t.Errorf("session %q: ok=%v clicks=%d err=%v", id, ok, s.Clicks, err)
		}
		if err := w.CopyToRetained(ctx, id); err != nil {
			t.Fatal(err)
		}
		if n, err := r.ChunkCount(ctx, store.TableRetained, id); err != nil || n != 1 {
			t.Errorf("retained chunks of %q = %d, %v", id, n, err)
		}
	}
}
