//go:build mage

// Build, run and test targets. Run them with `go tool mage <target>`
// (`go tool mage -l` lists them); mage is a tool of this module, so nothing
// needs installing by hand.
package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/build"
	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"
	"github.com/magefile/mage/target"
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
	mg.Deps(Command)
	return sh.RunV("dist/sessionreplay", "clickhouse")
}

// Command builds the project's command (embedded ClickHouse, migrations, demo) into dist/sessionreplay.
func Command() error {
	return sh.RunV("go", "build", "-o", "dist/sessionreplay", "./pkg/cmd/sessionreplay")
}

// Demo is the main job: embedded ClickHouse (or $SESSIONREPLAY_CLICKHOUSE_DSN),
// the schema, the collector with the sessionreplay receiver; it says what runs where.
//
// It builds the Grafana plugin into dist/ too: with a Grafana on the machine
// (GRAFANA_HOME, or grafana on PATH) the demo starts it on 127.0.0.1:3000 with
// dist/ and provisioning/; without one it prints the docker command.
func Demo() error {
	// webpack cleans dist/ (keeping only the backend executables): the
	// frontend is built before the binaries that live there next to it
	mg.SerialDeps(Frontend, Build.Backend)
	mg.Deps(Command, Collector, Recorder)
	return sh.RunV("dist/sessionreplay", "demo")
}

// Recorder builds the browser recorder's bundles into recorder/dist.
func Recorder() error {
	if err := ensureNodeModules(); err != nil {
		return err
	}
	return sh.RunV("npm", "run", "build", "-w", "recorder")
}

// E2E follows one real session from Chromium through the collector and
// ClickHouse to the plugin and the replay panel of dist/ (tests/e2e).
func E2E() error {
	mg.Deps(Recorder, Frontend, PluginHost)
	return sh.RunV("go", "test", "-tags", "e2e", "-count=1", "-v", "-timeout=15m", "./tests/e2e")
}

// ScaleOut runs three real collectors behind a round-robin balancer against
// a 2-shard embedded ClickHouse cluster, kills one with SIGKILL midway and
// compares decisions, chunks and summaries with a single-replica run
// (tests/scaleout, issue 15; about 80 s).
func ScaleOut() error {
	return sh.RunV("go", "test", "-tags", "scaleout", "-count=1", "-v", "-timeout=10m", "./tests/scaleout")
}

// Frontend builds the plugin's frontend into dist/ (npm run build), unless
// dist/module.js is newer than src/ and the build's configuration.
func Frontend() error {
	if err := ensureNodeModules(); err != nil {
		return err
	}
	if stale, err := target.Dir("dist/module.js", "src", ".config", "webpack.config.ts", "package.json"); err == nil && !stale {
		return nil
	}
	return sh.RunV("npm", "run", "build")
}

// PluginHost typechecks and bundles the page of the Grafana-compatible plugin
// host (tests/pluginhost/host.tsx: the shared modules and Grafana's services).
func PluginHost() error {
	if err := ensureNodeModules(); err != nil {
		return err
	}
	if err := sh.RunV("npx", "tsc", "-p", "tests/pluginhost"); err != nil {
		return err
	}
	return sh.RunV("node", "tests/pluginhost/build-host.mjs")
}

// Dist tests what a user installs: dist/ loaded in Chromium the way Grafana
// loads it (tests/pluginhost) and the offline checks of the artifact
// (tests/artifact). It builds dist/ with this platform's backend executable.
func Dist() error {
	mg.Deps(Frontend, PluginHost, Build.Backend)
	return sh.RunV("go", "test", "-tags", "dist", "-count=1", "-v", "-timeout=10m", "./tests/pluginhost", "./tests/artifact")
}

// SDKs is the real-SDK end-to-end test (tests/sdks): HyperDX, Grafana Faro
// and the plain OpenTelemetry JS logs SDK, installed from npm at the versions
// pinned in tests/sdks/package.json, bundled into pages, driven in Chromium
// through the collector and ClickHouse to the plugin and the replay panel.
func SDKs() error {
	mg.Deps(Frontend, PluginHost)
	if err := ensureSDKModules(); err != nil {
		return err
	}
	// the pages against the SDKs' own types (esbuild only strips them)
	if err := sh.RunV("node_modules/.bin/tsc", "-p", "tests/sdks"); err != nil {
		return err
	}
	return sh.RunV("go", "test", "-tags", "e2e", "-count=1", "-v", "-timeout=15m", "./tests/sdks")
}

// ensureSDKModules installs tests/sdks/package.json (its own lock, not a
// workspace of the root) when node_modules is missing or older than the lock.
func ensureSDKModules() error {
	installed, err := os.Stat("tests/sdks/node_modules/.package-lock.json")
	lock, lerr := os.Stat("tests/sdks/package-lock.json")
	if err == nil && lerr == nil && !lock.ModTime().After(installed.ModTime()) {
		return nil
	}
	return sh.RunV("npm", "install", "--prefix", "tests/sdks", "--no-audit", "--no-fund")
}

// Fidelity sends every real recording (../shared/fixtures/rrweb and
// tests/fidelity/testdata) through the collector, ClickHouse and the plugin's
// replay stream, and compares what comes back with what was sent: values, and
// rrweb Replayer renders in Chromium, pixel for pixel (tests/fidelity).
func Fidelity() error {
	if err := ensureNodeModules(); err != nil {
		return err
	}
	return sh.RunV("go", "test", "-tags", "fidelity", "-count=1", "-v", "-timeout=15m", "-run", "TestRecordingsComeBackUnchanged", "./tests/fidelity")
}

// PanelHarness bundles the replay panel test page (tests/panel/harness.tsx).
func PanelHarness() error {
	if err := ensureNodeModules(); err != nil {
		return err
	}
	return sh.RunV("node", "tests/panel/build-harness.mjs")
}

// Test runs every test: Go (unit + integration on the embedded ClickHouse),
// the frontend (typecheck, lint, jest, build, Chromium panel test), the
// recorder (build, Chromium tests), dist/ as Grafana loads it (the SystemJS
// host in Chromium, the offline artifact checks), the end-to-end tests (our
// recorder, the real browser SDKs) and the fidelity suite. It runs all steps
// and fails if any failed.
func Test() error {
	if err := ensureNodeModules(); err != nil {
		return err
	}
	steps := []step{
		{"go vet", append([]string{"go", "vet", "-tags", "e2e,dist,fidelity,scaleout"}, goPackages...)},
		{"go test", append([]string{"go", "test", "-count=1", "-v", "-timeout=20m"}, goPackages...)},
		{"frontend typecheck", []string{"npm", "run", "typecheck"}},
		{"frontend lint", []string{"npm", "run", "lint"}},
		{"frontend jest", []string{"npm", "run", "test:ci"}},
		{"frontend build", []string{"npm", "run", "build"}},
		{"frontend panel (Chromium)", []string{"npm", "run", "test:panel"}},
		{"recorder typecheck", []string{"npm", "run", "typecheck", "-w", "recorder"}},
		{"recorder build", []string{"npm", "run", "build", "-w", "recorder"}},
		{"recorder (Chromium)", []string{"npm", "test", "-w", "recorder"}},
		{"dist/ as Grafana loads it (SystemJS host in Chromium, artifact checks)", []string{"go", "tool", "mage", "dist"}},
		{"end-to-end (Chromium, collector, ClickHouse, plugin)", []string{"go", "tool", "mage", "e2e"}},
		{"real browser SDKs end-to-end (HyperDX, Faro, OTel JS in Chromium)", []string{"go", "tool", "mage", "sdks"}},
		{"fidelity (real recordings through the pipeline, Replayer pixels in Chromium)", []string{"go", "tool", "mage", "fidelity"}},
		{"scale-out (3 collectors, 2-shard ClickHouse, a replica SIGKILLed)", []string{"go", "tool", "mage", "scaleout"}},
	}
	return runSteps(steps)
}

// Bench runs the benchmarks that compare us with the anchors, side by side on
// this machine, prints a table and writes it to BENCHMARKS.md.
func Bench() error {
	mg.Deps(Recorder, PanelHarness)
	var out strings.Builder
	runs := [][]string{
		{"go", "test", "-run", "^$", "-bench", "BenchmarkIngest", "-benchtime", "10x", "-count", "3", "-timeout", "20m", "./collector-receiver/"},
		{"go", "test", "-run", "^$", "-bench", "BenchmarkSummarize", "-benchtime", "30x", "-count", "3", "-timeout", "5m", "./collector-receiver/internal/rrweb/"},
		{"go", "test", "-run", "^$", "-bench", "BenchmarkSessionList", "-benchtime", "1x", "-count", "3", "-timeout", "30m", "./pkg/store/"},
		// -count would interleave these two's log lines with their results;
		// each already reports medians of several passes
		{"go", "test", "-run", "^$", "-bench", "BenchmarkStorage|BenchmarkReplaySeek", "-benchtime", "1x", "-timeout", "30m", "./pkg/store/"},
		// an rr-web event whose parts straddle two requests (joined in ClickHouse)
		{"go", "test", "-run", "^$", "-bench", "BenchmarkPendingParts", "-benchtime", "20x", "-count", "3", "-timeout", "5m", "./pkg/store/"},
		// content-addressed assets: storage of many sessions of one site and
		// of single recordings, and the seek with assets re-inlined
		{"go", "test", "-run", "^$", "-bench", "BenchmarkSiteStorage|BenchmarkReplaySeekAssets", "-benchtime", "1x", "-timeout", "30m", "./collector-receiver/internal/assets/"},
	}
	for _, r := range runs {
		fmt.Println("===", strings.Join(r, " "))
		cmd := exec.Command(r[0], r[1:]...)
		cmd.Stdout = io.MultiWriter(os.Stdout, &out)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return err
		}
	}
	fmt.Println("=== npm run bench -w recorder")
	if err := sh.RunV("npm", "run", "bench", "-w", "recorder"); err != nil {
		return err
	}
	recorder, err := os.ReadFile("recorder/BENCHMARKS.md")
	if err != nil {
		return err
	}
	fmt.Println("=== node tests/panel/bench-seek.mjs")
	seek, err := sh.Output("node", "tests/panel/bench-seek.mjs")
	if err != nil {
		return err
	}
	fmt.Println(seek)
	report := benchReport(parseBench(out.String()), lastTableRow(seek), string(recorder))
	fmt.Println(report)
	return os.WriteFile("BENCHMARKS.md", []byte(report), 0o644)
}

// parseBench reads `go test -bench` result lines: name -> unit -> value.
// When a benchmark ran several times (-count), it keeps the median run,
// ranked by its first reported metric (go test sorts them by name, so for
// BenchmarkIngest that is %_of_raw), so a row's figures come from one run.
func parseBench(out string) map[string]map[string]float64 {
	type run struct {
		key  float64
		vals map[string]float64
	}
	runs := map[string][]run{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || f[3] != "ns/op" {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i]
		}
		r := run{vals: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			var v float64
			if _, err := fmt.Sscan(f[i], &v); err == nil {
				r.vals[f[i+1]] = v
				if i == 2 || i == 4 {
					r.key = v // ns/op, then the first metric after it
				}
			}
		}
		runs[name] = append(runs[name], r)
	}
	res := map[string]map[string]float64{}
	for name, rs := range runs {
		slices.SortFunc(rs, func(a, b run) int { return cmp.Compare(a.key, b.key) })
		res[name] = rs[len(rs)/2].vals
	}
	return res
}

// lastTableRow is the last markdown table row a script printed.
func lastTableRow(out string) string {
	row := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "|") {
			row = l
		}
	}
	return row
}

func benchReport(b map[string]map[string]float64, browserSeek, recorder string) string {
	var r strings.Builder
	fmt.Fprintf(&r, "# Benchmarks\n\nMeasured %s on one machine (%d cores), each comparison side by side in one run:\n\n    go tool mage bench\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU())
	fmt.Fprintln(&r, "| area | ours | anchor | goal | where it stands |")
	fmt.Fprintln(&r, "|---|---|---|---|---|")
	for _, c := range []struct{ name, load string }{
		{"BenchmarkIngest/clients=64", "64 clients: the receiver is busy all the time (its capacity)"},
		{"BenchmarkIngest/clients=32", "32 clients: each waits for its group commit (latency bound)"},
	} {
		if m := b[c.name]; m != nil {
			fmt.Fprintf(&r, "| ingest into ClickHouse (real recordings, OTLP protobuf, through the receiver), %s | %.0f chunks/s, %.1f MB/s | raw clickhouse-go batch insert of the same rows (ceiling): %.0f chunks/s, %.1f MB/s; one row per rrweb event in otel_logs (HyperDX layout): %.0f chunks/s, %.1f MB/s | >= 70%% of raw | %.0f%% of raw, %.1fx the otel_logs layout; CPU per 32 MB: receiver %.2f s + ClickHouse %.2f s, raw insert %.2f s + %.2f s |\n",
				c.load, m["recv_chunks/s"], m["recv_MB/s"], m["raw_chunks/s"], m["raw_MB/s"], m["otellogs_chunks/s"], m["otellogs_MB/s"], m["%_of_raw"], m["recv_MB/s"]/m["otellogs_MB/s"],
				m["recv_go_cpu_s/run"], m["recv_ch_cpu_s/run"], m["raw_go_cpu_s/run"], m["raw_ch_cpu_s/run"])
		}
	}
	if tab, alone := b["BenchmarkSummarize/tab-window"], b["BenchmarkSummarize/chunk-alone"]; tab != nil && alone != nil {
		fmt.Fprintf(&r, "| chunk summaries with click targets, dead clicks and console markers (4 real recordings, 3.2 MB in chunks of 50 events) | %.0f MB/s, %.1f ms CPU per pass, each chunk the next of its tab (node index kept) | each chunk alone: %.0f MB/s, %.1f ms CPU | a small share of ingest | see the receiver CPU of the ingest rows |\n",
			tab["MB/s"], tab["cpu-ns/op"]/1e6, alone["MB/s"], alone["cpu-ns/op"]/1e6)
	}
	if m := b["BenchmarkStorage"]; m != nil {
		fmt.Fprintf(&r, "| storage per recorded minute (7 real recordings) | %.0f B/min on disk | raw JSON %.0f B/min; otel_logs, one row per event (HyperDX) %.0f B/min | smaller than both | %.1fx smaller than raw JSON, %.2fx of otel_logs |\n",
			m["ours_B/min"], m["rawjson_B/min"], m["otellogs_B/min"], m["rawjson_B/min"]/m["ours_B/min"], m["ours_B/min"]/m["otellogs_B/min"])
	}
	for _, c := range []struct{ name, corpus, goal string }{
		{"BenchmarkSiteStorage/sessions=100", "100 sessions of one site (built from its 2 real recordings: same stylesheets, 2-5 page loads each, different interactions and lengths)", "<= 1/3 of otel_logs"},
		{"BenchmarkSiteStorage/single", "7 real recordings, each its own site", ">= 12x smaller than raw JSON"},
	} {
		if m := b[c.name]; m != nil {
			fmt.Fprintf(&r, "| storage on disk after merges, %s | %.2f MB (%.0f B per recorded minute; assets %.2f MB) | otel_logs, one row per event (HyperDX): %.2f MB; raw JSON %.2f MB; our chunks before assets: %.2f MB | %s | %.3f of otel_logs, %.1fx smaller than raw JSON (before assets: %.2f, %.1fx) |\n",
				c.corpus, m["ours_B"]/1e6, m["ours_B/min"], m["assets_B"]/1e6, m["otellogs_B"]/1e6, m["rawjson_B"]/1e6, m["before_assets_B"]/1e6, c.goal,
				m["ours/otellogs"], m["rawjson/ours"], m["before_assets_B"]/m["otellogs_B"], m["rawjson_B"]/m["before_assets_B"])
		}
	}
	if sum, raw := b["BenchmarkSessionList/summary-table"], b["BenchmarkSessionList/raw-events"]; sum != nil && raw != nil {
		fmt.Fprintf(&r, "| session list, 1M sessions, 6 h range + browser and OS filters, page of 100 | %.1f ms (summary table) | grouping raw events in otel_logs (HyperDX way): %.1f ms | <= 1/10 | 1/%.1f |\n",
			sum["median-ms/list"], raw["median-ms/list"], raw["median-ms/list"]/sum["median-ms/list"])
	}
	if m := b["BenchmarkPendingParts"]; m != nil {
		fmt.Fprintf(&r, "| an rr-web event split in parts that straddle two requests (1.46 MB of real rrweb JSON, two parts at HyperDX's 950 KiB), joined in ClickHouse so any replica completes it | the request holding the first part pays %.0f ms, the one holding the second %.0f ms (each writes its part, then reads the event's parts back) | an event whose parts share a request: joined in it, nothing written | rare, bounded | paid only by requests holding parts of an unfinished event |\n",
			m["request1_ms"], m["request2_ms"])
	}
	if m := b["BenchmarkReplaySeek"]; m != nil {
		fmt.Fprintf(&r, "| replay: open a 30-minute session at minute 25 | %.2f MB read, %.0f ms to the data of the first frame | whole session: %.2f MB, %.0f ms | read little | %.0fx fewer bytes |\n",
			m["seek_bytes"]/1e6, m["seek_ms"], m["whole_bytes"]/1e6, m["whole_ms"], m["whole_bytes"]/m["seek_bytes"])
	}
	if a, o := b["BenchmarkReplaySeekAssets/assets"], b["BenchmarkReplaySeekAssets/before"]; a != nil && o != nil {
		fmt.Fprintf(&r, "| replay with assets re-inlined by the backend: open a 30-minute session at minute 25 | %.2f MB returned (stored data and assets %.2f MB; ClickHouse read %.2f MB from disk), %.0f ms; whole session %.0f ms | stored before assets: %.2f MB returned and stored, %.2f MB from disk, %.0f ms; whole session %.0f ms | byte-equal, no more bytes | %.2fx the stored bytes, %.2fx from disk, %.2fx the time |\n",
			a["seek_bytes"]/1e6, a["seek_stored_bytes"]/1e6, a["seek_disk_bytes"]/1e6, a["seek_ms"], a["whole_ms"], o["seek_bytes"]/1e6, o["seek_disk_bytes"]/1e6, o["seek_ms"], o["whole_ms"],
			a["seek_stored_bytes"]/o["seek_stored_bytes"], a["seek_disk_bytes"]/o["seek_disk_bytes"], a["seek_ms"]/o["seek_ms"])
	}
	if browserSeek != "" {
		fmt.Fprintln(&r, browserSeek)
	}
	fmt.Fprintf(&r, "| recorder | see below | plain rrweb record | core <= 30 KB gzip, full <= 60 KB, <= 1.2x main-thread cost | see below |\n\n")
	fmt.Fprintln(&r, "Each Go figure comes from `go test -bench`. Ingest and the session list run three times (`-count 3`) and the table shows the median run, ranked by its headline figure; storage and replay seek report medians of several passes inside one run. The benchmark's own doc comment says what it measures. Timings on 2 shared cores move by 10-20% between runs.")
	fmt.Fprintln(&r, "\nWhere assets are re-inlined (the backend, or the panel fetching each once): measured in Chromium at minute 25 of the 30-minute session, cold and warm browser cache, loopback and a throttled WAN, in [docs/replay-assets.md](docs/replay-assets.md) (from the commit named there, which holds both paths; the product keeps the backend's).")
	fmt.Fprintln(&r, "\n## Recorder\n\nFrom recorder/BENCHMARKS.md (`npm run bench -w recorder`):")
	if i := strings.Index(recorder, "| measure"); i >= 0 {
		fmt.Fprintf(&r, "\n%s", recorder[i:])
	}
	return r.String()
}

// goPackages are this module's packages. "./..." would also walk node_modules,
// where npm packages sometimes ship Go files.
var goPackages = []string{"./pkg/...", "./collector-receiver/...", "./tests/..."}

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
	return sh.RunV("npm", "install", "--no-audit", "--no-fund") // see .ci/run for why not `npm ci`
}
