package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/seed/sessionreplay/pkg/chembed"
	"github.com/seed/sessionreplay/pkg/childproc"
	"github.com/seed/sessionreplay/pkg/demoapp"
	"github.com/seed/sessionreplay/pkg/grafanarun"
	"github.com/seed/sessionreplay/pkg/plugincheck"
)

func runDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	dsn := dsnFlag(fs, "")
	embedded := embeddedFlags(fs)
	opts := schemaFlags(fs)
	collector := fs.String("collector", "dist/otelcol-sessionreplay", "collector binary with the sessionreplay receiver (built by `go tool mage collector`)")
	collectorConfig := fs.String("collector-config", "collector-receiver/config/demo.yaml", "collector YAML configuration")
	shopAddr := fs.String("shop-addr", "127.0.0.1:8080", "address of the demo shop (pages with the recorder, and its backend services)")
	otlpEndpoint := fs.String("otlp-endpoint", "http://127.0.0.1:4318", "the collector's OTLP/HTTP endpoint, as the shop's pages and services reach it")
	recorderDir := fs.String("recorder-dir", "recorder/dist", "the recorder's built bundles (npm run build -w recorder)")
	grafanaAddr := fs.String("grafana-addr", "127.0.0.1:3000", "Grafana's listen address (a Grafana on the machine, or the docker command printed)")
	dist := fs.String("dist", "dist", "the built Grafana plugin (npm run build, go tool mage build:backend)")
	provisioning := fs.String("provisioning", "provisioning", "Grafana provisioning: data sources, dashboards, the app")
	grafanaData := fs.String("grafana-data", ".data/grafana", "Grafana's ini, provisioning and state for the demo")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var running []string
	if *dsn == "" {
		srv, err := chembed.Start(ctx, *embedded)
		if err != nil {
			return err
		}
		defer func() {
			fmt.Println("stopping embedded ClickHouse...")
			if err := srv.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}()
		*dsn = srv.DSN(opts.Database)
		running = append(running, fmt.Sprintf("ClickHouse %s (embedded)  native %s, http http://%s, data %s",
			srv.Version(), srv.TCPAddr(), srv.HTTPAddr(), embedded.DataDir))
	} else {
		running = append(running, "ClickHouse (yours)  "+*dsn)
	}
	if err := migrate(ctx, *dsn, *opts); err != nil {
		return err
	}

	var collectorDone <-chan error
	if _, err := os.Stat(*collector); err == nil {
		cmd, done, err := startCollector(*collector, *collectorConfig, *dsn)
		if err != nil {
			return err
		}
		collectorDone = done
		defer stopProcess("collector", cmd, done)
		running = append(running, fmt.Sprintf("OpenTelemetry Collector with the sessionreplay receiver  OTLP/HTTP %s (the receiver's endpoint in %s), log .data/collector.log", *otlpEndpoint, *collectorConfig))
	} else {
		running = append(running, fmt.Sprintf("collector: not started (%s not built: run `go tool mage collector`)", *collector))
	}

	shop, err := demoapp.Start(ctx, demoapp.Config{Addr: *shopAddr, OTLPEndpoint: *otlpEndpoint, RecorderDir: *recorderDir})
	if err != nil {
		return fmt.Errorf("demo shop: %w", err)
	}
	defer shop.Close(context.Background())
	running = append(running, fmt.Sprintf("demo shop %s  pages %v record sessions to %s; POST /api/checkout fails in the payments service", shop.URL, demoapp.Paths(), *otlpEndpoint))

	grafana, line, open, err := startGrafana(ctx, grafanarun.Config{Dist: *dist, Provisioning: *provisioning, DataDir: *grafanaData,
		Addr: *grafanaAddr, ClickHouseDSN: *dsn, PluginIDs: pluginIDs(*dist)})
	if err != nil {
		return err
	}
	var grafanaDone <-chan struct{}
	if grafana != nil {
		defer func() { fmt.Println("stopping Grafana..."); grafana.Stop() }()
		grafanaDone = grafana.Done()
	}
	running = append(running, line)

	fmt.Println("\nsession replay demo is running:")
	for _, r := range running {
		fmt.Println("  -", r)
	}
	fmt.Println("Click around the shop and press \"Pay\", then " + open)
	fmt.Println("Ctrl-C stops everything.")

	select {
	case <-ctx.Done():
		return nil
	case err := <-collectorDone:
		return fmt.Errorf("collector exited: %v (see .data/collector.log)", err)
	case <-grafanaDone:
		return fmt.Errorf("grafana exited: %v (see %s)", grafana.Err(), filepath.Join(*grafanaData, "grafana.log"))
	}
}

// startGrafana writes the demo's Grafana configuration and starts the Grafana
// on this machine, if there is one; otherwise it says the docker command that
// runs Grafana's image the same way. It returns the banner line and what to open.
func startGrafana(ctx context.Context, cfg grafanarun.Config) (*grafanarun.Running, string, string, error) {
	if _, err := os.Stat(filepath.Join(cfg.Dist, "module.js")); err != nil {
		return nil, fmt.Sprintf("Grafana: the plugin is not built in %s/ (`go tool mage demo` builds it)", cfg.Dist),
			"build the plugin to watch the replays in Grafana.", nil
	}
	layout, err := grafanarun.Write(cfg)
	if err != nil {
		return nil, "", "", err
	}
	open := "open " + layout.DashboardURL() + " to watch the replays."
	bin, home, err := grafanarun.Server()
	if err != nil {
		return nil, fmt.Sprintf("Grafana: none on this machine (GRAFANA_HOME or grafana on PATH); run Grafana's image with %s/ and the demo's provisioning:\n      %s",
			cfg.Dist, grafanarun.DockerCommand(cfg, layout)), open, nil
	}
	logFile := filepath.Join(cfg.DataDir, "grafana.log")
	g, err := grafanarun.Start(ctx, bin, home, layout, logFile)
	if err != nil {
		return nil, "", "", err
	}
	return g, fmt.Sprintf("Grafana %s (%s, anonymous admin) with the plugin from %s/, log %s", layout.URL, bin, cfg.Dist, logFile), open, nil
}

// pluginIDs are the app's and its nested plugins' ids, from dist/.
func pluginIDs(dist string) []string {
	plugins, err := plugincheck.Load(dist)
	if err != nil {
		return []string{"seed-sessionreplay-app", "seed-sessionreplay-datasource", "seed-sessionreplay-panel"}
	}
	ids := make([]string, 0, len(plugins))
	for _, p := range plugins {
		ids = append(ids, p.JSON.ID)
	}
	return ids
}

func startCollector(bin, config, dsn string) (*exec.Cmd, <-chan error, error) {
	if err := os.MkdirAll(".data", 0o755); err != nil {
		return nil, nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(".data", "collector.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "--config", config)
	cmd.Env = append(os.Environ(), DSNEnv+"="+dsn)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group: on Ctrl-C the demo stops it (drain, flush) before ClickHouse.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := childproc.Start(cmd); err != nil {
		logFile.Close()
		return nil, nil, fmt.Errorf("start collector: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- cmd.Wait()
		logFile.Close()
	}()
	return cmd, done, nil
}

func stopProcess(name string, cmd *exec.Cmd, done <-chan error) {
	fmt.Printf("stopping %s...\n", name)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		fmt.Fprintf(os.Stderr, "%s did not stop within 30s and was killed\n", name)
	}
}
