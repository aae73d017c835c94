package store_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/seed/sessionreplay/pkg/chembed"
	"github.com/seed/sessionreplay/pkg/store"
)

// TestShardedClusterWithoutKeeper runs two real ClickHouse servers as the two
// shards of a cluster: the schema goes to each shard, inserts through the
// Distributed tables spread over both, and reads gather from both.
func TestShardedClusterWithoutKeeper(t *testing.T) {
	ctx := context.Background()
	ports := make([][2]int, 2)
	for i := range ports {
		ports[i] = [2]int{freePort(t), freePort(t)}
	}
	config := filepath.Join(t.TempDir(), "cluster.xml")
	xml := "<clickhouse><remote_servers><replay>"
	for _, p := range ports {
		xml += fmt.Sprintf("<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>", p[0])
	}
	xml += "</replay></remote_servers></clickhouse>"
	if err := os.WriteFile(config, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}

	var conns []driver.Conn
	for i, p := range ports {
		srv, err := chembed.Start(ctx, chembed.Config{DataDir: t.TempDir(), TCPPort: p[0], HTTPPort: p[1], ConfigFile: config})
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		t.Cleanup(func() { _ = srv.Stop() })
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.TCPAddr()}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conns = append(conns, conn)
	}

	opts := store.DefaultSchemaOptions()
	opts.Cluster = "replay"
	if err := store.MigrateShards(ctx, conns, opts); err != nil {
		t.Fatalf("migrate shards: %v", err)
	}
	if err := store.MigrateShards(ctx, conns, opts); err != nil {
		t.Fatalf("migrate shards again: %v", err)
	}

	w := store.NewWriter(conns[0], opts.Database)
	t0 := recent()
	var chunks []store.Chunk
	for i := 0; i < 40; i++ {
		chunks = append(chunks, sampleChunk(fmt.Sprintf("s%02d", i), 0, t0, true))
	}
	// Synchronous distributed inserts: the rows are on their shards on return.
	syncCtx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"distributed_foreground_insert": 1}))
	if err := w.WriteChunks(syncCtx, store.TableBuffer, chunks); err != nil {
		t.Fatal(err)
	}
	for i, conn := range conns {
		var local, all uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM sessionreplay.replay_chunks_buffer_local").Scan(&local); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT count() FROM sessionreplay.replay_chunks_buffer").Scan(&all); err != nil {
			t.Fatal(err)
		}
		t.Logf("shard %d holds %d of %d chunks", i, local, all)
		if local == 0 || local == 40 {
			t.Errorf("shard %d holds %d chunks: not spread over the shards", i, local)
		}
		if all != 40 {
			t.Errorf("shard %d sees %d chunks through the Distributed table, want 40", i, all)
		}
	}
	got, err := store.NewReader(conns[1], opts.Database).Chunks(ctx, "s07")
	if err != nil || len(got) != 1 {
		t.Fatalf("read one session through the other shard: %d chunks, %v", len(got), err)
	}
	readsAcrossTables(t, syncCtx, conns, opts.Database, t0)

	// The parts of a split rr-web event, written through one shard and read
	// right after through the other (two receivers behind a balancer): the
	// pending-parts insert is synchronous without the DSN asking for it.
	for i := 0; i < 8; i++ {
		session := fmt.Sprintf("split-%d", i)
		pendingPartsJoinAcrossRequests(t, store.NewWriter(conns[i%2], opts.Database), store.NewReader(conns[(i+1)%2], opts.Database), session)
	}
	for i, conn := range conns {
		var local uint64
		if err := conn.QueryRow(ctx, "SELECT uniqExact(session_id) FROM sessionreplay.pending_parts_local").Scan(&local); err != nil {
			t.Fatal(err)
		}
		t.Logf("shard %d holds the pending parts of %d of 8 sessions", i, local)
		if local == 0 || local == 8 {
			t.Errorf("shard %d holds pending parts of %d sessions: not spread over the shards", i, local)
		}
	}
}

// readsAcrossTables checks the reads that combine two tables (the retained
// filter, the retained count, trace to session) on a cluster, where each is
// a Distributed table sharded by its own key: ClickHouse refuses a plain IN
// over another Distributed table inside a distributed query by default
// (distributed_product_mode = deny), and "local" would be wrong for tables
// sharded differently.
func readsAcrossTables(t *testing.T, ctx context.Context, conns []driver.Conn, db string, t0 time.Time) {
	t.Helper()
	w := store.NewWriter(conns[0], db)
	var sums []store.SessionSummary
	var decs []store.Decision
	for i := 0; i < 40; i++ {
		id := fmt.Sprintf("s%02d", i)
		sums = append(sums, store.SessionSummary{SessionID: id, PartID: store.PartID("chunk", id), Start: t0, End: t0.Add(time.Minute), Chunks: 1, Events: 10})
		if i%4 == 0 {
			decs = append(decs, store.Decision{SessionID: id, Rule: "errors", TriggerTime: t0.Add(30 * time.Second)})
		}
	}
	links := []store.TraceLink{{TraceID: "trace-a", SessionID: "s03", SpanID: "a1", Time: t0.Add(time.Second)},
		{TraceID: "trace-a", SessionID: "s17", SpanID: "a2", Time: t0.Add(2 * time.Second)}}
	if err := w.Write(ctx, &store.Batch{Sessions: sums, Decisions: decs, Links: links}); err != nil {
		t.Fatal(err)
	}
	tr := store.TimeRange{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}
	for i, conn := range conns {
		r := store.NewReader(conn, db)
		rows, err := r.ListSessions(ctx, store.ListQuery{SessionFilter: store.SessionFilter{TimeRange: tr, RetainedOnly: true}, Limit: 100})
		if err != nil {
			t.Fatalf("shard %d: retained sessions: %v", i, err)
		}
		if len(rows) != len(decs) {
			t.Errorf("shard %d: %d retained sessions listed, want %d", i, len(rows), len(decs))
		}
		stats, err := r.SessionStats(ctx, store.SessionFilter{TimeRange: tr}, time.Hour)
		if err != nil {
			t.Fatalf("shard %d: session stats: %v", i, err)
		}
		var all, retained uint64
		for _, p := range stats {
			all, retained = all+p.Sessions, retained+p.Retained
		}
		if all != 40 || retained != uint64(len(decs)) {
			t.Errorf("shard %d: stats count %d sessions, %d retained; want 40, %d", i, all, retained, len(decs))
		}
		ts, err := r.TraceSessions(ctx, "trace-a", tr, 10)
		if err != nil {
			t.Fatalf("shard %d: trace sessions: %v", i, err)
		}
		if len(ts) != 2 || ts[0].SessionID != "s03" || ts[1].SessionID != "s17" {
			t.Errorf("shard %d: trace-a opens %+v, want s03 then s17", i, ts)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
