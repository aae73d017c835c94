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
	"github.com/seed/sessionreplay/pkg/demoapp"
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

	fmt.Println("\nsession replay demo is running:")
	for _, r := range running {
		fmt.Println("  -", r)
	}
	fmt.Println("  - Grafana plugin: `npm run build && go tool mage` builds it into dist/; point a Grafana at dist/ and provisioning/ (see README)")
	fmt.Println("Ctrl-C stops everything.")

	select {
	case <-ctx.Done():
		return nil
	case err := <-collectorDone:
		return fmt.Errorf("collector exited: %v (see .data/collector.log)", err)
	}
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
	if err := cmd.Start(); err != nil {
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
