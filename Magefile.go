//go:build mage

// Build, run and test targets. Run them with `go tool mage <target>`
// (`go tool mage -l` lists them); mage is a tool of this module, so nothing
// needs installing by hand.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/build"
	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"
)

// Default builds the backend plugin for every platform Grafana runs on, into
// dist/datasource/ (the Grafana SDK's BuildAll).
var Default = BuildAll

// BuildAll builds the backend plugin for every platform Grafana supports.
func BuildAll() { build.BuildAll() }

// Build is the Grafana SDK's backend build, one platform at a time.
type Build mg.Namespace

// Backend builds the backend plugin for this machine into dist/datasource/.
func (Build) Backend() error { return build.Build{}.Backend() }

// Linux builds the backend plugin for linux/amd64.
func (Build) Linux() error { return build.Build{}.Linux() }

// Manifest writes dist/go_plugin_build_manifest.
func (Build) Manifest() error { return build.Build{}.GenerateManifestFile() }

// Collector builds the OpenTelemetry Collector with the sessionreplay receiver
// into dist/otelcol-sessionreplay.
func Collector() error {
	return sh.RunV("go", "build", "-o", "dist/otelcol-sessionreplay", "./collector-receiver/cmd/otelcol-sessionreplay")
}

// ClickHouse serves the embedded ClickHouse on 127.0.0.1:9000 (native) and
// :8123 (HTTP), data in .data/clickhouse, until Ctrl-C.
func ClickHouse() error {
	return sh.RunV("go", "run", "./pkg/cmd/sessionreplay", "clickhouse")
}

// Demo is the main job: embedded ClickHouse (or $SESSIONREPLAY_CLICKHOUSE_DSN),
// the schema, the collector with the sessionreplay receiver; it says what runs where.
func Demo() error {
	mg.Deps(Collector, Recorder)
	return sh.RunV("go", "run", "./pkg/cmd/sessionreplay", "demo")
}

// Recorder builds the browser recorder's bundles into recorder/dist.
func Recorder() error {
	if err := ensureNodeModules(); err != nil {
		return err
	}
	return sh.RunV("npm", "run", "build", "-w", "recorder")
}

// E2E follows one real session from Chromium through the collector and
// ClickHouse to the plugin and the replay panel (tests/e2e).
func E2E() error {
	mg.Deps(Recorder, PanelHarness)
	return sh.RunV("go", "test", "-tags", "e2e", "-count=1", "-v", "-timeout=15m", "./tests/e2e")
}

// PanelHarness bundles the replay panel test page (tests/panel/harness.tsx).
func PanelHarness() error {
	if err := ensureNodeModules(); err != nil {
		return err
	}
	return sh.RunV("node", "tests/panel/build-harness.mjs")
}

// Test runs every test: Go (unit + integration on the embedded ClickHouse),
// the frontend (typecheck, lint, jest, build, Chromium panel test) and the
// recorder (build, Chromium tests). It runs all steps and fails if any failed.
func Test() error {
	if err := ensureNodeModules(); err != nil {
		return err
	}
	steps := []step{
		{"go vet", []string{"go", "vet", "./..."}},
		{"go test", []string{"go", "test", "-count=1", "-v", "-timeout=20m", "./..."}},
		{"frontend typecheck", []string{"npm", "run", "typecheck"}},
		{"frontend lint", []string{"npm", "run", "lint"}},
		{"frontend jest", []string{"npm", "run", "test:ci"}},
		{"frontend build", []string{"npm", "run", "build"}},
		{"frontend panel (Chromium)", []string{"npm", "run", "test:panel"}},
		{"recorder typecheck", []string{"npm", "run", "typecheck", "-w", "recorder"}},
		{"recorder build", []string{"npm", "run", "build", "-w", "recorder"}},
		{"recorder (Chromium)", []string{"npm", "test", "-w", "recorder"}},
		{"end-to-end (Chromium, collector, ClickHouse, plugin)", []string{"go", "tool", "mage", "e2e"}},
	}
	return runSteps(steps)
}

type step struct {
	name string
	cmd  []string
}

// runSteps runs every step even after a failure, so one run shows all that is
// broken, then prints a summary line.
func runSteps(steps []step) error {
	var failed []string
	for _, s := range steps {
		fmt.Printf("\n=== step: %s (%s)\n", s.name, strings.Join(s.cmd, " "))
		start := time.Now()
		cmd := exec.Command(s.cmd[0], s.cmd[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Printf("=== step FAILED: %s after %s: %v\n", s.name, time.Since(start).Round(time.Second), err)
			failed = append(failed, s.name)
			continue
		}
		fmt.Printf("=== step ok: %s in %s\n", s.name, time.Since(start).Round(time.Second))
	}
	fmt.Printf("\nsteps: %d passed, %d failed\n", len(steps)-len(failed), len(failed))
	if len(failed) > 0 {
		return fmt.Errorf("failed steps: %s", strings.Join(failed, ", "))
	}
	return nil
}

func ensureNodeModules() error {
	if _, err := os.Stat("node_modules"); err == nil {
		return nil
	}
	return sh.RunV("npm", "ci")
}
