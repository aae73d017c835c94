package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/store"
)

func health(t *testing.T, ds *Datasource) *backend.CheckHealthResult {
	t.Helper()
	r, err := ds.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHealthCheck(t *testing.T) {
	_, db := migrated(t)
	r := health(t, newDS(t, db, nil))
	if r.Status != backend.HealthStatusOk || !strings.Contains(r.Message, "schema version "+itoa(store.LatestSchemaVersion())) {
		t.Fatalf("healthy: %v %q", r.Status, r.Message)
	}

	// The database does not exist.
	r = health(t, newDS(t, "no_such_db", nil))
	if r.Status != backend.HealthStatusError || !strings.Contains(r.Message, `database "no_such_db" missing`) {
		t.Fatalf("missing database: %q", r.Message)
	}

	// The database exists, but nobody ran the migrations.
	conn, empty := chembedtest.NewDatabase(t)
	r = health(t, newDS(t, empty, nil))
	want := "schema version 0 < " + itoa(store.LatestSchemaVersion()) + ` in database "` + empty + `" (no schema_migrations table): run the migrations`
	if r.Status != backend.HealthStatusError || r.Message != want {
		t.Fatalf("no schema: %q, want %q", r.Message, want)
	}
	// The migrations table exists but records fewer versions than the plugin needs.
	if err := conn.Exec(context.Background(), "CREATE TABLE "+empty+".schema_migrations (version UInt32, name String, applied_at DateTime64(3) DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY version"); err != nil {
		t.Fatal(err)
	}
	r = health(t, newDS(t, empty, nil))
	want = "schema version 0 < " + itoa(store.LatestSchemaVersion()) + ` in database "` + empty + `": run the migrations`
	if r.Status != backend.HealthStatusError || r.Message != want {
		t.Fatalf("old schema: %q, want %q", r.Message, want)
	}

	// Nothing listens.
	ds := newDS(t, db, map[string]any{"addresses": []string{"127.0.0.1:1"}, "dialTimeoutSeconds": 2})
	start := time.Now()
	r = health(t, ds)
	if r.Status != backend.HealthStatusError || !strings.HasPrefix(r.Message, "cannot connect to 127.0.0.1:1 (native)") {
		t.Fatalf("no server: %q", r.Message)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("health check took %s", time.Since(start))
	}
	// And queries against it fail as downstream errors.
	q := query(t, ds, "sessions", time.Now().Add(-time.Hour), time.Now(), nil)
	if q.Error == nil || q.ErrorSource != backend.ErrorSourceDownstream {
		t.Fatalf("query without server: %v %q", q.Error, q.ErrorSource)
	}
}

func itoa(v uint32) string { b, _ := json.Marshal(v); return string(b) }

func TestSettings(t *testing.T) {
	s, err := LoadSettings(backend.DataSourceInstanceSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Addresses[0] != DefaultAddress || s.Protocol != "native" || s.Database != "sessionreplay" || s.Username != "default" ||
		s.DialTimeout != 10*time.Second || s.QueryTimeout != 60*time.Second || s.MaxRows != 10000 || s.usesTLS() {
		t.Fatalf("defaults %+v", s)
	}
	s, err = LoadSettings(backend.DataSourceInstanceSettings{
		JSONData: []byte(`{"addresses":["ch1:8443"," ch2:8443 "],"protocol":"http","database":"replay","username":"reader","tlsEnabled":true,
			"tlsSkipVerify":"true","dialTimeoutSeconds":"3","queryTimeoutSeconds":30,"maxRows":"500","tracesDatasourceUid":"tempo"}`),
		DecryptedSecureJSONData: map[string]string{"password": "s3cret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Addresses) != 2 || s.Addresses[1] != "ch2:8443" || s.Protocol != "http" || s.Database != "replay" || s.Username != "reader" ||
		s.Password != "s3cret" || !s.TLSSkipVerify || s.DialTimeout != 3*time.Second || s.QueryTimeout != 30*time.Second ||
		s.MaxRows != 500 || s.TracesDatasourceUID != "tempo" {
		t.Fatalf("parsed %+v", s)
	}
	opts, err := s.ClickHouseOptions()
	if err != nil || opts.TLS == nil || !opts.TLS.InsecureSkipVerify || opts.Auth.Password != "s3cret" || opts.Auth.Database != "" {
		t.Fatalf("options %+v %v", opts, err)
	}
	for name, js := range map[string]string{
		"bad json":      `{`,
		"bad address":   `{"addresses":["nohost"]}`,
		"bad protocol":  `{"protocol":"grpc"}`,
		"bad database":  `{"database":"x; DROP DATABASE y"}`,
		"bad timeout":   `{"queryTimeoutSeconds":-1}`,
		"not a number":  `{"maxRows":"lots"}`,
		"zero max rows": `{"maxRows":0}`,
	} {
		_, err := LoadSettings(backend.DataSourceInstanceSettings{JSONData: []byte(js)})
		if err == nil || !backend.IsDownstreamError(err) {
			t.Errorf("%s: %v (downstream %v)", name, err, backend.IsDownstreamError(err))
		}
	}
	for name, sec := range map[string]map[string]string{
		"bad CA":           {"tlsCACert": "not a pem"},
		"cert without key": {"tlsClientCert": "x"},
		"bad client cert":  {"tlsClientCert": "x", "tlsClientKey": "y"},
	} {
		_, err := LoadSettings(backend.DataSourceInstanceSettings{DecryptedSecureJSONData: sec})
		if err == nil || !backend.IsDownstreamError(err) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A settings error reaches each query as a downstream error through the
	// instance manager; here the factory error itself carries the source.
	_, err = NewDatasource(context.Background(), backend.DataSourceInstanceSettings{JSONData: []byte(`{"protocol":"x"}`)})
	var ews backend.ErrorWithSource
	if !errors.As(err, &ews) || ews.ErrorSource() != backend.ErrorSourceDownstream {
		t.Fatalf("factory error %v", err)
	}
}
