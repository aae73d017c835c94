// Package formats recognises the replay records of the browser SDKs the
// receiver accepts — our own chunks, HyperDX's rr-web.* records, Grafana
// Faro's replay events — and the Splunk RUM segments it refuses, and turns
// the records of one OTLP request into chunks. One file per format; adding a
// format touches its file, its test and the list in NewRequest.
//
// The package holds no state beyond one request and imports no store: the
// parts of a split rr-web event that straddle requests go, through
// Request.JoinSplit, to a PartStore the receiver backs with ClickHouse.
package formats

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Record is one log record with what a format needs to recognise it.
type Record struct {
	Resource pcommon.Resource
	Scope    pcommon.InstrumentationScope
	Log      plog.LogRecord
	// Name is the record's EventName, else its event.name attribute (SDKs
	// that predate the EventName field put it there).
	Name string
}

// Chunk is a replay chunk before privacy and summary: the key it is stored
// under (session, window, seq) and a body of rrweb events.
type Chunk struct {
	SessionID string
	WindowID  string
	Seq       uint64
	Start     int64 // unix ms from attributes (0: from the events)
	End       int64
	// Data is a JSON array of rrweb events, or its gzip. Read-only: it may
	// be a pdata string's memory.
	Data     []byte
	Resource pcommon.Resource
	// Attrs are the record's attributes (user.id, geo, user agent), copied:
	// the record itself is removed from the request after it is read.
	Attrs pcommon.Map
}

// Format is one SDK's replay wire format, read for one request.
type Format interface {
	// Claims reports whether r is replay data of this format.
	Claims(r Record) bool
	// Add takes a claimed record; an error refuses that record alone.
	Add(r Record) error
	// Chunks returns the chunks of the records added so far.
	Chunks() []Chunk
}

// Request reads the replay records of one OTLP request.
type Request struct {
	formats []Format
	rrWeb   *rrWeb
}

// NewRequest returns the reader of one request's replay records. The order
// matters: Splunk claims its rr-web.* records before HyperDX's format does.
func NewRequest() *Request {
	rr := &rrWeb{}
	return &Request{formats: []Format{&ours{}, &splunk{}, rr, &faro{}}, rrWeb: rr}
}

// Take offers a record to each format. claimed is false for records that are
// not replay data (errors, custom events, other logs); err refuses a claimed
// record and says why.
func (q *Request) Take(r Record) (claimed bool, err error) {
	for _, f := range q.formats {
		if f.Claims(r) {
			return true, f.Add(r)
		}
	}
	return false, nil
}

// JoinSplit completes the split rr-web events whose parts are not all in
// this request: their parts go to ps, and each event ps then holds every
// part of becomes a chunk of its own (see rrWeb.joinSplit). Call it after
// the last Take, before Chunks. err is ps's failure (the request must be
// retried); refused are events whose joined parts are no rrweb event.
func (q *Request) JoinSplit(ctx context.Context, ps PartStore) (refused []error, err error) {
	return q.rrWeb.joinSplit(ctx, ps)
}

// SplitWaiting is how many parts of split events the request holds whose
// events are not joined yet (the records a failed JoinSplit leaves unstored).
func (q *Request) SplitWaiting() int {
	n := 0
	for _, s := range q.rrWeb.split {
		if !s.joined {
			n += len(s.parts)
		}
	}
	return n
}

// Chunks returns the chunks of the request, format by format.
func (q *Request) Chunks() []Chunk {
	var out []Chunk
	for _, f := range q.formats {
		out = append(out, f.Chunks()...)
	}
	return out
}

// Errors shared by the formats; each refusal wraps one, with the details.
var (
	ErrNoSession  = errors.New("no session id")
	ErrBadID      = errors.New("unusable id")
	ErrBadBody    = errors.New("unusable body")
	ErrBadCounter = errors.New("missing or unusable counter")
)

// MaxIDLen bounds session and window ids.
const MaxIDLen = 256

// ValidID refuses ids that would be unreadable or abusive as ClickHouse keys.
func ValidID(name, v string) error {
	if len(v) > MaxIDLen {
		return fmt.Errorf("%w: %s is %d bytes, over %d", ErrBadID, name, len(v), MaxIDLen)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrBadID, name)
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: %s contains control characters", ErrBadID, name)
		}
	}
	return nil
}

// AttrSessionID is the semantic-convention session attribute.
const AttrSessionID = "session.id"

// SessionID finds the session id: the record/span attribute session.id
// (set by the web SDK, or copied from W3C baggage by a backend), its
// baggage-prefixed form, then the resource (HyperDX puts it there as
// rum.sessionId).
func SessionID(attrs, res pcommon.Map) string {
	for _, k := range []string{AttrSessionID, "baggage.session.id"} {
		if v := Str(attrs, k); v != "" {
			return v
		}
	}
	for _, k := range []string{AttrSessionID, RRWebSessionAttr} {
		if v := Str(res, k); v != "" {
			return v
		}
	}
	return ""
}

// Str is the attribute as a string ("" when absent).
func Str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		if v.Type() == pcommon.ValueTypeStr {
			return v.Str()
		}
		return v.AsString()
	}
	return ""
}

// Int is the attribute as an integer: an int, a whole double (JSON clients
// send numbers as doubles) or a decimal string (Faro sends every value as a
// string).
func Int(m pcommon.Map, k string) (int64, bool) {
	v, ok := m.Get(k)
	if !ok {
		return 0, false
	}
	return intValue(v)
}

func intValue(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if math.IsNaN(d) || d < math.MinInt64 || d >= math.MaxInt64 || d != math.Trunc(d) {
			return 0, false
		}
		return int64(d), true
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(v.Str(), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// bodyBytes is a record body that holds text or bytes, copied.
func bodyBytes(v pcommon.Value) ([]byte, error) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return []byte(v.Str()), nil
	case pcommon.ValueTypeBytes:
		return v.Bytes().AsRaw(), nil
	}
	return nil, fmt.Errorf("%w: the event's JSON is expected, got a %s body", ErrBadBody, v.Type())
}

func copyAttrs(m pcommon.Map) pcommon.Map {
	out := pcommon.NewMap()
	m.CopyTo(out)
	return out
}

func has(m pcommon.Map, k string) bool {
	_, ok := m.Get(k)
	return ok
}
