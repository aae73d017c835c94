//go:build unix

package privacy

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
	"github.com/seed/sessionreplay/pkg/fixtures"
)

// BenchmarkMaskOnly is BenchmarkApply without the parse: the masker's own
// cost on a chunk parsed once. (The edits it records pile up on the chunk;
// they are a few per pass and never read by the masker.) Besides wall time
// it reports cpu-ns/op, the process's CPU time per pass: on a shared
// machine other processes stretch wall time, much less CPU time. Run it
// with -cpu 1 so that CPU time is the masker's (and its GC's) alone.
func BenchmarkMaskOnly(b *testing.B) {
	m, err := New(Config{MaskInputs: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range []string{"smartx-90s.events.json", "commandbar-session.events.json", "byterat-css-inline.events.json", "svg-chart"} {
		data := svgChartChunk(400)
		if f != "svg-chart" {
			data = fixtures.Read(b, "rrweb", f)
		}
		b.Run(strings.TrimSuffix(f, ".events.json"), func(b *testing.B) {
			c, err := rrweb.Parse(data)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Release()
			b.SetBytes(int64(len(data)))
			start := cpuTime()
			n := 0
			for b.Loop() {
				maskChunk(m, c, &State{})
				n++
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
		})
	}
}

// cpuTime is the user and system CPU time of the process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
