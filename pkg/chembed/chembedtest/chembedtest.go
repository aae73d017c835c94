// Package chembedtest gives integration tests a real ClickHouse: the embedded
// server (one per test binary), or the server named by
// SESSIONREPLAY_TEST_CLICKHOUSE_DSN. It never skips: no ClickHouse is a failure.
package chembedtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/seed/sessionreplay/pkg/chembed"
	"github.com/seed/sessionreplay/pkg/store"
)

// DSNEnv names an existing server to test against instead of the embedded one.
const DSNEnv = "SESSIONREPLAY_TEST_CLICKHOUSE_DSN"

var (
	server *chembed.Server
	addr   string // host:port of the native protocol
)

// Main starts the server, runs the tests and stops the server. Use it as
// `func TestMain(m *testing.M) { os.Exit(chembedtest.Main(m)) }`.
func Main(m *testing.M) int {
	if dsn := os.Getenv(DSNEnv); dsn != "" {
		opts, err := clickhouse.ParseDSN(dsn)
		if err != nil || len(opts.Addr) == 0 {
			fmt.Fprintf(os.Stderr, "FAIL: %s=%q: %v\n", DSNEnv, dsn, err)
			return 1
		}
		addr = opts.Addr[0]
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "chembedtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	server, err = chembed.Start(context.Background(), chembed.Config{DataDir: dir})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: embedded ClickHouse did not start: %v\n", err)
		return 1
	}
	fmt.Printf("embedded ClickHouse %s serving on %s (http %s)\n", server.Version(), server.TCPAddr(), server.HTTPAddr())
	code := m.Run()
	if err := server.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: embedded ClickHouse stop: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Server is the embedded server (nil when testing against DSNEnv).
func Server() *chembed.Server { return server }

// Addr is the native-protocol address of the server under test.
func Addr() string { return addr }

// DSN is a clickhouse-go DSN for database on the server under test.
func DSN(database string) string {
	if server != nil {
		return server.DSN(database)
	}
	return "clickhouse://" + addr + "/" + database
}

// NewDatabase returns a connection and the name of a fresh, empty database
// that is dropped when the test ends.
func NewDatabase(t testing.TB) (driver.Conn, string) {
	t.Helper()
	if server != nil {
		addr = server.TCPAddr()
	}
	if addr == "" {
		t.Fatal("chembedtest: no ClickHouse; call chembedtest.Main from TestMain")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	db := "test_" + hex.EncodeToString(b)
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	if err != nil {
		t.Fatalf("chembedtest: open %s: %v", addr, err)
	}
	ctx := context.Background()
	if err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatalf("chembedtest: create database: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" SYNC")
		conn.Close()
	})
	return conn, db
}

// NewMigratedDatabase is NewDatabase with the schema applied (default TTLs).
func NewMigratedDatabase(t testing.TB) (driver.Conn, string) {
	t.Helper()
	conn, db := NewDatabase(t)
	opts := store.DefaultSchemaOptions()
	opts.Database = db
	if _, err := store.Migrate(context.Background(), conn, opts); err != nil {
		t.Fatalf("chembedtest: migrate: %v", err)
	}
	return conn, db
}
