package sessionreplayreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/otellogs"
	"github.com/seed/sessionreplay/pkg/store"
)

// workload is a set of replay chunks cut from real recordings.
type workload struct {
	chunks   [][]json.RawMessage
	payloads [][]byte // OTLP protobuf requests, benchChunksPerRequest chunks each
	rows     []store.Chunk
	bytes    int
}

const benchChunksPerRequest = 10

func makeWorkload(b testing.TB, sessions int) *workload {
	w := &workload{}
	var recs [][]json.RawMessage
	for _, f := range []string{"smartx-90s.events.json", "byterat-css-inline.events.json", "commandbar-session.events.json", "rrweb-player-demo-demoit.events.json"} {
		recs = append(recs, loadEvents(b, f))
	}
	seq := 0
	for s := 0; s < sessions; s++ {
		ev := recs[s%len(recs)]
		for i := 0; i < len(ev); i += 50 {
			end := min(i+50, len(ev))
			w.chunks = append(w.chunks, ev[i:end])
			data, _ := json.Marshal(ev[i:end])
			w.rows = append(w.rows, store.Chunk{SessionID: fmt.Sprintf("bench-%d", s), WindowID: "w", Seq: uint64(i / 50),
				Start: time.Now(), End: time.Now(), EventCount: uint32(end - i), ServiceName: "bench", Data: data})
			w.bytes += len(data)
			seq++
		}
	}
	for i := 0; i < len(w.rows); i += benchChunksPerRequest {
		ld := plog.NewLogs()
		for j := i; j < min(i+benchChunksPerRequest, len(w.rows)); j++ {
			r := w.rows[j]
			addChunk(b, ld, chunkOpts{session: r.SessionID, window: r.WindowID, seq: int64(r.Seq), events: w.chunks[j]})
		}
		body, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		w.payloads = append(w.payloads, body)
	}
	return w
}

func migratedDB(b *testing.B) (driver.Conn, string) { return chembedtest.NewMigratedDatabase(b) }

// BenchmarkIngest sends real chunks through the receiver (OTLP/HTTP protobuf,
// decode, privacy, summaries, markers, group commit) into ClickHouse, then
// inserts the same chunk bytes with a raw clickhouse-go batch (the ceiling),
// then the same events one row each into otel_logs (the HyperDX layout), and
// reports all three.
//
// Each sender waits for its answer before sending again (a closed loop), so
// with few senders the receiver waits on its own group commit (latency
// bound); with many it is busy all the time (throughput bound). Both are
// reported.
func BenchmarkIngest(b *testing.B) {
	w := makeWorkload(b, 40)
	for _, senders := range []int{32, 64} {
		b.Run(fmt.Sprintf("clients=%d", senders), func(b *testing.B) { benchIngest(b, w, senders) })
	}
}

func benchIngest(b *testing.B, w *workload, senders int) {
	ctx := context.Background()

	// --- through the receiver
	rcvConn, db := migratedDB(b)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = freePort(b)
	cfg.ClickHouse.Endpoint = chembedtest.DSN(db)
	cfg.Sessions.IdleTimeout = time.Hour
	cfg.RateLimits.PerSession.Rate = 0 // a throughput test: the senders replay whole sessions at once
	set := receivertest.NewNopSettings(NewFactory().Type())
	rcv, err := NewFactory().CreateLogs(ctx, set, cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := rcv.Start(ctx, componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer rcv.Shutdown(ctx) //nolint:errcheck
	url := "http://" + cfg.NetAddr.Endpoint + "/v1/logs"
	// send streams the workload n times through senders concurrent
	// clients, as browsers keep sending: one stream, so the batcher's
	// max_delay (the wait for a batch to fill) only shows at its end.
	// one keep-alive connection per sender, as a browser keeps its own
	// (http.DefaultClient keeps only 2 idle per host: the others would
	// reconnect for every request)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	defer client.CloseIdleConnections()
	var failed atomic.Int64
	send := func(n int) {
		var wg sync.WaitGroup
		next := make(chan []byte)
		for g := 0; g < senders; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range next {
					resp, err := client.Post(url, "application/x-protobuf", bytes.NewReader(p))
					if err != nil {
						failed.Add(1)
						continue
					}
					if resp.StatusCode != 200 {
						failed.Add(1)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		for i := 0; i < n; i++ {
			for _, p := range w.payloads {
				next <- p
			}
		}
		close(next)
		wg.Wait()
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d requests failed or were refused", n)
		}
	}
	send(1) // warm up
	waitMerges(b, rcvConn)
	b.ResetTimer()
	cpu := startCPU()
	start := time.Now()
	send(b.N)
	recvTook := time.Since(start)
	recvCPU := cpu.stop()
	b.StopTimer()

	// --- raw clickhouse-go batch insert of the same rows, same batch size as
	// the receiver's group commit (store.Writer, 8 MiB batches)
	rawConn, rawDB := migratedDB(b)
	writer := store.NewWriter(rawConn, rawDB)
	insert := func() {
		var batch []store.Chunk
		size := 0
		for _, r := range w.rows {
			batch = append(batch, r)
			size += len(r.Data)
			if size >= cfg.Batch.MaxBytes {
				if err := writer.WriteChunks(ctx, store.TableBuffer, batch); err != nil {
					b.Fatal(err)
				}
				batch, size = nil, 0
			}
		}
		if err := writer.WriteChunks(ctx, store.TableBuffer, batch); err != nil {
			b.Fatal(err)
		}
	}
	insert()
	waitMerges(b, rawConn)
	cpu = startCPU()
	start = time.Now()
	for i := 0; i < b.N; i++ {
		insert()
	}
	rawTook := time.Since(start)
	rawCPU := cpu.stop()

	// --- the HyperDX layout: the same events, one row each, in otel_logs
	// (what the ClickHouse exporter writes), one batch per session
	logsConn, logsDB := migratedDB(b)
	if err := logsConn.Exec(ctx, otellogs.DDL(logsDB)); err != nil {
		b.Fatal(err)
	}
	perSession := map[string][]otellogs.Event{}
	var sessions []string
	for i, r := range w.rows {
		if _, ok := perSession[r.SessionID]; !ok {
			sessions = append(sessions, r.SessionID)
		}
		for _, e := range w.chunks[i] {
			perSession[r.SessionID] = append(perSession[r.SessionID], otellogs.Event{Time: r.Start, JSON: e})
		}
	}
	start = time.Now()
	for i := 0; i < b.N; i++ {
		for _, sid := range sessions {
			if err := otellogs.Insert(ctx, logsConn, logsDB, "bench", sid, perSession[sid]); err != nil {
				b.Fatal(err)
			}
		}
	}
	logsTook := time.Since(start)

	n := float64(len(w.rows) * b.N)
	mb := float64(w.bytes*b.N) / 1e6
	b.ReportMetric(n/logsTook.Seconds(), "otellogs_chunks/s")
	b.ReportMetric(mb/logsTook.Seconds(), "otellogs_MB/s")
	b.ReportMetric(n/recvTook.Seconds(), "recv_chunks/s")
	b.ReportMetric(mb/recvTook.Seconds(), "recv_MB/s")
	b.ReportMetric(n/rawTook.Seconds(), "raw_chunks/s")
	b.ReportMetric(mb/rawTook.Seconds(), "raw_MB/s")
	b.ReportMetric(100*rawTook.Seconds()/recvTook.Seconds(), "%_of_raw")
	b.ReportMetric(recvCPU.self/float64(b.N), "recv_go_cpu_s/run")
	b.ReportMetric(recvCPU.server/float64(b.N), "recv_ch_cpu_s/run")
	b.ReportMetric(rawCPU.self/float64(b.N), "raw_go_cpu_s/run")
	b.ReportMetric(rawCPU.server/float64(b.N), "raw_ch_cpu_s/run")
	b.Logf("CPU seconds per run: receiver phase: Go %.2f, ClickHouse %.2f; raw phase: Go %.2f, ClickHouse %.2f",
		recvCPU.self/float64(b.N), recvCPU.server/float64(b.N), rawCPU.self/float64(b.N), rawCPU.server/float64(b.N))
	b.Logf("%d chunks (%.1f MB) x %d: receiver %.0f chunks/s %.1f MB/s; raw insert %.0f chunks/s %.1f MB/s; receiver = %.0f%% of raw",
		len(w.rows), float64(w.bytes)/1e6, b.N, n/recvTook.Seconds(), mb/recvTook.Seconds(), n/rawTook.Seconds(), mb/rawTook.Seconds(),
		100*rawTook.Seconds()/recvTook.Seconds())
}

// cpuMeter measures the CPU time of this process (receiver or raw client,
// and the benchmark's senders) and of the embedded ClickHouse server.
type cpuMeter struct{ self, server float64 }

func startCPU() *cpuMeter {
	m := &cpuMeter{}
	m.self, m.server = m.read()
	return m
}

func (m *cpuMeter) stop() cpuMeter {
	self, server := m.read()
	return cpuMeter{self: self - m.self, server: server - m.server}
}

func (m *cpuMeter) read() (self, server float64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	if srv := chembedtest.Server(); srv != nil {
		server = procCPU(srv.PID())
	}
	return self, server
}

// procCPU reads a process's user+system time from /proc (clock ticks of 10 ms).
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// fields after the ")" closing the command name: state is field 3
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// waitMerges waits until ClickHouse has no merge running, so a phase does
// not pay for the background merges of the one before.
func waitMerges(tb testing.TB, conn driver.Conn) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.merges").Scan(&n); err != nil {
			tb.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
