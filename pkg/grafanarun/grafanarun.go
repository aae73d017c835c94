// Package grafanarun prepares and runs a Grafana server for the demo: an ini
// with the plugin folder (dist/), unsigned-plugin loading for our plugin ids,
// anonymous access and the demo's listen address, and a provisioning folder
// whose Session Replay data source points at the demo's real ClickHouse. When
// no Grafana is installed, it says the one `docker run` that does the same.
package grafanarun

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"gopkg.in/yaml.v3"

	"github.com/seed/sessionreplay/pkg/childproc"
)

// Errors of preparing or starting Grafana.
var (
	ErrNoGrafana   = errors.New("grafanarun: no Grafana server (set GRAFANA_HOME or put grafana on PATH)")
	ErrBadDSN      = errors.New("grafanarun: ClickHouse DSN has no address")
	ErrNotReady    = errors.New("grafanarun: Grafana did not become healthy")
	ErrProvisioned = errors.New("grafanarun: provisioning/ is not as expected")
)

// Image is the Grafana container image the docker command and
// docker-compose.yaml run: the version of the @grafana packages the plugin
// builds against (package.json).
const Image = "grafana/grafana:13.1.1"

// DashboardPath is where the "Session replay" dashboard opens (its uid).
const DashboardPath = "/d/sessionreplay-sessions"

// Config says where everything is; paths may be relative to the working directory.
type Config struct {
	// Dist is the built plugin folder (dist/).
	Dist string
	// Provisioning is the repository's provisioning/ folder.
	Provisioning string
	// DataDir is Grafana's state for the demo (.data/grafana).
	DataDir string
	// Addr is Grafana's listen address (127.0.0.1:3000).
	Addr string
	// ClickHouseDSN is the demo's ClickHouse (clickhouse-go DSN).
	ClickHouseDSN string
	// PluginIDs are allowed to load unsigned (the app and its nested plugins).
	PluginIDs []string
}

// Layout is what Write produced.
type Layout struct {
	Ini          string // grafana.ini
	Provisioning string // the provisioning folder Grafana reads
	Plugins      string // Grafana's plugins folder, with our app linked to Dist
	URL          string // Grafana's root URL
}

// DashboardURL is the URL of the "Session replay" dashboard.
func (l Layout) DashboardURL() string { return l.URL + DashboardPath }

// Write writes the ini and the provisioning folder for cfg into cfg.DataDir.
func Write(cfg Config) (Layout, error) {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return Layout{}, err
	}
	dist, err := filepath.Abs(cfg.Dist)
	if err != nil {
		return Layout{}, err
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return Layout{}, fmt.Errorf("grafanarun: listen address %q: %w", cfg.Addr, err)
	}
	l := Layout{
		Ini:          filepath.Join(dataDir, "grafana.ini"),
		Provisioning: filepath.Join(dataDir, "provisioning"),
		Plugins:      filepath.Join(dataDir, "plugins"),
		URL:          "http://" + cfg.Addr,
	}
	for _, d := range []string{l.Plugins, filepath.Join(l.Provisioning, "datasources"), filepath.Join(l.Provisioning, "dashboards"), filepath.Join(l.Provisioning, "plugins")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Layout{}, err
		}
	}
	// Grafana finds plugins by walking its plugins folder and follows links.
	link := filepath.Join(l.Plugins, filepath.Base(appID(cfg)))
	_ = os.Remove(link)
	if err := os.Symlink(dist, link); err != nil {
		return Layout{}, err
	}
	if err := writeProvisioning(cfg, l); err != nil {
		return Layout{}, err
	}
	ini := fmt.Sprintf(`# Written by the session replay demo (pkg/grafanarun); rewritten on every start.
[server]
http_addr = %s
http_port = %s
root_url = %s/

[paths]
data = %s
logs = %s
plugins = %s
provisioning = %s

[auth.anonymous]
enabled = true
org_role = Admin

[auth]
disable_login_form = true

[plugins]
allow_loading_unsigned_plugins = %s

[analytics]
reporting_enabled = false
check_for_updates = false
check_for_plugin_updates = false

[news]
news_feed_enabled = false
`, host, port, l.URL, filepath.Join(dataDir, "data"), filepath.Join(dataDir, "logs"), l.Plugins, l.Provisioning, strings.Join(cfg.PluginIDs, ","))
	if err := os.WriteFile(l.Ini, []byte(ini), 0o644); err != nil {
		return Layout{}, err
	}
	return l, nil
}

func appID(cfg Config) string {
	if len(cfg.PluginIDs) == 0 {
		return "seed-sessionreplay-app"
	}
	return cfg.PluginIDs[0]
}

// writeProvisioning copies provisioning/ with two changes: the Session Replay
// data source points at the demo's ClickHouse, and the dashboards provider
// reads the copied dashboards from their absolute path.
func writeProvisioning(cfg Config, l Layout) error {
	src := cfg.Provisioning
	entries, err := filepath.Glob(filepath.Join(src, "*", "*"))
	if err != nil {
		return err
	}
	for _, f := range entries {
		rel, _ := filepath.Rel(src, f)
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		switch rel {
		case filepath.Join("datasources", "datasource.yaml"):
			if raw, err = pointAtClickHouse(raw, cfg.ClickHouseDSN); err != nil {
				return err
			}
		case filepath.Join("dashboards", "dashboards.yaml"):
			if raw, err = readDashboardsFrom(raw, filepath.Join(l.Provisioning, "dashboards")); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(l.Provisioning, rel), raw, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func pointAtClickHouse(raw []byte, dsn string) ([]byte, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil || len(opts.Addr) == 0 {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadDSN, dsn, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	list, _ := doc["datasources"].([]any)
	found := false
	for _, item := range list {
		ds, _ := item.(map[string]any)
		if ds["type"] != "seed-sessionreplay-datasource" {
			continue
		}
		found = true
		jsonData, _ := ds["jsonData"].(map[string]any)
		if jsonData == nil {
			jsonData = map[string]any{}
		}
		protocol := "native"
		if opts.Protocol == clickhouse.HTTP {
			protocol = "http"
		}
		jsonData["addresses"] = opts.Addr
		jsonData["protocol"] = protocol
		jsonData["database"] = opts.Auth.Database
		jsonData["username"] = cmp.Or(opts.Auth.Username, "default") // clickhouse-go's user when the DSN names none
		ds["jsonData"] = jsonData
		ds["secureJsonData"] = map[string]any{"password": opts.Auth.Password}
	}
	if !found {
		return nil, fmt.Errorf("%w: no seed-sessionreplay-datasource in datasources/datasource.yaml", ErrProvisioned)
	}
	return yaml.Marshal(doc)
}

func readDashboardsFrom(raw []byte, dir string) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	providers, _ := doc["providers"].([]any)
	if len(providers) == 0 {
		return nil, fmt.Errorf("%w: no dashboard providers", ErrProvisioned)
	}
	for _, p := range providers {
		pm, _ := p.(map[string]any)
		options, _ := pm["options"].(map[string]any)
		if options == nil {
			options = map[string]any{}
		}
		options["path"] = dir
		pm["options"] = options
	}
	return yaml.Marshal(doc)
}

// Server finds a Grafana server: $GRAFANA_HOME/bin/grafana, or grafana on
// PATH with its home beside it (or the Debian package's /usr/share/grafana).
func Server() (bin, home string, err error) {
	if h := os.Getenv("GRAFANA_HOME"); h != "" {
		for _, name := range []string{"bin/grafana", "bin/grafana-server"} {
			if _, err := os.Stat(filepath.Join(h, name)); err == nil {
				return filepath.Join(h, name), h, nil
			}
		}
		return "", "", fmt.Errorf("%w: GRAFANA_HOME=%s has no bin/grafana", ErrNoGrafana, h)
	}
	bin, err = exec.LookPath("grafana")
	if err != nil {
		return "", "", ErrNoGrafana
	}
	real, _ := filepath.EvalSymlinks(bin)
	for _, h := range []string{filepath.Dir(filepath.Dir(real)), "/usr/share/grafana"} {
		if _, err := os.Stat(filepath.Join(h, "conf", "defaults.ini")); err == nil {
			return bin, h, nil
		}
	}
	return "", "", fmt.Errorf("%w: no conf/defaults.ini beside %s", ErrNoGrafana, real)
}

// Running is a started Grafana.
type Running struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // its exit, once exited is closed
}

// Start runs `grafana server` with l's ini, logging to logFile, and waits
// until /api/health answers.
func Start(ctx context.Context, bin, home string, l Layout, logFile string) (*Running, error) {
	log, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	args := []string{"server", "--homepath", home, "--config", l.Ini}
	if strings.HasSuffix(bin, "grafana-server") {
		args = args[1:]
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = home
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := childproc.Start(cmd); err != nil {
		log.Close()
		return nil, fmt.Errorf("grafanarun: start %s: %w", bin, err)
	}
	r := &Running{cmd: cmd, exited: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		log.Close()
		close(r.exited)
	}()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.exited:
			return nil, fmt.Errorf("%w: exited: %v (see %s)", ErrNotReady, r.err, logFile)
		case <-ctx.Done():
			r.Stop()
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if resp, err := http.Get(l.URL + "/api/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r, nil
			}
		}
	}
	r.Stop()
	return nil, fmt.Errorf("%w within 90s (see %s)", ErrNotReady, logFile)
}

// Done is closed when the process has exited; Err says how.
func (r *Running) Done() <-chan struct{} { return r.exited }

// Err is the process's exit, after Done is closed.
func (r *Running) Err() error {
	<-r.exited
	return r.err
}

// Stop stops Grafana (SIGTERM, then SIGKILL after 20 s).
func (r *Running) Stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(20 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// DockerCommand is the one command that runs Grafana's image with dist/ and
// the written provisioning against the demo (host network: the container
// reaches the demo's loopback ClickHouse, and listens on l's address only).
func DockerCommand(cfg Config, l Layout) string {
	dist, _ := filepath.Abs(cfg.Dist)
	_, port, _ := net.SplitHostPort(cfg.Addr)
	host, _, _ := net.SplitHostPort(cfg.Addr)
	return strings.Join([]string{
		"docker run --rm --network host",
		"-v " + strconv.Quote(dist) + ":/var/lib/grafana/plugins/" + appID(cfg),
		"-v " + strconv.Quote(l.Provisioning) + ":" + strconv.Quote(l.Provisioning),
		"-e GF_PATHS_PROVISIONING=" + strconv.Quote(l.Provisioning),
		"-e GF_SERVER_HTTP_ADDR=" + host + " -e GF_SERVER_HTTP_PORT=" + port,
		"-e GF_AUTH_ANONYMOUS_ENABLED=true -e GF_AUTH_ANONYMOUS_ORG_ROLE=Admin",
		"-e GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=" + strings.Join(cfg.PluginIDs, ","),
		Image,
	}, " ")
}
