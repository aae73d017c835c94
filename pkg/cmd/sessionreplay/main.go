// Command sessionreplay runs the project's own jobs: an embedded ClickHouse for
// users who have none, schema migrations, and the demo that starts everything.
//
//	sessionreplay clickhouse   serve the embedded ClickHouse until SIGINT/SIGTERM
//	sessionreplay migrate      apply the schema to a ClickHouse
//	sessionreplay schema       print the schema DDL
//	sessionreplay demo         embedded ClickHouse + schema + collector, and say where
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: sessionreplay <command> [flags]

commands:
  clickhouse   serve the embedded ClickHouse until interrupted
  migrate      apply the schema migrations to a ClickHouse
  schema       print the schema DDL (for review or applying by hand)
  demo         start the embedded ClickHouse (unless -clickhouse-dsn is given), apply
               the schema, start the collector with the sessionreplay receiver

Run "sessionreplay <command> -h" for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmds := map[string]func(context.Context, []string) error{
		"clickhouse": runClickHouse,
		"migrate":    runMigrate,
		"schema":     runSchema,
		"demo":       runDemo,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err := run(ctx, os.Args[2:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "sessionreplay:", err)
		os.Exit(1)
	}
}
