package main

import (
	"flag"
	"os"
	"time"

	"github.com/seed/sessionreplay/pkg/chembed"
	"github.com/seed/sessionreplay/pkg/store"
)

// DSNEnv sets the ClickHouse DSN for every command that needs one.
const DSNEnv = "SESSIONREPLAY_CLICKHOUSE_DSN"

func dsnFlag(fs *flag.FlagSet, dflt string) *string {
	if v := os.Getenv(DSNEnv); v != "" {
		dflt = v
	}
	return fs.String("clickhouse-dsn", dflt, "ClickHouse DSN, e.g. clickhouse://user:pass@host:9000/sessionreplay (env "+DSNEnv+")")
}

func schemaFlags(fs *flag.FlagSet) *store.SchemaOptions {
	o := store.DefaultSchemaOptions()
	fs.StringVar(&o.Cluster, "cluster", "", "ClickHouse cluster name: renders ON CLUSTER, Replicated engines and Distributed tables")
	fs.DurationVar(&o.BufferTTL, "buffer-ttl", o.BufferTTL, "how long every chunk is kept before a rule retains its session")
	fs.DurationVar(&o.RetentionTTL, "retention-ttl", o.RetentionTTL, "how long retained sessions are kept")
	return &o
}

func embeddedFlags(fs *flag.FlagSet) *chembed.Config {
	c := &chembed.Config{}
	fs.StringVar(&c.DataDir, "data-dir", ".data/clickhouse", "embedded ClickHouse data directory (kept between runs)")
	fs.StringVar(&c.CacheDir, "cache-dir", chembed.DefaultCacheDir(), "where the ClickHouse library is downloaded once")
	fs.StringVar(&c.Host, "listen-host", "127.0.0.1", "embedded ClickHouse listen address")
	fs.IntVar(&c.TCPPort, "tcp-port", 9000, "embedded ClickHouse native protocol port")
	fs.IntVar(&c.HTTPPort, "http-port", 8123, "embedded ClickHouse HTTP port")
	fs.DurationVar(&c.StartTimeout, "start-timeout", 60*time.Second, "how long to wait for the embedded ClickHouse to answer")
	return c
}
