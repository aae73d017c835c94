package chembed_test

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/seed/sessionreplay/pkg/chembed"
)

// TestServerRestartKeepsDataAndLeavesNoProcess is the embedded server's
// contract: it answers, keeps its data across a restart, and stops cleanly.
func TestServerRestartKeepsDataAndLeavesNoProcess(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()

	srv, err := chembed.Start(ctx, chembed.Config{DataDir: dataDir})
	if err != nil {
		t.Fatalf("start embedded clickhouse: %v", err)
	}
	t.Logf("embedded ClickHouse %s on %s (http %s)", srv.Version(), srv.TCPAddr(), srv.HTTPAddr())
	if !strings.HasPrefix(srv.Version(), "26.") {
		t.Errorf("version = %q, want 26.x", srv.Version())
	}
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS keep",
		"CREATE TABLE keep.t (n UInt32) ENGINE = MergeTree ORDER BY n",
		"INSERT INTO keep.t VALUES (1), (2), (3)",
	} {
		if _, err := srv.Query(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	pid := srv.PID()
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("process %d still alive after Stop", pid)
	}

	srv, err = chembed.Start(ctx, chembed.Config{DataDir: dataDir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer srv.Stop()
	got, err := srv.Query(ctx, "SELECT sum(n) FROM keep.t")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != "6" {
		t.Fatalf("after restart sum = %q, want 6", got)
	}
}

func TestStartFailsLoudlyOnTakenPort(t *testing.T) {
	ctx := context.Background()
	first, err := chembed.Start(ctx, chembed.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer first.Stop()
	port := first.TCPAddr()[strings.LastIndex(first.TCPAddr(), ":")+1:]
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	_, err = chembed.Start(ctx, chembed.Config{DataDir: t.TempDir(), TCPPort: p})
	if err == nil {
		t.Fatal("second server on a taken port started")
	}
	t.Logf("taken port error: %v", err)
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }

func TestStopWithOpenNativeConnection(t *testing.T) {
	ctx := context.Background()
	srv, err := chembed.Start(ctx, chembed.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.TCPAddr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop with an open client connection: %v", err)
	}
}
