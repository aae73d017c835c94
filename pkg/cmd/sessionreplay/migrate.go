package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/seed/sessionreplay/pkg/store"
)

func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dsn := dsnFlag(fs, store.DefaultDSN)
	opts := schemaFlags(fs)
	shards := fs.String("shard-dsns", "", "comma-separated DSNs of every shard of -cluster, for clusters without Keeper: the schema is applied to each shard (no ON CLUSTER)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *shards != "" {
		return migrateShards(ctx, strings.Split(*shards, ","), *opts)
	}
	return migrate(ctx, *dsn, *opts)
}

func migrateShards(ctx context.Context, dsns []string, opts store.SchemaOptions) error {
	var conns []driver.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, dsn := range dsns {
		conn, db, err := store.Open(ctx, strings.TrimSpace(dsn))
		if err != nil {
			return err
		}
		conns = append(conns, conn)
		opts.Database = db
	}
	if err := store.MigrateShards(ctx, conns, opts); err != nil {
		return err
	}
	fmt.Printf("schema of %q applied to %d shards of cluster %q (version %d)\n", opts.Database, len(conns), opts.Cluster, store.LatestSchemaVersion())
	return nil
}

func migrate(ctx context.Context, dsn string, opts store.SchemaOptions) error {
	conn, db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close()
	opts.Database = db
	applied, err := store.Migrate(ctx, conn, opts)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Printf("schema of %q is up to date (version %d)\n", db, store.LatestSchemaVersion())
	} else {
		fmt.Printf("schema of %q migrated: applied versions %v\n", db, applied)
	}
	return nil
}

func runSchema(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	opts := schemaFlags(fs)
	fs.StringVar(&opts.Database, "database", opts.Database, "database name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rendered, err := store.RenderMigrations(*opts)
	if err != nil {
		return err
	}
	for i, stmts := range rendered {
		fmt.Printf("-- migration %d\n%s;\n\n", i+1, strings.Join(stmts, ";\n\n"))
	}
	return nil
}
