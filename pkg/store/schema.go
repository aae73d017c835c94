package store

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Table names. With a cluster they are Distributed tables over "<name>_local".
const (
	TableBuffer     = "replay_chunks_buffer"
	TableRetained   = "replay_chunks"
	TableSessions   = "sessions"
	TableEvents     = "session_events"
	TableTraces     = "session_traces"
	TableDecisions  = "retained_sessions"
	TableMigrations = "schema_migrations"
)

// DataTables are the tables that hold replay data; each has a TTL.
var DataTables = []string{TableBuffer, TableRetained, TableSessions, TableEvents, TableTraces, TableDecisions}

// SchemaOptions shape the DDL.
type SchemaOptions struct {
	Database string
	// Cluster, when set, renders ON CLUSTER, Replicated engines and
	// Distributed tables (for clusters with Keeper).
	Cluster string
	// PerShard, with Cluster, renders the DDL for one shard without ON CLUSTER
	// and with plain (not Replicated) engines: for clusters without Keeper,
	// where MigrateShards applies it to every shard itself.
	PerShard bool
	// BufferTTL is how long every chunk is kept before a rule retains it.
	BufferTTL time.Duration
	// RetentionTTL is how long retained sessions and their metadata are kept.
	RetentionTTL time.Duration
}

// DefaultSchemaOptions are the shipped defaults: a day of buffer, 30 days kept.
func DefaultSchemaOptions() SchemaOptions {
	return SchemaOptions{Database: "sessionreplay", BufferTTL: 24 * time.Hour, RetentionTTL: 30 * 24 * time.Hour}
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (o SchemaOptions) validate() error {
	if !identRE.MatchString(o.Database) {
		return fmt.Errorf("database %q: must be an identifier ([A-Za-z_][A-Za-z0-9_]*)", o.Database)
	}
	if o.Cluster != "" && !identRE.MatchString(o.Cluster) {
		return fmt.Errorf("cluster %q: must be an identifier", o.Cluster)
	}
	if o.BufferTTL < time.Hour || o.RetentionTTL < time.Hour {
		return fmt.Errorf("ttl: buffer (%s) and retention (%s) must be at least 1h", o.BufferTTL, o.RetentionTTL)
	}
	return nil
}

// migration is one schema version. Statements are templates over tmplData.
type migration struct {
	version    uint32
	name       string
	statements []string
}

// migrations are append-only: never edit a released one, add the next version.
var migrations = []migration{
	{version: 1, name: "initial tables", statements: []string{
		`CREATE TABLE IF NOT EXISTS {{.DB}}.{{local "replay_chunks_buffer"}}{{.OnCluster}} (
    session_id String,
    window_id String,
    seq UInt64,
    start_time DateTime64(3) CODEC(Delta, ZSTD(1)),
    end_time DateTime64(3) CODEC(Delta, ZSTD(1)),
    event_count UInt32,
    full_snapshot Bool,
    service_name LowCardinality(String),
    data String CODEC(ZSTD(3)),
    ingested_at DateTime64(3) DEFAULT now64(3)
) ENGINE = {{engine "ReplacingMergeTree" "ingested_at"}}
PARTITION BY toDate(start_time)
ORDER BY (session_id, window_id, seq)
TTL toDateTime(start_time) + INTERVAL {{.BufferSeconds}} SECOND
SETTINGS ttl_only_drop_parts = 1`,
		`CREATE TABLE IF NOT EXISTS {{.DB}}.{{local "replay_chunks"}}{{.OnCluster}} AS {{.DB}}.{{local "replay_chunks_buffer"}}
ENGINE = {{engine "ReplacingMergeTree" "ingested_at"}}
PARTITION BY toDate(start_time)
ORDER BY (session_id, window_id, seq)
TTL toDateTime(start_time) + INTERVAL {{.RetentionSeconds}} SECOND
SETTINGS ttl_only_drop_parts = 1`,
		`CREATE TABLE IF NOT EXISTS {{.DB}}.{{local "sessions"}}{{.OnCluster}} (
    session_id String,
    start_time SimpleAggregateFunction(min, DateTime64(3)),
    end_time SimpleAggregateFunction(max, DateTime64(3)),
    active_ms SimpleAggregateFunction(sum, UInt64),
    chunk_count SimpleAggregateFunction(sum, UInt64),
    event_count SimpleAggregateFunction(sum, UInt64),
    bytes SimpleAggregateFunction(sum, UInt64),
    page_views SimpleAggregateFunction(sum, UInt64),
    clicks SimpleAggregateFunction(sum, UInt64),
    inputs SimpleAggregateFunction(sum, UInt64),
    rage_clicks SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    urls SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    entry SimpleAggregateFunction(min, Tuple(at DateTime64(3), url String)),
    user_id SimpleAggregateFunction(max, String),
    service_name SimpleAggregateFunction(max, LowCardinality(String)),
    device SimpleAggregateFunction(max, LowCardinality(String)),
    os SimpleAggregateFunction(max, LowCardinality(String)),
    browser SimpleAggregateFunction(max, LowCardinality(String)),
    country SimpleAggregateFunction(max, LowCardinality(String)),
    user_agent SimpleAggregateFunction(max, String),
    attributes SimpleAggregateFunction(maxMap, Map(String, String)),
    INDEX idx_start start_time TYPE minmax GRANULARITY 1
) ENGINE = {{engine "AggregatingMergeTree" ""}}
PARTITION BY toDate(start_time)
ORDER BY session_id
TTL toDateTime(end_time) + INTERVAL {{.RetentionSeconds}} SECOND
SETTINGS ttl_only_drop_parts = 1`,
		`CREATE TABLE IF NOT EXISTS {{.DB}}.{{local "session_events"}}{{.OnCluster}} (
    session_id String,
    ts DateTime64(3),
    kind LowCardinality(String),
    name String,
    url String,
    detail String CODEC(ZSTD(3)),
    trace_id String,
    span_id String,
    window_id String,
    event_id UInt64,
    INDEX idx_trace trace_id TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = {{engine "ReplacingMergeTree" ""}}
PARTITION BY toDate(ts)
ORDER BY (session_id, ts, event_id)
TTL toDateTime(ts) + INTERVAL {{.RetentionSeconds}} SECOND
SETTINGS ttl_only_drop_parts = 1`,
		`CREATE TABLE IF NOT EXISTS {{.DB}}.{{local "session_traces"}}{{.OnCluster}} (
    trace_id String,
    session_id String,
    span_id String,
    service_name LowCardinality(String),
    ts DateTime64(3),
    is_error Bool,
    INDEX idx_session session_id TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = {{engine "ReplacingMergeTree" ""}}
PARTITION BY toDate(ts)
ORDER BY (trace_id, session_id, span_id)
TTL toDateTime(ts) + INTERVAL {{.RetentionSeconds}} SECOND
SETTINGS ttl_only_drop_parts = 1`,
		`CREATE TABLE IF NOT EXISTS {{.DB}}.{{local "retained_sessions"}}{{.OnCluster}} (
    session_id String,
    rule LowCardinality(String),
    trigger_time DateTime64(3),
    trace_id String,
    decided_at DateTime64(3) DEFAULT now64(3)
) ENGINE = {{engine "ReplacingMergeTree" ""}}
PARTITION BY toDate(trigger_time)
ORDER BY (session_id, rule)
TTL toDateTime(trigger_time) + INTERVAL {{.RetentionSeconds}} SECOND
SETTINGS ttl_only_drop_parts = 1`,
		`{{distributed "replay_chunks_buffer" "session_id"}}`,
		`{{distributed "replay_chunks" "session_id"}}`,
		`{{distributed "sessions" "session_id"}}`,
		`{{distributed "session_events" "session_id"}}`,
		`{{distributed "session_traces" "trace_id"}}`,
		`{{distributed "retained_sessions" "session_id"}}`,
	}},
	{version: 2, name: "dead clicks in session summaries", statements: []string{
		`ALTER TABLE {{.DB}}.{{local "sessions"}}{{.OnCluster}} ADD COLUMN IF NOT EXISTS dead_clicks SimpleAggregateFunction(sum, UInt64) DEFAULT 0 AFTER rage_clicks`,
		`{{distributedAlter "sessions" "ADD COLUMN IF NOT EXISTS dead_clicks SimpleAggregateFunction(sum, UInt64) DEFAULT 0 AFTER rage_clicks"}}`,
	}},
}

type tmplData struct {
	DB               string
	OnCluster        string
	BufferSeconds    int64
	RetentionSeconds int64
}

// RenderMigrations returns the DDL of every migration, for review and for
// applying by hand (`sessionreplay schema print`).
func RenderMigrations(o SchemaOptions) ([][]string, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	data := tmplData{
		DB:               o.Database,
		BufferSeconds:    int64(o.BufferTTL / time.Second),
		RetentionSeconds: int64(o.RetentionTTL / time.Second),
	}
	if o.Cluster != "" && !o.PerShard {
		data.OnCluster = " ON CLUSTER " + o.Cluster
	}
	funcs := template.FuncMap{
		"local": func(name string) string {
			if o.Cluster != "" {
				return name + "_local"
			}
			return name
		},
		"engine": func(family, version string) string {
			if o.Cluster != "" && !o.PerShard {
				family = "Replicated" + family
			}
			return family + "(" + version + ")"
		},
		"distributedAlter": func(name, change string) string {
			if o.Cluster == "" {
				return ""
			}
			return fmt.Sprintf("ALTER TABLE %s.%s%s %s", o.Database, name, data.OnCluster, change)
		},
		"distributed": func(name, shardKey string) string {
			if o.Cluster == "" {
				return ""
			}
			return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s.%s_local\nENGINE = Distributed(%s, %s, %s_local, cityHash64(%s))",
				o.Database, name, data.OnCluster, o.Database, name, o.Cluster, o.Database, name, shardKey)
		},
	}
	out := make([][]string, 0, len(migrations))
	for _, m := range migrations {
		var stmts []string
		for _, src := range m.statements {
			t, err := template.New("ddl").Funcs(funcs).Parse(src)
			if err != nil {
				return nil, fmt.Errorf("migration %d: %w", m.version, err)
			}
			var b bytes.Buffer
			if err := t.Execute(&b, data); err != nil {
				return nil, fmt.Errorf("migration %d: %w", m.version, err)
			}
			if s := strings.TrimSpace(b.String()); s != "" {
				stmts = append(stmts, s)
			}
		}
		out = append(out, stmts)
	}
	return out, nil
}

// LatestSchemaVersion is the version Migrate brings a database to.
func LatestSchemaVersion() uint32 { return migrations[len(migrations)-1].version }

// Migrate creates the database and applies every migration not yet recorded in
// schema_migrations. It is idempotent: a second run applies nothing. Statements
// are IF NOT EXISTS, so two processes migrating at once converge too.
func Migrate(ctx context.Context, conn driver.Conn, o SchemaOptions) (applied []uint32, err error) {
	rendered, err := RenderMigrations(o)
	if err != nil {
		return nil, err
	}
	onCluster := ""
	engine := "ReplacingMergeTree"
	if o.Cluster != "" && !o.PerShard {
		onCluster = " ON CLUSTER " + o.Cluster
		engine = "ReplicatedReplacingMergeTree"
	}
	for _, stmt := range []string{
		"CREATE DATABASE IF NOT EXISTS " + o.Database + onCluster,
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s (version UInt32, name String, applied_at DateTime64(3) DEFAULT now64(3)) ENGINE = %s ORDER BY version",
			o.Database, TableMigrations, onCluster, engine),
	} {
		if err := conn.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
	}
	done, err := AppliedVersions(ctx, conn, o.Database)
	if err != nil {
		return nil, err
	}
	for i, m := range migrations {
		if done[m.version] {
			continue
		}
		for _, stmt := range rendered[i] {
			if err := conn.Exec(ctx, stmt); err != nil {
				return applied, fmt.Errorf("schema migration %d (%s): %w\n%s", m.version, m.name, err, stmt)
			}
		}
		record := withParams(ctx, clickhouse.Parameters{"v": fmt.Sprint(m.version), "n": EscapeParam(m.name)})
		if err := conn.Exec(record, fmt.Sprintf("INSERT INTO %s.%s (version, name) VALUES ({v:UInt32}, {n:String})", o.Database, TableMigrations)); err != nil {
			return applied, fmt.Errorf("schema migration %d: record: %w", m.version, err)
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}

// MigrateShards applies the schema to each shard of a cluster that has no
// Keeper (ON CLUSTER is refused there): local tables and the Distributed
// tables over them are created on every shard, so any shard takes inserts and
// answers queries for the whole cluster.
func MigrateShards(ctx context.Context, shards []driver.Conn, o SchemaOptions) error {
	if o.Cluster == "" {
		return fmt.Errorf("schema: MigrateShards needs a cluster name")
	}
	o.PerShard = true
	for i, conn := range shards {
		if _, err := Migrate(ctx, conn, o); err != nil {
			return fmt.Errorf("shard %d: %w", i, err)
		}
	}
	return nil
}

// AppliedVersions reads schema_migrations.
func AppliedVersions(ctx context.Context, conn driver.Conn, database string) (map[uint32]bool, error) {
	if !identRE.MatchString(database) {
		return nil, fmt.Errorf("database %q: must be an identifier", database)
	}
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM "+database+"."+TableMigrations)
	if err != nil {
		return nil, fmt.Errorf("schema: read %s: %w", TableMigrations, err)
	}
	defer rows.Close()
	done := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		done[v] = true
	}
	return done, rows.Err()
}
