package store_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
