package plugin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/seed/sessionreplay/pkg/chembed"
	"github.com/seed/sessionreplay/pkg/store"
)

// TestReadOnlyUser: the data source works with a ClickHouse user that can only
// read, and that user cannot write — so a hostile dashboard cannot either.
func TestReadOnlyUser(t *testing.T) {
	ctx := context.Background()
	srv, err := chembed.Start(ctx, chembed.Config{DataDir: t.TempDir(), Users: []chembed.User{{Name: "grafana", Password: "reader-secret", ReadOnly: true}}})
	if err != nil {
		t.Fatalf("embedded ClickHouse with users: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })

	admin, db, err := store.Open(ctx, srv.DSN("sessionreplay"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	opts := store.DefaultSchemaOptions()
	opts.Database = db
	if _, err := store.Migrate(ctx, admin, opts); err != nil {
		t.Fatal(err)
	}
	t0 := recent()
	if err := store.NewWriter(admin, db).WriteSessions(ctx, []store.SessionSummary{{SessionID: "s-ro", Start: t0, End: t0.Add(time.Minute), Browser: "Firefox"}}); err != nil {
		t.Fatal(err)
	}

	raw, _ := json.Marshal(map[string]any{"addresses": []string{srv.TCPAddr()}, "database": db, "username": "grafana"})
	inst, err := NewDatasource(ctx, backend.DataSourceInstanceSettings{UID: "ro", JSONData: raw,
		DecryptedSecureJSONData: map[string]string{"password": "reader-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	ds := inst.(*Datasource)
	defer ds.Dispose()
	if r := health(t, ds); r.Status != backend.HealthStatusOk {
		t.Fatalf("health with the read-only user: %q", r.Message)
	}
	ids := column[string](t, mustFrame(t, query(t, ds, "sessions", t0.Add(-time.Hour), t0.Add(time.Hour), nil)), "session_id")
	if len(ids) != 1 || ids[0] != "s-ro" {
		t.Fatalf("sessions with the read-only user: %v", ids)
	}

	reader, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.TCPAddr()}, Auth: clickhouse.Auth{Username: "grafana", Password: "reader-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	for _, stmt := range []string{
		"INSERT INTO " + db + ".sessions (session_id) VALUES ('x')",
		"DROP TABLE " + db + ".sessions",
		"ALTER TABLE " + db + ".sessions DELETE WHERE 1",
	} {
		if err := reader.Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "readonly") {
			t.Errorf("%s as the read-only user: %v, want a readonly refusal", stmt, err)
		}
	}
	if wrong, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.TCPAddr()}, Auth: clickhouse.Auth{Username: "grafana", Password: "nope"}}); err == nil {
		if err := wrong.Ping(ctx); err == nil {
			t.Error("a wrong password was accepted")
		}
		wrong.Close()
	}
}
