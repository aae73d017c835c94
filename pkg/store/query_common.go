package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// MaxSessionDuration bounds how long a session lasts (the recorder starts a
// new session after it). Read queries use it to prefilter the per-chunk
// summary rows by time before grouping them into sessions.
const MaxSessionDuration = 4 * time.Hour

// finalSettings make FINAL over the summary table cheap and still exact: a
// contribution and its retries share their start_time, so they share their
// partition (toDate(start_time)), and partitions can be deduplicated apart,
// in parallel; FINAL may use the start_time skip index too. Measured with
// BenchmarkSessionList: 87 ms instead of 720 ms without them.
const finalSettings = "do_not_merge_across_partitions_select_final = 1, use_skip_indexes_if_final = 1"

// ErrInvalidQuery marks errors in a query the caller built (unknown filter
// key, bad operator, non-numeric value for a numeric key, ...): a user error,
// never a ClickHouse or plugin failure.
var ErrInvalidQuery = errors.New("invalid query")

func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidQuery, fmt.Sprintf(format, a...))
}

// TimeRange is a closed interval [From, To].
type TimeRange struct {
	From time.Time
	To   time.Time
}

func (tr TimeRange) validate() error {
	if tr.From.IsZero() || tr.To.IsZero() {
		return invalidf("time range is required")
	}
	if tr.To.Before(tr.From) {
		return invalidf("time range: to (%s) is before from (%s)", tr.To.UTC().Format(time.RFC3339), tr.From.UTC().Format(time.RFC3339))
	}
	return nil
}

// params collects the server-side parameters of one statement. Every value
// that comes from a user goes through it, so it reaches ClickHouse as a
// {name:Type} parameter and never as SQL text.
type params struct {
	p clickhouse.Parameters
	n int
}

func newParams() *params { return &params{p: clickhouse.Parameters{}} }

// paramEscaper undoes the server's reading of parameter values: ClickHouse
// parses a parameter with the "escaped" (TSV) text format, in which `\` starts
// an escape sequence and tab/newline end the value. Escaping them makes the
// server see exactly the Go string.
var paramEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`)

// EscapeParam returns v as it must be passed to clickhouse.WithParameters for a
// String parameter so the server receives v literally.
func EscapeParam(v string) string { return paramEscaper.Replace(v) }

func (p *params) next() string {
	name := "p" + strconv.Itoa(p.n)
	p.n++
	return name
}

// str binds a String value and returns its placeholder.
func (p *params) str(v string) string {
	name := p.next()
	p.p[name] = EscapeParam(v)
	return "{" + name + ":String}"
}

// f64 binds a Float64 value.
func (p *params) f64(v float64) string {
	name := p.next()
	p.p[name] = strconv.FormatFloat(v, 'g', -1, 64)
	return "{" + name + ":Float64}"
}

// i64 binds an Int64 value.
func (p *params) i64(v int64) string {
	name := p.next()
	p.p[name] = strconv.FormatInt(v, 10)
	return "{" + name + ":Int64}"
}

// u64 binds a UInt64 value.
func (p *params) u64(v uint64) string {
	name := p.next()
	p.p[name] = strconv.FormatUint(v, 10)
	return "{" + name + ":UInt64}"
}

// ms binds a time as DateTime64(3) (via unix milliseconds).
func (p *params) ms(t time.Time) string {
	return "fromUnixTimestamp64Milli(" + p.i64(t.UnixMilli()) + ")"
}
