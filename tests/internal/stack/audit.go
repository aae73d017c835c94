package stack

import (
	"context"
	"encoding/json"
	"fmt"
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

// StoredStrings reads every row of every table of db (as JSON, the ZSTD
// columns decompressed by ClickHouse) and returns every string in them, keys
// included; a string holding a JSON array or object (chunk data, marker
// details) is decoded and walked too, so escaped text is seen as stored.
func StoredStrings(t testing.TB, conn clickhouse.Conn, db string) (strs []string, tables, rows int) {
	t.Helper()
	ctx := context.Background()
	names, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ? ORDER BY name", db)
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for names.Next() {
		var n string
		if err := names.Scan(&n); err != nil {
			t.Fatal(err)
		}
		list = append(list, n)
	}
	names.Close()
	for _, table := range list {
		r, err := conn.Query(ctx, fmt.Sprintf("SELECT formatRow('JSONEachRow', *) FROM `%s`.`%s`", db, table))
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		tables++
		for r.Next() {
			var line string
			if err := r.Scan(&line); err != nil {
				t.Fatal(err)
			}
			var row any
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatalf("%s row: %v", table, err)
			}
			strs = appendStrings(row, strs)
			rows++
		}
		r.Close()
	}
	return strs, tables, rows
}

// appendStrings appends every string of a decoded JSON value (keys too) to out.
func appendStrings(v any, out []string) []string {
	switch v := v.(type) {
	case string:
		out = append(out, v)
		if s := strings.TrimSpace(v); strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") {
			var inner any
			if json.Unmarshal([]byte(s), &inner) == nil {
				out = appendStrings(inner, out)
			}
		}
	case []any:
		for _, e := range v {
			out = appendStrings(e, out)
		}
	case map[string]any:
		for k, e := range v {
			out = append(out, k)
			out = appendStrings(e, out)
		}
	}
	return out
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
