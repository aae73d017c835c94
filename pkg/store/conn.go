// Package store is the ClickHouse layer shared by the collector receiver and
// the Grafana data source: the owned schema and its migrations, the batch
// writer, and the read queries. Every value reaches ClickHouse as a bound
// server-side parameter ({name:Type}), never spliced into SQL text.
package store

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// DefaultDSN points at the embedded ClickHouse the demo starts.
const DefaultDSN = "clickhouse://127.0.0.1:9000/sessionreplay"

// Open connects with a clickhouse-go DSN (clickhouse://user:pass@host:9000/db,
// or http://host:8123/db for the HTTP protocol) and checks the server answers.
// The database named in the DSN need not exist yet; it is returned separately.
func Open(ctx context.Context, dsn string) (driver.Conn, string, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, "", fmt.Errorf("clickhouse dsn: %w", err)
	}
	database := opts.Auth.Database
	if database == "" {
		database = "sessionreplay"
	}
	// Connect without a default database so a fresh server works before the
	// schema exists; every query names its database.
	opts.Auth.Database = ""
	guardWrites(opts)
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, "", fmt.Errorf("clickhouse %s: %w", redact(dsn), err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, "", fmt.Errorf("clickhouse %s: %w", redact(dsn), err)
	}
	return conn, database, nil
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return strings.Replace(u.String(), "xxxxx", "***", 1)
}

func withParams(ctx context.Context, p clickhouse.Parameters) context.Context {
	return clickhouse.Context(ctx, clickhouse.WithParameters(p))
}
