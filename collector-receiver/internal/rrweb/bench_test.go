//go:build unix

package rrweb

import (
	"encoding/json"
	"syscall"
	"testing"
	"time"
)

// benchChunks cuts real recordings into chunks of 50 events, as
// BenchmarkIngest in the receiver does.
func benchChunks(b *testing.B) (chunks [][]byte, size int) {
	for _, f := range []string{"smartx-90s.events.json", "byterat-css-inline.events.json", "commandbar-session.events.json", "rrweb-player-demo-demoit.events.json"} {
		var ev []json.RawMessage
		if err := json.Unmarshal(fixture(b, f), &ev); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(ev); i += 50 {
			data, _ := json.Marshal(ev[i:min(i+50, len(ev))])
			chunks = append(chunks, data)
			size += len(data)
		}
	}
	return chunks, size
}

// BenchmarkSummarize is the summary of every chunk of four real recordings,
// each read alone (Summarize) and as the next chunk of its tab
// (SummarizeWindow: click targets named from the tab's node index, dead
// clicks judged across chunks). Parsing is outside the timer. Besides wall
// time it reports cpu-ns/op, the process's CPU time per pass (other
// processes of a shared machine stretch wall time, much less CPU time): run
// it with -cpu 1.
func BenchmarkSummarize(b *testing.B) {
	chunks, size := benchChunks(b)
	parsed := make([]*Chunk, len(chunks))
	for i, data := range chunks {
		c, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		parsed[i] = c
	}
	b.Run("chunk-alone", func(b *testing.B) {
		b.SetBytes(int64(size))
		start, n := cpuTime(), 0
		for b.Loop() {
			for _, c := range parsed {
				Summarize(c)
			}
			n++
		}
		b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
	})
	b.Run("tab-window", func(b *testing.B) {
		b.SetBytes(int64(size))
		start, n := cpuTime(), 0
		for b.Loop() {
			w := &Window{}
			for seq, c := range parsed {
				SummarizeWindow(c, w, uint64(seq))
			}
			n++
		}
		b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
	})
}

// cpuTime is the user and system CPU time of the process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
