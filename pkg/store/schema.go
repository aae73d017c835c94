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
	TableBuffer   = "replay_chunks_buffer"
	TableRetained = "replay_chunks"
	// TableSessions holds one summary row per contribution to a session (a
	// chunk, an error span or log), keyed by (session_id, part_id): a retried
	// contribution replaces itself, so every sum over it is exact (issue 15).
	TableSessions = "session_summaries"
	// TableSessionsV1 is the summed table of schema version 1, kept (with its
	// TTL) for databases migrated from it; nothing writes to it any more.
	TableSessionsV1 = "sessions"
	TableEvents     = "session_events"
	TableTraces     = "session_traces"
	TableDecisions  = "retained_sessions"
	// TablePending holds span/log rule matches whose trace has no session
	// link yet, until a link arrives (on any replica) or pending_trace_ttl ends.
	TablePending = "pending_matches"
	// TableEvaluations records up to which activity a session's idle-time
	// rules were evaluated, so replicas skip what any of them already judged.
	TableEvaluations = "session_evaluations"
	TableMigrations  = "schema_migrations"
	// TableAssets holds the large values taken out of chunks (pkg/assetref),
	// once per site and content hash.
	TableAssets = "replay_assets"
	// TableClickCandidates holds the clicks the recording did not answer
	// within their chunk, until the sweeper of any replica judges them dead
	// or alive from the stored requests and the tab's later chunks.
	TableClickCandidates = "click_candidates"
	// TablePendingParts holds the parts of split rr-web events (HyperDX)
	// whose parts came in different requests, until one request finds them
	// all; kept a day (PendingPartsTTL).
	TablePendingParts = "pending_parts"
)

// PendingPartsTTL is how long a part of a split event waits for the others:
// an event whose parts arrive more than this apart is lost. The SDK sends
// the parts of one event back to back, so they straddle at most two export
// batches, seconds apart (or a client's retries, minutes apart).
const PendingPartsTTL = 24 * time.Hour

// DataTables are the tables that hold replay data; each has a TTL.
var DataTables = []string{TableBuffer, TableRetained, TableSessions, TableSessionsV1, TableEvents, TableTraces, TableDecisions, TablePending, TableEvaluations, TableAssets, TableClickCandidates, TablePendingParts}

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
	{version: 2, name: "idempotent summaries, stored rule state", statements: []string{
		// A ReplacingMergeTree keyed by contribution: readers aggregate with
		// FINAL, so a chunk stored twice is counted once. received_at is the
		// version (the latest copy wins) and the activity clock of idle sweeps.
		`CREATE TABLE IF NOT EXISTS {{.DB}}.{{local "session_summaries"}}{{.OnCluster}} (
    session_id String,
    part_id UInt64 DEFAULT rand64(),
    start_time DateTime64(3),
    end_time DateTime64(3),
    active_ms UInt64,
    chunk_count UInt64,
    event_count UInt64,
    bytes UInt64,
    page_views UInt64,
    clicks UInt64,
    inputs UInt64,
    rage_clicks UInt64,
    dead_clicks UInt64,
    errors UInt64,
    urls Array(String),
    entry Tuple(at DateTime64(3), url String),
    user_id String,
    service_name LowCardinality(String),
    device LowCardinality(String),
    os LowCardinality(String),
    browser LowCardinality(String),
    country LowCardinality(String),
    user_agent String,
    attributes Map(String, String),
    received_at DateTime64(3) DEFAULT now64(3),
    INDEX idx_start start_time TYPE minmax GRANULARITY 1,
    INDEX idx_received received_at TYPE minmax GRANULARITY 1
) ENGINE = {{engine "ReplacingMergeTree" "received_at"}}
PARTITION BY toDate(start_time)
ORDER BY (session_id, part_id)
TTL toDateTime(end_time) + INTERVAL {{.RetentionSeconds}} SECOND
SETTINGS ttl_only_drop_parts = 1`,
		`CREATE TABLE IF NOT EXISTS {{.DB}}.{{local "pending_matches"}}{{.OnCluster}} (
    trace_id String,
    rule LowCardinality(String),
    trigger_time DateTime64(3),
    created_at DateTime64(3),
    resolved UInt8
) ENGINE = {{engine "ReplacingMergeTree" "resolved"}}
PARTITION BY toDate(created_at)
ORDER BY (trace_id, rule)
TTL toDateTime(created_at) + INTERVAL {{.RetentionSeconds}} SECOND
SETTINGS ttl_only_drop_parts = 1`,
		`CREATE TABLE IF NOT EXISTS {{.DB}}.{{local "session_evaluations"}}{{.OnCluster}} (
    session_id String,
    evaluated_through DateTime64(3),
    evaluated_at DateTime64(3) DEFAULT now64(3)
) ENGINE = {{engine "ReplacingMergeTree" "evaluated_through"}}
PARTITION BY toDate(evaluated_at)
ORDER BY session_id
TTL toDateTime(evaluated_at) + INTERVAL {{.RetentionSeconds}} SECOND
SETTINGS ttl_only_drop_parts = 1`,
		`{{distributed "session_summaries" "session_id"}}`,
		`{{distributed "pending_matches" "trace_id"}}`,
		`{{distributed "session_evaluations" "session_id"}}`,
		// Carry the summaries of version 1 over. Their rows were summed per
		// insert block, so each becomes one contribution with an id from its
		// content (a re-run of this step collapses with the first). Per shard
		// the copy is local to local; otherwise through the cluster's tables.
		`INSERT INTO {{.DB}}.{{shard "session_summaries"}} (session_id, part_id, start_time, end_time, active_ms, chunk_count, event_count,
    bytes, page_views, clicks, inputs, rage_clicks, errors, urls, entry, user_id, service_name, device, os, browser, country, user_agent,
    attributes, received_at)
SELECT session_id, cityHash64(start_time, end_time, active_ms, chunk_count, event_count, bytes, page_views, clicks, errors, urls, user_id),
    start_time, end_time, active_ms, chunk_count, event_count, bytes, page_views, clicks, inputs, rage_clicks, errors, urls, entry, user_id,
    service_name, device, os, browser, country, user_agent, attributes, end_time
FROM {{.DB}}.{{shard "sessions"}}`,
	}},
	// Assets: large repeated values (stylesheets, data URIs) leave the chunk
	// for a table keyed by site and content hash; the chunk keeps where they
	// were (asset_offsets) and which they were (asset_hashes).
	//
	// Lifetime: an asset row is written (or copied, by CopyToRetained) for
	// every day and chunk table its chunks are in, and expires two days
	// after the TTL of those chunks: one day because a chunk lives in its
	// day's part until the whole part expires (ttl_only_drop_parts), one day
	// of margin for the TTL merge that drops it. ReplacingMergeTree keeps the
	// row that lives longest, so an asset lasts as long as its last chunk
	// and at most about two days more.
	//
	// Codecs and block sizes, measured by BenchmarkAssetCodecs and
	// BenchmarkAssetMinBytes (collector-receiver/internal/assets): on the
	// chunk data once the stylesheets left it, 4 MiB compressed blocks take
	// 100 sessions of one site from 5.5 to 2.4 MB (ZSTD(9)) at the same
	// write cost; ZSTD(9) is a quarter smaller than ZSTD(3) at about 2.5x
	// its write time, ZSTD(19) another fifth smaller at 40-80x (too slow for
	// ingest). So: the buffer table writes ZSTD(9); the retained table writes
	// the default codec (LZ4, cheap: copies and retained sessions' later
	// chunks) and a TTL merge recompresses its parts to ZSTD(19) once their
	// chunks are an hour old, when no more are written. Asset values are
	// written once a day per site and asset, so they get ZSTD(19) at once.
	{version: 3, name: "content-addressed assets", statements: []string{
		`ALTER TABLE {{.DB}}.{{local "replay_chunks_buffer"}}{{.OnCluster}}
    ADD COLUMN IF NOT EXISTS asset_hashes Array(FixedString(32)) AFTER data,
    ADD COLUMN IF NOT EXISTS asset_offsets Array(UInt32) CODEC(Delta, ZSTD(1)) AFTER asset_hashes`,
		`ALTER TABLE {{.DB}}.{{local "replay_chunks"}}{{.OnCluster}}
    ADD COLUMN IF NOT EXISTS asset_hashes Array(FixedString(32)) AFTER data,
    ADD COLUMN IF NOT EXISTS asset_offsets Array(UInt32) CODEC(Delta, ZSTD(1)) AFTER asset_hashes`,
		`{{alterDistributed "replay_chunks_buffer" "ADD COLUMN IF NOT EXISTS asset_hashes Array(FixedString(32)) AFTER data, ADD COLUMN IF NOT EXISTS asset_offsets Array(UInt32) AFTER asset_hashes"}}`,
		`{{alterDistributed "replay_chunks" "ADD COLUMN IF NOT EXISTS asset_hashes Array(FixedString(32)) AFTER data, ADD COLUMN IF NOT EXISTS asset_offsets Array(UInt32) AFTER asset_hashes"}}`,
		`ALTER TABLE {{.DB}}.{{local "replay_chunks_buffer"}}{{.OnCluster}} MODIFY COLUMN data String CODEC({{.DataCodec}})`,
		`ALTER TABLE {{.DB}}.{{local "replay_chunks"}}{{.OnCluster}} MODIFY COLUMN data String CODEC(Default)`,
		`ALTER TABLE {{.DB}}.{{local "replay_chunks_buffer"}}{{.OnCluster}} MODIFY SETTING min_compress_block_size = {{.DataBlock}}, max_compress_block_size = {{.DataBlock}}`,
		`ALTER TABLE {{.DB}}.{{local "replay_chunks"}}{{.OnCluster}} MODIFY SETTING min_compress_block_size = {{.DataBlock}}, max_compress_block_size = {{.DataBlock}}`,
		`ALTER TABLE {{.DB}}.{{local "replay_chunks"}}{{.OnCluster}}
    MODIFY TTL toDateTime(start_time) + INTERVAL {{.RetentionSeconds}} SECOND,
        toDateTime(start_time) + INTERVAL {{.RecompressSeconds}} SECOND RECOMPRESS CODEC({{.RetainedCodec}})
    SETTINGS materialize_ttl_after_modify = 0`,
		`CREATE TABLE IF NOT EXISTS {{.DB}}.{{local "replay_assets"}}{{.OnCluster}} (
    site LowCardinality(String),
    hash FixedString(32),
    value String CODEC({{.AssetCodec}}),
    chunk_day Date,
    retained Bool,
    expires_at DateTime MATERIALIZED toDateTime(chunk_day) + if(retained, {{.RetentionSeconds}}, {{.BufferSeconds}}) + 2 * 86400
) ENGINE = {{engine "ReplacingMergeTree" "expires_at"}}
ORDER BY (site, hash)
TTL expires_at`,
		`{{distributed "replay_assets" "hash"}}`,
	}},
	// Dead-click candidates: a click whose answer may be in a request (a
	// span, which arrives on its own) or in the tab's next chunk (which a
	// balancer may send to another replica) waits here rather than in one
	// replica's memory. resolved is the version: the judged row replaces
	// the waiting one.
	{version: 4, name: "dead-click candidates", statements: []string{
		`CREATE TABLE IF NOT EXISTS {{.DB}}.{{local "click_candidates"}}{{.OnCluster}} (
    session_id String,
    event_id UInt64,
    window_id String,
    seq UInt64,
    ts DateTime64(3),
    open UInt8,
    name String,
    detail String,
    received_at DateTime64(3),
    resolved UInt8
) ENGINE = {{engine "ReplacingMergeTree" "resolved"}}
PARTITION BY toDate(ts)
ORDER BY (session_id, event_id)
TTL toDateTime(ts) + INTERVAL {{.RetentionSeconds}} SECOND
SETTINGS ttl_only_drop_parts = 1`,
		`{{distributed "click_candidates" "session_id"}}`,
	}},
	// Parts of split rr-web events that straddle requests (issue 15): they
	// were joined in one replica's memory, lost when the next part went to
	// another replica or after a restart. event_time tells apart the events
	// of page loads that share the instance-less window "rr-web" (whose
	// index restarts on every page load); 0 elsewhere. A retried request
	// rewrites the same rows (same key), and the row is never read after
	// its event is joined, so it waits for the TTL alone.
	{version: 5, name: "pending parts of split rr-web events", statements: []string{
		`CREATE TABLE IF NOT EXISTS {{.DB}}.{{local "pending_parts"}}{{.OnCluster}} (
    session_id String,
    window_id String,
    event_idx Int64,
    event_time Int64,
    part Int64,
    total Int64,
    body String CODEC(ZSTD(3)),
    created_at DateTime64(3) DEFAULT now64(3)
) ENGINE = {{engine "ReplacingMergeTree" ""}}
PARTITION BY toDate(created_at)
ORDER BY (session_id, window_id, event_idx, event_time, part)
TTL toDateTime(created_at) + INTERVAL {{.PendingPartsSeconds}} SECOND
SETTINGS ttl_only_drop_parts = 1`,
		`{{distributed "pending_parts" "session_id"}}`,
	}},
}

// Codecs of the large columns, chosen by measurement (see migration 3).
const (
	dataCodec     = "ZSTD(9)"
	dataBlock     = 4 << 20
	assetCodec    = "ZSTD(19)"
	retainedCodec = "ZSTD(19)"
	// retainedRecompressAfter is when retained chunks, no longer written,
	// are recompressed with retainedCodec by a TTL merge: ingest and copies
	// pay little, the long-kept bytes get ZSTD(19). (RECOMPRESS changes the
	// part's default codec, so it reaches the data column only because that
	// column has CODEC(Default).)
	retainedRecompressAfter = time.Hour
)

type tmplData struct {
	DB                  string
	OnCluster           string
	BufferSeconds       int64
	RetentionSeconds    int64
	DataCodec           string
	DataBlock           int
	AssetCodec          string
	RetainedCodec       string
	RecompressSeconds   int64
	PendingPartsSeconds int64
}

// RenderMigrations returns the DDL of every migration, for review and for
// applying by hand (`sessionreplay schema print`).
func RenderMigrations(o SchemaOptions) ([][]string, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	data := tmplData{
		DB:                  o.Database,
		BufferSeconds:       int64(o.BufferTTL / time.Second),
		RetentionSeconds:    int64(o.RetentionTTL / time.Second),
		DataCodec:           dataCodec,
		DataBlock:           dataBlock,
		RetainedCodec:       retainedCodec,
		RecompressSeconds:   int64(retainedRecompressAfter / time.Second),
		AssetCodec:          assetCodec,
		PendingPartsSeconds: int64(PendingPartsTTL / time.Second),
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
		"alterDistributed": func(name, change string) string {
			if o.Cluster == "" {
				return ""
			}
			return fmt.Sprintf("ALTER TABLE %s.%s%s %s", o.Database, name, data.OnCluster, change)
		},
		// shard names the table a statement running on one shard reads or
		// writes: the local table per shard, else the (Distributed) table.
		"shard": func(name string) string {
			if o.Cluster != "" && o.PerShard {
				return name + "_local"
			}
			return name
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
