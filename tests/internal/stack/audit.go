package stack

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// AuditResult says how much of ClickHouse an audit read.
type AuditResult struct {
	Tables, Rows, Bytes int
}

// AuditSecrets reads every row of every table of db — each row as text, the
// ZSTD columns decompressed by ClickHouse — and fails the test for each
// secret found in one. Card numbers are also looked for without their
// spaces.
func AuditSecrets(t testing.TB, conn clickhouse.Conn, db string, secrets []string) AuditResult {
	t.Helper()
	ctx := context.Background()
	var look []string
	for _, s := range secrets {
		look = append(look, s)
		if c := strings.ReplaceAll(s, " ", ""); c != s {
			look = append(look, c)
		}
	}
	tables, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ? AND engine NOT LIKE '%View' ORDER BY name", db)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	var res AuditResult
	for _, table := range names {
		// formatRow renders the whole row, every column, as ClickHouse's
		// own unescaped text; table names come from system.tables.
		rows, err := conn.Query(ctx, "SELECT formatRow('TSVRaw', *) FROM "+db+"."+table)
		if err != nil {
			t.Fatalf("audit %s: %v", table, err)
		}
		res.Tables++
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			res.Rows++
			res.Bytes += len(s)
			for _, secret := range look {
				if strings.Contains(s, secret) {
					t.Errorf("typed secret %q is stored in %s.%s", secret, db, table)
				}
			}
		}
		rows.Close()
	}
	if res.Rows == 0 {
		t.Errorf("privacy audit read no rows in %s: nothing was stored to audit", db)
	}
	return res
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
