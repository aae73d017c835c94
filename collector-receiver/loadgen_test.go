package sessionreplayreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// loadGen is an OTLP/HTTP client like a browser recorder's exporter: each
// session sends its chunks in order (seq 0, 1, ...), one chunk per request,
// gzip JSON bodies made from a real recording, and retries a chunk on 429,
// 503, 5xx and transport errors, honouring Retry-After, with exponential
// backoff and jitter, until it is acknowledged (2xx) or the deadline passes.
type loadGen struct {
	t        testing.TB
	endpoint func() string
	events   []json.RawMessage
	perChunk int
	interval time.Duration // between two chunks of one session
	client   *http.Client

	sent      atomic.Int64 // chunks offered (first attempts)
	attempts  atomic.Int64 // requests sent
	refused   atomic.Int64 // 503 answers
	limited   atomic.Int64 // 429 answers
	transport atomic.Int64 // connection errors (receiver down)
	badStatus atomic.Int64 // other, non-retryable statuses
	maxRefuse atomic.Int64 // slowest 503 answer, ms

	mu      sync.Mutex
	acked   map[chunkKey]bool
	retried map[chunkKey]bool // refused or failed at least once
	given   map[chunkKey]bool // abandoned at the deadline
}

type chunkKey struct {
	session, window string
	seq             uint64
}

func newLoadGen(t testing.TB, endpoint func() string, recording string) *loadGen {
	ev := loadEvents(t, recording)
	return &loadGen{t: t, endpoint: endpoint, events: ev, perChunk: 60, interval: 100 * time.Millisecond,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}},
		acked:  map[chunkKey]bool{}, retried: map[chunkKey]bool{}, given: map[chunkKey]bool{}}
}

// body of chunk seq of a session: a slice of the recording, timestamps now.
func (g *loadGen) body(session string, seq uint64) []byte {
	n := len(g.events) / g.perChunk
	i := int(seq) % n
	part := g.events[i*g.perChunk : (i+1)*g.perChunk]
	ld := plog.NewLogs()
	addChunk(g.t, ld, chunkOpts{session: session, window: "w1", seq: int64(seq), events: part, gzip: true, userAgent: chromeUA})
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		g.t.Error(err)
	}
	return b
}

// run starts one goroutine per session; they send until stop is closed,
// then finish the chunk in hand (retrying until deadline) and return.
func (g *loadGen) run(sessions []string, stop <-chan struct{}, deadline time.Time) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func(session string) {
			defer wg.Done()
			for seq := uint64(0); ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				g.sendChunk(session, seq, deadline)
				select {
				case <-stop:
					return
				case <-time.After(g.interval):
				}
			}
		}(s)
	}
	return &wg
}

func (g *loadGen) sendChunk(session string, seq uint64, deadline time.Time) {
	k := chunkKey{session, "w1", seq}
	body := g.body(session, seq)
	g.sent.Add(1)
	backoff := 100 * time.Millisecond
	for {
		code, hdr, err := g.post(body)
		switch {
		case err == nil && code/100 == 2:
			g.mu.Lock()
			g.acked[k] = true
			g.mu.Unlock()
			return
		case err == nil && code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable && code/100 != 5:
			g.badStatus.Add(1)
			g.t.Errorf("chunk %v: unexpected status %d", k, code)
			return
		}
		g.mu.Lock()
		g.retried[k] = true
		g.mu.Unlock()
		wait := backoff
		if err == nil {
			if ra, e := strconv.Atoi(hdr.Get("Retry-After")); e == nil && ra > 0 {
				wait = time.Duration(ra) * time.Second
			}
		}
		wait += time.Duration(rand.Int64N(int64(wait/4) + 1))
		if time.Now().Add(wait).After(deadline) {
			g.mu.Lock()
			g.given[k] = true
			g.mu.Unlock()
			return
		}
		time.Sleep(wait)
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}

func (g *loadGen) post(body []byte) (int, http.Header, error) {
	g.attempts.Add(1)
	req, _ := http.NewRequest(http.MethodPost, "http://"+g.endpoint()+"/v1/logs", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-protobuf")
	start := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		g.transport.Add(1)
		return 0, nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusServiceUnavailable:
		g.refused.Add(1)
		if ms := time.Since(start).Milliseconds(); ms > g.maxRefuse.Load() {
			g.maxRefuse.Store(ms)
		}
	case http.StatusTooManyRequests:
		g.limited.Add(1)
	}
	return resp.StatusCode, resp.Header, nil
}

// ackedKeys is a snapshot of the acknowledged chunks.
func (g *loadGen) ackedKeys() map[chunkKey]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[chunkKey]bool, len(g.acked))
	for k := range g.acked {
		out[k] = true
	}
	return out
}

// ledger is what ClickHouse holds for the generator's sessions.
type ledger struct {
	distinct   map[chunkKey]bool // distinct (session, window, seq) over both chunk tables
	rawRows    uint64            // physical rows (ReplacingMergeTree may hold a retry twice until a merge)
	queryDups  int               // duplicates in store.Reader.Chunks results (must be 0)
	queryTotal int
}

func readLedger(t *testing.T, c *collector, sessions []string) ledger {
	t.Helper()
	ctx := context.Background()
	l := ledger{distinct: map[chunkKey]bool{}}
	q := fmt.Sprintf(`SELECT session_id, window_id, seq, count() FROM (
  SELECT session_id, window_id, seq FROM %[1]s.replay_chunks_buffer WHERE session_id IN {ids:Array(String)}
  UNION ALL
  SELECT session_id, window_id, seq FROM %[1]s.replay_chunks WHERE session_id IN {ids:Array(String)})
GROUP BY session_id, window_id, seq`, c.db)
	ids, _ := json.Marshal(sessions)
	rows, err := c.conn.Query(chCtx(ctx, "ids", string(bytes.ReplaceAll(ids, []byte(`"`), []byte(`'`)))), q)
	if err != nil {
		t.Fatalf("ledger: %v", err)
	}
	for rows.Next() {
		var k chunkKey
		var n uint64
		if err := rows.Scan(&k.session, &k.window, &k.seq, &n); err != nil {
			t.Fatal(err)
		}
		l.distinct[k] = true
		l.rawRows += n
	}
	rows.Close()
	for _, s := range sessions {
		chunks, err := c.reader.Chunks(ctx, s)
		if err != nil {
			t.Fatalf("reader chunks %s: %v", s, err)
		}
		seen := map[chunkKey]bool{}
		for _, ch := range chunks {
			k := chunkKey{s, ch.WindowID, ch.Seq}
			if seen[k] {
				l.queryDups++
			}
			seen[k] = true
			l.queryTotal++
		}
	}
	return l
}

// report compares the generator's view with ClickHouse's and logs one
// parseable line. It returns lost and duplicated.
func (g *loadGen) report(t *testing.T, scenario string, l ledger, extra string) (lost, duplicated int) {
	t.Helper()
	acked := g.ackedKeys()
	g.mu.Lock()
	retriedLanded, retriedTotal := 0, 0
	for k := range g.retried {
		retriedTotal++
		if l.distinct[k] {
			retriedLanded++
		}
	}
	given := len(g.given)
	g.mu.Unlock()
	for k := range acked {
		if !l.distinct[k] {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged chunk %v is not in ClickHouse", k)
			}
		}
	}
	duplicated = l.queryDups
	t.Logf("RELIABILITY scenario=%s sent=%d attempts=%d acknowledged=%d refused_503=%d limited_429=%d transport_errors=%d retried_chunks=%d retried_landed=%d abandoned=%d stored=%d stored_raw_rows=%d lost=%d duplicated=%d max_503_ms=%d%s",
		scenario, g.sent.Load(), g.attempts.Load(), len(acked), g.refused.Load(), g.limited.Load(), g.transport.Load(), retriedTotal, retriedLanded, given,
		len(l.distinct), l.rawRows, lost, duplicated, g.maxRefuse.Load(), extra)
	return lost, duplicated
}
