package chembed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// childEnv carries the server settings from Start to the re-executed process.
// Running ClickHouse in a child process (rather than inside the caller) is what
// lets a test stop and restart it, and keeps a ClickHouse crash from taking the
// caller down with it.
const childEnv = "SESSIONREPLAY_CHEMBED_CHILD"

// serveQueryID names the long-running query that keeps the listeners open.
// Killing it is how the child shuts ClickHouse down cleanly.
const serveQueryID = "sessionreplay-chembed-serve"

type childSpec struct {
	LibPath    string `json:"lib"`
	DataDir    string `json:"data"`
	Host       string `json:"host"`
	TCPPort    int    `json:"tcp"`
	HTTPPort   int    `json:"http"`
	ConfigFile string `json:"config,omitempty"`
}

func init() {
	raw, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "chembed: bad %s: %v\n", childEnv, err)
		os.Exit(2)
	}
	os.Exit(serveChild(spec))
}

// serveChild runs in the child process: it starts the listeners, blocks until
// SIGTERM/SIGINT, then ends the serving query so ClickHouse returns normally.
func serveChild(spec childSpec) int {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	args := []string{
		"clickhouse",
		"--path=" + spec.DataDir,
		"--listen_host=" + spec.Host,
		fmt.Sprintf("--tcp_port=%d", spec.TCPPort),
		fmt.Sprintf("--http_port=%d", spec.HTTPPort),
		"--query_id=" + serveQueryID,
	}
	if spec.ConfigFile != "" {
		args = append(args, "--config-file="+spec.ConfigFile)
	}
	// sleepEachRow over an endless series keeps the query, and with it the
	// listeners, alive; FORMAT Null keeps it silent.
	args = append(args, "--query=SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; "+
		"SELECT sleepEachRow(1) FROM system.numbers "+
		"SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0, max_execution_time = 0 FORMAT Null")

	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- runCmdline(spec.LibPath, args)
	}()

	select {
	case err := <-done:
		// The serving query never ends by itself: returning early is a failure
		// (port taken, bad data dir, ...).
		if err == nil {
			err = fmt.Errorf("clickhouse returned before it was asked to stop")
		}
		fmt.Fprintf(os.Stderr, "chembed: %v\n", err)
		return 1
	case sig := <-signals:
		fmt.Fprintf(os.Stderr, "chembed: %v received, stopping clickhouse\n", sig)
	}

	if err := stopServing(spec); err != nil {
		fmt.Fprintf(os.Stderr, "chembed: stop: %v\n", err)
		return 1
	}
	select {
	case <-done:
		return 0
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "chembed: clickhouse did not stop within 30s")
		return 1
	}
}

// stopServing ends the serving query over HTTP. ClickHouse then shuts its
// listeners down; when clients still hold idle connections it waits for them
// (shutdown_wait_unfinished) and exits the process itself with status 1 — its
// normal "shutdown forcefully" path, after every query has finished.
func stopServing(spec childSpec) error {
	return httpStatement(spec, "KILL QUERY WHERE query_id = '"+serveQueryID+"' SYNC")
}

func httpStatement(spec childSpec, statement string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := url.Values{"query": {statement}}
	endpoint := fmt.Sprintf("http://%s/?%s", hostPort(spec.Host, spec.HTTPPort), q.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(""))
	if err != nil {
		return err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", statement, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
