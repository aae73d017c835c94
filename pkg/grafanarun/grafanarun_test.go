package grafanarun

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"gopkg.in/yaml.v3"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/pluginhost"
	"github.com/seed/sessionreplay/pkg/store"
)

func TestMain(m *testing.M) { os.Exit(chembedtest.Main(m)) }

var pluginIDs = []string{"seed-sessionreplay-app", "seed-sessionreplay-datasource", "seed-sessionreplay-panel"}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	return filepath.Dir(filepath.Dir(wd)) // pkg/grafanarun -> root
}

// ini reads Grafana's ini format: section -> key -> value.
func ini(t *testing.T, file string) map[string]map[string]string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	section := ""
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			out[section] = map[string]string{}
		default:
			k, v, _ := strings.Cut(line, "=")
			out[section][strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// What the demo writes for Grafana, with the demo's real ClickHouse: the
// provisioned data source, given to the real backend plugin, passes its
// health check against that ClickHouse.
func TestWrittenGrafanaReachesTheDemosClickHouse(t *testing.T) {
	root := repoRoot(t)
	conn, db := chembedtest.NewDatabase(t)
	opts := store.DefaultSchemaOptions()
	opts.Database = db
	if _, err := store.Migrate(context.Background(), conn, opts); err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	cfg := Config{Dist: dist, Provisioning: filepath.Join(root, "provisioning"), DataDir: t.TempDir(), Addr: "127.0.0.1:3000",
		ClickHouseDSN: chembedtest.DSN(db), PluginIDs: pluginIDs}
	l, err := Write(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if l.DashboardURL() != "http://127.0.0.1:3000/d/sessionreplay-sessions" {
		t.Errorf("dashboard URL %s", l.DashboardURL())
	}

	conf := ini(t, l.Ini)
	for _, want := range [][3]string{
		{"server", "http_addr", "127.0.0.1"}, {"server", "http_port", "3000"},
		{"auth.anonymous", "enabled", "true"}, {"auth.anonymous", "org_role", "Admin"},
		{"plugins", "allow_loading_unsigned_plugins", strings.Join(pluginIDs, ",")},
		{"paths", "plugins", l.Plugins}, {"paths", "provisioning", l.Provisioning},
	} {
		if got := conf[want[0]][want[1]]; got != want[2] {
			t.Errorf("[%s] %s = %q, want %q", want[0], want[1], got, want[2])
		}
	}
	if target, err := os.Readlink(filepath.Join(l.Plugins, "seed-sessionreplay-app")); err != nil || target != dist {
		t.Errorf("plugins/seed-sessionreplay-app -> %q (%v), want dist/ %s", target, err, dist)
	}

	// The dashboards provider reads the copied dashboards.
	var providers struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(l.Provisioning, "dashboards", "dashboards.yaml"), &providers)
	if len(providers.Providers) != 1 {
		t.Fatalf("providers: %+v", providers)
	}
	if _, err := os.Stat(filepath.Join(providers.Providers[0].Options.Path, "session-replay.json")); err != nil {
		t.Errorf("dashboards provider path %q: %v", providers.Providers[0].Options.Path, err)
	}
	if _, err := os.Stat(filepath.Join(l.Provisioning, "plugins", "app.yaml")); err != nil {
		t.Errorf("the app is not provisioned: %v", err)
	}

	// The provisioned data source, as Grafana would hand it to the backend.
	var dss struct {
		Datasources []struct {
			UID      string         `yaml:"uid"`
			Type     string         `yaml:"type"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(l.Provisioning, "datasources", "datasource.yaml"), &dss)
	ds := dss.Datasources[0]
	if addrs, _ := ds.JSONData["addresses"].([]any); len(addrs) != 1 || addrs[0] != chembedtest.Addr() || ds.JSONData["database"] != db {
		t.Fatalf("provisioned data source %+v, want %s / %s", ds.JSONData, chembedtest.Addr(), db)
	}
	bin := filepath.Join(t.TempDir(), "gpx_sessionreplay")
	if out, err := exec.Command("go", "build", "-o", bin, "../../pkg").CombinedOutput(); err != nil {
		t.Fatalf("go build ./pkg: %v\n%s", err, out)
	}
	plugin, err := pluginhost.Start(bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plugin.Kill()
	jsonData, _ := json.Marshal(ds.JSONData)
	res, err := plugin.Diagnostics.CheckHealth(context.Background(), &pluginv2.CheckHealthRequest{PluginContext: &pluginv2.PluginContext{
		OrgId: 1, PluginId: ds.Type,
		DataSourceInstanceSettings: &pluginv2.DataSourceInstanceSettings{Id: 1, Uid: ds.UID, Name: "Session Replay", JsonData: jsonData, LastUpdatedMS: 1},
	}})
	if err != nil || res.Status != pluginv2.CheckHealthResponse_OK {
		t.Fatalf("health of the provisioned data source: %v %v", res, err)
	}
	t.Logf("provisioned data source: %s", res.Message)
}

func TestDockerCommandMountsDistAndProvisioning(t *testing.T) {
	cfg := Config{Dist: "/repo/dist", Addr: "127.0.0.1:3000", PluginIDs: pluginIDs}
	cmd := DockerCommand(cfg, Layout{Provisioning: "/repo/.data/grafana/provisioning"})
	for _, want := range []string{
		"--network host", `-v "/repo/dist":/var/lib/grafana/plugins/seed-sessionreplay-app`,
		`-v "/repo/.data/grafana/provisioning":"/repo/.data/grafana/provisioning"`,
		"GF_SERVER_HTTP_ADDR=127.0.0.1", "GF_SERVER_HTTP_PORT=3000", "GF_AUTH_ANONYMOUS_ENABLED=true",
		"GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=" + strings.Join(pluginIDs, ","), Image,
	} {
		if !strings.Contains(cmd, want) {
			t.Errorf("docker command lacks %q:\n%s", want, cmd)
		}
	}
}

func TestServerIsFoundFromGrafanaHomeOrSaysThereIsNone(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("GRAFANA_HOME", "")
	if _, _, err := Server(); !errors.Is(err, ErrNoGrafana) {
		t.Errorf("without Grafana: %v, want ErrNoGrafana", err)
	}
	home := t.TempDir()
	_ = os.MkdirAll(filepath.Join(home, "bin"), 0o755)
	_ = os.WriteFile(filepath.Join(home, "bin", "grafana"), []byte("#!/bin/sh\n"), 0o755)
	t.Setenv("GRAFANA_HOME", home)
	if bin, h, err := Server(); err != nil || bin != filepath.Join(home, "bin", "grafana") || h != home {
		t.Errorf("GRAFANA_HOME=%s: %s %s %v", home, bin, h, err)
	}
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// docker-compose.yaml runs the same Grafana against the demo's defaults
// (embedded ClickHouse native 127.0.0.1:9000, database of the default schema,
// Grafana on 127.0.0.1:3000; pkg/cmd/sessionreplay's flags), with the
// repository's provisioning as mounted.
func TestDockerComposeRunsGrafanaAgainstTheDemosDefaults(t *testing.T) {
	root := repoRoot(t)
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			NetworkMode string            `yaml:"network_mode"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
		} `yaml:"services"`
	}
	readYAML(t, filepath.Join(root, "docker-compose.yaml"), &compose)
	g, ok := compose.Services["grafana"]
	if !ok {
		t.Fatalf("no grafana service: %+v", compose)
	}
	if g.Image != Image || g.NetworkMode != "host" {
		t.Errorf("image %q network %q, want %s on the host network", g.Image, g.NetworkMode, Image)
	}
	for k, v := range map[string]string{"GF_SERVER_HTTP_ADDR": "127.0.0.1", "GF_SERVER_HTTP_PORT": "3000", "GF_AUTH_ANONYMOUS_ENABLED": "true",
		"GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS": strings.Join(pluginIDs, ",")} {
		if g.Environment[k] != v {
			t.Errorf("%s = %q, want %q", k, g.Environment[k], v)
		}
	}
	want := []string{"./dist:/var/lib/grafana/plugins/seed-sessionreplay-app", "./provisioning:/etc/grafana/provisioning"}
	if strings.Join(g.Volumes, " ") != strings.Join(want, " ") {
		t.Errorf("volumes %v, want %v", g.Volumes, want)
	}
	var providers struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(root, "provisioning", "dashboards", "dashboards.yaml"), &providers)
	if p := providers.Providers[0].Options.Path; p != "/etc/grafana/provisioning/dashboards" {
		t.Errorf("dashboards provider reads %q, not the mounted provisioning", p)
	}
	var dss struct {
		Datasources []struct {
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(root, "provisioning", "datasources", "datasource.yaml"), &dss)
	jd := dss.Datasources[0].JSONData
	if addrs, _ := jd["addresses"].([]any); len(addrs) != 1 || addrs[0] != "127.0.0.1:9000" || jd["database"] != store.DefaultSchemaOptions().Database || jd["protocol"] != "native" {
		t.Errorf("provisioned data source %v, want the demo's embedded ClickHouse 127.0.0.1:9000 / %s", jd, store.DefaultSchemaOptions().Database)
	}
}

// fakeGrafana is a stand-in `grafana` binary for Start: it checks the command
// line Grafana's CLI takes (server --homepath <home> --config <ini>) and serves
// /api/health on the ini's address until SIGTERM.
const fakeGrafana = `package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
)

func main() {
	a := os.Args[1:]
	if len(a) != 5 || a[0] != "server" || a[1] != "--homepath" || a[3] != "--config" {
		fmt.Fprintln(os.Stderr, "bad args", a)
		os.Exit(2)
	}
	ini, err := os.ReadFile(a[4])
	if err != nil {
		os.Exit(3)
	}
	var host, port string
	for _, l := range strings.Split(string(ini), "\n") {
		k, v, _ := strings.Cut(l, "=")
		switch strings.TrimSpace(k) {
		case "http_addr":
			host = strings.TrimSpace(v)
		case "http_port":
			port = strings.TrimSpace(v)
		}
	}
	http.HandleFunc("/api/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "{\"database\":\"ok\"}") })
	fmt.Println("listening", host+":"+port)
	_ = http.ListenAndServe(host+":"+port, nil)
}
`

func TestStartRunsGrafanaServerWithTheWrittenIniUntilHealthy(t *testing.T) {
	home := t.TempDir()
	src := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(src, []byte(fakeGrafana), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("go", "build", "-o", filepath.Join(home, "bin", "grafana"), src).CombinedOutput(); err != nil {
		t.Fatalf("build the stand-in grafana: %v\n%s", err, out)
	}
	t.Setenv("GRAFANA_HOME", home)
	bin, h, err := Server()
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cfg := Config{Dist: t.TempDir(), Provisioning: filepath.Join(repoRoot(t), "provisioning"), DataDir: t.TempDir(), Addr: addr,
		ClickHouseDSN: "clickhouse://127.0.0.1:9000/sessionreplay", PluginIDs: pluginIDs}
	l, err := Write(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Start(context.Background(), bin, h, l, filepath.Join(cfg.DataDir, "grafana.log"))
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(cfg.DataDir, "grafana.log"))
		t.Fatalf("start: %v\n%s", err, log)
	}
	resp, err := http.Get(l.URL + "/api/health")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health at %s: %v %v", l.URL, resp, err)
	}
	resp.Body.Close()
	g.Stop()
	select {
	case <-g.Done():
	default:
		t.Error("the process still runs after Stop")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
