package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/seed/sessionreplay/pkg/store"
)

func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dsn := dsnFlag(fs, store.DefaultDSN)
	opts := schemaFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return migrate(ctx, *dsn, *opts)
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
