package sessionreplayreceiver

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/seed/sessionreplay/pkg/chembed"
	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
)

// OutageSecondsEnv sets how long TestClickHouseOutage keeps ClickHouse down
// (default 8; the documented long run uses 60).
const OutageSecondsEnv = "SESSIONREPLAY_OUTAGE_SECONDS"

func chCtx(ctx context.Context, kv ...string) context.Context {
	p := clickhouse.Parameters{}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return clickhouse.Context(ctx, clickhouse.WithParameters(p))
}

func sessionsNamed(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), i)
	}
	return out
}

// reliabilityConfig: limits out of the way (the load is legitimate), a short
// ack_timeout so refusals are fast.
const reliabilityConfig = `    ack_timeout: 3s
    rate_limits:
      per_session: {rate: 1000, burst: 1000}
      per_client: {rate: 10000, burst: 10000}
`

// TestClickHouseOutage stops the test's own embedded ClickHouse for N seconds
// while OTLP load keeps arriving, then starts it again on the same data
// directory and ports. Every acknowledged chunk must be stored exactly once,
// and refused chunks must land after their retries.
func TestClickHouseOutage(t *testing.T) {
	outage := 8 * time.Second
	if v := os.Getenv(OutageSecondsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q", OutageSecondsEnv, v)
		}
		outage = time.Duration(n) * time.Second
	}
	ctx := context.Background()
	dir := t.TempDir()
	tcp, httpPort := freePortNum(t), freePortNum(t)
	cfg := chembed.Config{DataDir: dir, TCPPort: tcp, HTTPPort: httpPort}
	srv, err := chembed.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("own ClickHouse: %v", err)
	}
	defer func() { _ = srv.Stop() }()
	const db = "outage"
	if _, err := srv.Query(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.TCPAddr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := startCollectorOn(t, conn, db, srv.DSN(db), "", "", reliabilityConfig)

	sessions := sessionsNamed("outage", 6)
	g := newLoadGen(t, func() string { return c.endpoint }, "smartx-90s.events.json")
	stop := make(chan struct{})
	deadline := time.Now().Add(outage + 90*time.Second)
	wg := g.run(sessions, stop, deadline)

	time.Sleep(3 * time.Second)
	before := len(g.ackedKeys())
	t0 := time.Now()
	if err := srv.Stop(); err != nil {
		t.Logf("stop: %v", err)
	}
	t.Logf("ClickHouse stopped (took %s) after %d acknowledged chunks", time.Since(t0).Round(time.Millisecond), before)
	time.Sleep(outage)
	ackedDuring := len(g.ackedKeys()) - before
	refusedDuring := g.refused.Load()
	t1 := time.Now()
	srv, err = chembed.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("restart ClickHouse: %v", err)
	}
	t.Logf("ClickHouse started again in %s", time.Since(t1).Round(time.Millisecond))
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()

	l := readLedger(t, c, sessions)
	lost, dup := g.report(t, "clickhouse_outage", l, fmt.Sprintf(" outage_s=%d acked_while_down=%d refused_while_down=%d", int(outage.Seconds()), ackedDuring, refusedDuring))
	if lost != 0 || dup != 0 {
		t.Errorf("lost %d, duplicated %d", lost, dup)
	}
	if g.refused.Load() == 0 {
		t.Errorf("no 503 during a %s outage", outage)
	}
	if ms := g.maxRefuse.Load(); ms > 5000 {
		t.Errorf("a 503 took %d ms (ack_timeout 3s)", ms)
	}
	g.mu.Lock()
	given := len(g.given)
	var notLanded []chunkKey
	for k := range g.retried {
		if !l.distinct[k] {
			notLanded = append(notLanded, k)
		}
	}
	g.mu.Unlock()
	if given != 0 || len(notLanded) != 0 {
		t.Errorf("%d chunks abandoned, %d refused chunks never landed: %v", given, len(notLanded), notLanded)
	}
}

// TestCollectorSIGTERMDrains sends SIGTERM to the collector in the middle of
// the load: in-flight requests finish (their rows flushed) or are refused,
// nothing acknowledged is lost; a new collector on the same endpoint takes
// the retries.
func TestCollectorSIGTERMDrains(t *testing.T) {
	c := startCollector(t, "", reliabilityConfig)
	endpoint := c.endpoint
	sessions := sessionsNamed("sigterm", 6)
	var cur = c
	g := newLoadGen(t, func() string { return endpoint }, "smartx-90s.events.json")
	g.interval = 20 * time.Millisecond
	stop := make(chan struct{})
	wg := g.run(sessions, stop, time.Now().Add(90*time.Second))

	time.Sleep(2 * time.Second)
	t0 := time.Now()
	if err := cur.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cur.done:
	case <-time.After(30 * time.Second):
		t.Fatal("collector did not exit within 30s of SIGTERM")
	}
	exitTook := time.Since(t0)
	if code := cur.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("collector exit code %d after SIGTERM", code)
	}
	// acknowledged before the process was gone == stored
	ackedAtExit := g.ackedKeys()
	l := readLedger(t, c, sessions)
	lostAtExit := 0
	for k := range ackedAtExit {
		if !l.distinct[k] {
			lostAtExit++
		}
	}
	t.Logf("RELIABILITY scenario=sigterm_at_exit acknowledged=%d stored=%d lost=%d exit_ms=%d", len(ackedAtExit), len(l.distinct), lostAtExit, exitTook.Milliseconds())
	if lostAtExit != 0 {
		t.Errorf("%d acknowledged chunks not stored after SIGTERM", lostAtExit)
	}

	// a new collector on the same endpoint takes the retries
	time.Sleep(500 * time.Millisecond)
	startCollectorOn(t, c.conn, c.db, chembedtest.DSN(c.db), endpoint, "", reliabilityConfig)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	l = readLedger(t, c, sessions)
	lost, dup := g.report(t, "sigterm_restart", l, fmt.Sprintf(" exit_ms=%d", exitTook.Milliseconds()))
	if lost != 0 || dup != 0 {
		t.Errorf("lost %d, duplicated %d", lost, dup)
	}
	if len(g.given) != 0 {
		t.Errorf("%d chunks abandoned", len(g.given))
	}
}
