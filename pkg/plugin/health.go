package plugin

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/seed/sessionreplay/pkg/store"
)

// CheckHealth connects, then checks the database and its schema version, and
// says precisely what is wrong.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	ctx, cancel := context.WithTimeout(ctx, d.settings.DialTimeout+d.settings.QueryTimeout)
	defer cancel()
	msg, ok := d.health(ctx)
	status := backend.HealthStatusOk
	if !ok {
		status = backend.HealthStatusError
	}
	return &backend.CheckHealthResult{Status: status, Message: msg}, nil
}

func (d *Datasource) health(ctx context.Context) (string, bool) {
	s := d.settings
	if err := d.conn.Ping(ctx); err != nil {
		return fmt.Sprintf("cannot connect to %s as %q: %v", s.Target(), s.Username, err), false
	}
	var version string
	_ = d.conn.QueryRow(ctx, "SELECT version()").Scan(&version)

	var dbs uint64
	dbCtx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"db": store.EscapeParam(s.Database)}))
	if err := d.conn.QueryRow(dbCtx, "SELECT count() FROM system.databases WHERE name = {db:String}").Scan(&dbs); err != nil {
		return fmt.Sprintf("connected to %s, but cannot list databases: %v", s.Target(), err), false
	}
	if dbs == 0 {
		return fmt.Sprintf("database %q missing on %s: create it by running the migrations (the collector's sessionreplay receiver runs them at start)", s.Database, s.Target()), false
	}
	var tables uint64
	tblCtx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"db": store.EscapeParam(s.Database), "t": store.TableMigrations}))
	if err := d.conn.QueryRow(tblCtx, "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}").Scan(&tables); err != nil {
		return fmt.Sprintf("connected to %s, but cannot list the tables of %q: %v", s.Target(), s.Database, err), false
	}
	latest := store.LatestSchemaVersion()
	if tables == 0 {
		return fmt.Sprintf("schema version 0 < %d in database %q (no %s table): run the migrations", latest, s.Database, store.TableMigrations), false
	}
	applied, err := store.AppliedVersions(ctx, d.conn, s.Database)
	if err != nil {
		return fmt.Sprintf("cannot read the schema version of %q: %v", s.Database, err), false
	}
	var current uint32
	var missing []string
	for v := range applied {
		current = max(current, v)
	}
	for v := uint32(1); v <= latest; v++ {
		if !applied[v] {
			missing = append(missing, fmt.Sprint(v))
		}
	}
	if current < latest {
		return fmt.Sprintf("schema version %d < %d in database %q: run the migrations", current, latest, s.Database), false
	}
	if len(missing) > 0 {
		return fmt.Sprintf("schema of database %q lacks migration(s) %s: run the migrations", s.Database, strings.Join(missing, ", ")), false
	}
	// The plugin's user must be able to read the data.
	if err := d.conn.Exec(ctx, fmt.Sprintf("SELECT 1 FROM %s.%s LIMIT 0", s.Database, store.TableSessions)); err != nil {
		return fmt.Sprintf("user %q cannot read %s.%s: %v", s.Username, s.Database, store.TableSessions, err), false
	}
	msg := fmt.Sprintf("connected to ClickHouse %s at %s, database %q, schema version %d", version, s.Target(), s.Database, current)
	if current > latest {
		msg += fmt.Sprintf(" (newer than this plugin knows, %d: consider upgrading the plugin)", latest)
	}
	return msg, true
}
