package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/store"
)

// TestRetriedSummaryCountsOnce writes a chunk's summary row, then the same
// contribution again in a later INSERT (a client retry after a late first
// write), next to a second chunk: every sum the readers show counts the
// retried chunk once, before any merge happened.
func TestRetriedSummaryCountsOnce(t *testing.T) {
	ctx := context.Background()
	conn, db := migrated(t)
	w, r := store.NewWriter(conn, db), store.NewReader(conn, db)
	t0 := recent()
	row := func(seq uint64, clicks uint64) store.SessionSummary {
		return store.SessionSummary{SessionID: "retried", PartID: store.PartID("chunk", "w1", fmt.Sprint(seq)),
			Start: t0.Add(time.Duration(seq) * time.Second), End: t0.Add(time.Duration(seq+1) * time.Second),
			ActiveMs: 1000, Chunks: 1, Events: 10, Bytes: 500, Clicks: clicks, Errors: 1, URLs: []string{"https://shop.example/"}}
	}
	for _, rows := range [][]store.SessionSummary{{row(0, 3)}, {row(0, 3), row(1, 4)}, {row(1, 4)}} {
		if err := w.WriteSessions(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	// A row that names no part is deduplicated by its content.
	anon := store.SessionSummary{SessionID: "retried", Start: t0, End: t0, Errors: 1}
	for i := 0; i < 2; i++ {
		if err := w.WriteSessions(ctx, []store.SessionSummary{anon}); err != nil {
			t.Fatal(err)
		}
	}
	var raw uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+"."+store.TableSessions).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	s, ok, err := r.Session(ctx, "retried")
	if err != nil || !ok {
		t.Fatalf("session: %v %v", ok, err)
	}
	t.Logf("%d raw summary rows for 3 contributions", raw)
	if s.Chunks != 2 || s.Clicks != 7 || s.Errors != 3 || s.Bytes != 1000 || s.ActiveMs != 2000 {
		t.Errorf("summary counts a retry twice: chunks %d clicks %d errors %d bytes %d active %d, want 2 7 3 1000 2000",
			s.Chunks, s.Clicks, s.Errors, s.Bytes, s.ActiveMs)
	}
	list, err := r.ListSessions(ctx, store.ListQuery{SessionFilter: store.SessionFilter{TimeRange: store.TimeRange{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}}, Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if list[0].Clicks != 7 || list[0].Errors != 3 {
		t.Errorf("session list counts a retry twice: clicks %d errors %d, want 7 3", list[0].Clicks, list[0].Errors)
	}
}

// TestMigrationCarriesVersion1Summaries: a database written by schema
// version 1 (summed rows in `sessions`) keeps its sessions after version 2.
func TestMigrationCarriesVersion1Summaries(t *testing.T) {
	ctx := context.Background()
	conn, db := chembedtest.NewDatabase(t)
	opts := store.DefaultSchemaOptions()
	opts.Database = db
	rendered, err := store.RenderMigrations(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range rendered[0] {
		if err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	t0 := recent()
	if err := conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %s.sessions (session_id, start_time, end_time, chunk_count, clicks, errors, urls, entry)
VALUES ('old', '%[2]s', '%[2]s', 2, 5, 1, ['https://a/'], ('%[2]s', 'https://a/')), ('old', '%[2]s', '%[2]s', 1, 2, 0, ['https://b/'], ('%[2]s', 'https://b/'))`,
		db, t0.Format("2006-01-02 15:04:05"))); err != nil {
		t.Fatal(err)
	}
	// schema_migrations as version 1 left it
	if err := conn.Exec(ctx, "CREATE TABLE "+db+".schema_migrations (version UInt32, name String, applied_at DateTime64(3) DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY version"); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "INSERT INTO "+db+".schema_migrations (version, name) VALUES (1, 'initial tables')"); err != nil {
		t.Fatal(err)
	}
	applied, err := store.Migrate(ctx, conn, opts)
	if err != nil || len(applied) == 0 || applied[0] != 2 || applied[len(applied)-1] != store.LatestSchemaVersion() {
		t.Fatalf("migrate from version 1: applied %v, %v", applied, err)
	}
	s, ok, err := store.NewReader(conn, db).Session(ctx, "old")
	if err != nil || !ok {
		t.Fatalf("session after migration: %v %v", ok, err)
	}
	if s.Chunks != 3 || s.Clicks != 7 || s.Errors != 1 || len(s.URLs) != 2 {
		t.Errorf("version 1 summary after migration: chunks %d clicks %d errors %d urls %v, want 3 7 1 [a b]", s.Chunks, s.Clicks, s.Errors, s.URLs)
	}
}
