package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/seed/sessionreplay/pkg/chembed"
)

func runClickHouse(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("clickhouse", flag.ContinueOnError)
	cfg := embeddedFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := chembed.Start(ctx, *cfg)
	if err != nil {
		return err
	}
	fmt.Printf("embedded ClickHouse %s\n  native: %s\n  http:   http://%s\n  data:   %s\n  dsn:    %s\nCtrl-C stops it.\n",
		srv.Version(), srv.TCPAddr(), srv.HTTPAddr(), cfg.DataDir, srv.DSN("sessionreplay"))
	select {
	case <-ctx.Done():
	case <-srv.Done():
		return fmt.Errorf("embedded ClickHouse exited unexpectedly")
	}
	fmt.Println("stopping embedded ClickHouse...")
	return srv.Stop()
}
