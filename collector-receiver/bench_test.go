package sessionreplayreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
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

// benchSenders is the number of concurrent OTLP clients (browsers).
const benchSenders = 32

func makeWorkload(b *testing.B, sessions int) *workload {
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
func BenchmarkIngest(b *testing.B) {
	w := makeWorkload(b, 40)
	ctx := context.Background()

	// --- through the receiver
	_, db := migratedDB(b)
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
	send := func() {
		var wg sync.WaitGroup
		next := make(chan []byte)
		for g := 0; g < benchSenders; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range next {
					resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(p))
					if err != nil {
						b.Error(err)
						continue
					}
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
					}
					resp.Body.Close()
				}
			}()
		}
		for _, p := range w.payloads {
			next <- p
		}
		close(next)
		wg.Wait()
	}
	send() // warm up
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		send()
	}
	recvTook := time.Since(start)
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
	start = time.Now()
	for i := 0; i < b.N; i++ {
		insert()
	}
	rawTook := time.Since(start)

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
	b.Logf("%d chunks (%.1f MB) x %d: receiver %.0f chunks/s %.1f MB/s; raw insert %.0f chunks/s %.1f MB/s; receiver = %.0f%% of raw",
		len(w.rows), float64(w.bytes)/1e6, b.N, n/recvTook.Seconds(), mb/recvTook.Seconds(), n/rawTook.Seconds(), mb/rawTook.Seconds(),
		100*rawTook.Seconds()/recvTook.Seconds())
}
