// Package stack holds the pieces the whole-stack tests (tests/e2e with our
// recorder, tests/sdks with the browser SDKs teams already run) share: building
// and starting the collector and the Grafana backend plugin, running the node
// scripts that drive Chromium, asking the plugin what Grafana would ask, and
// auditing ClickHouse for typed secrets. Every part is the real one.
package stack

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed/sessionreplay/pkg/childproc"
)

// RepoRoot is the module root (the directory holding go.mod) above the
// test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("stack: no go.mod above the working directory")
		}
		dir = parent
	}
}

// GoBuild builds pkg (relative to root) into a temporary binary.
func GoBuild(t testing.TB, root, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// FreeAddr is a loopback address nobody listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// StartCollector builds our otelcol binary and starts it from config with
// env added to the environment, logging to logFile, and waits until addr
// listens. It is stopped (SIGINT, then waited for) when the test ends, and
// never outlives the test process.
func StartCollector(t testing.TB, root, config, addr, logFile string, env ...string) {
	t.Helper()
	bin := GoBuild(t, root, "./collector-receiver/cmd/otelcol-sessionreplay")
	col := exec.Command(bin, "--config", config)
	col.Env = append(os.Environ(), env...)
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	col.Stdout, col.Stderr = log, log
	col.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := childproc.Start(col); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = col.Process.Signal(os.Interrupt); _ = col.Wait(); log.Close() })
	WaitListening(t, addr, 60*time.Second, logFile)
}

// WaitListening waits until addr accepts connections; on timeout it fails
// the test with the log of the process that should listen there.
func WaitListening(t testing.TB, addr string, d time.Duration, logFile string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(logFile)
	t.Fatalf("nothing listening on %s after %s:\n%s", addr, d, log)
}

// WaitFor polls ok until it holds, failing the test after d.
func WaitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	if !Eventually(d, ok) {
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}

// Eventually polls ok until it holds or d has passed, and says which.
func Eventually(d time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return true
		}
		time.Sleep(250 * time.Millisecond)
	}
	return false
}

// RunNode runs a node script from root and decodes the last JSON object line
// it printed on stdout into out (its stderr goes to the test's).
func RunNode(t testing.TB, root string, out any, script string, args ...string) {
	t.Helper()
	cmd := exec.Command("node", append([]string{script}, args...)...)
	cmd.Dir = root
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stdout.String())
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var last string
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "{") {
			last = l
		}
	}
	if err := json.Unmarshal([]byte(last), out); err != nil {
		t.Fatalf("node %s printed no result: %v\n%s", script, err, stdout.String())
	}
}
