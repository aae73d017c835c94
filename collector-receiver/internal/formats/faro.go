package formats

import (
	"fmt"
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
)

// Grafana Faro's replay (@grafana/faro-instrumentation-replay 2.12 over
// @grafana/faro-transport-otlp-http): every rrweb event is a Faro event,
// which the OTLP transport writes as a log record with the attribute
// event.name (the body is the name again) and a kvlist attribute
// event.attributes of strings: event (the rrweb event's JSON), recording_id,
// gen (bumped at each Meta event) and seq (counts up within a recording,
// across page loads, kept in sessionStorage).
const (
	FaroEventName    = "faro.session_recording.event"
	FaroAttrs        = "event.attributes"
	FaroEventKey     = "event"
	FaroRecordingKey = "recording_id"
	FaroGenKey       = "gen"
	FaroSeqKey       = "seq"
)

// FaroWindowID is the window of a Faro event: one per document. Faro hands
// a recording on between documents through sessionStorage (the iframe's
// recording goes on in the tab's next page), so the recording id alone
// would join two DOM trees with colliding node ids; gen changes at each
// document's Meta event. A record without gen keeps the recording id.
func FaroWindowID(recording, gen string) string {
	if gen == "" {
		return recording
	}
	return recording + ":" + gen
}

// FaroScope is the instrumentation scope of every record Faro's OTLP
// transport writes.
const FaroScope = "@grafana/faro-web-sdk"

// FaroExceptionName is the event name Faro's exception records are given:
// the one of the semantic conventions and of our recorder's errors.
const FaroExceptionName = "exception"

// IsFaroException reports a Faro exception: a record of Faro's scope with
// exception.type and no event name (the transport writes none). The
// receiver names it "exception", so the log rules written for our
// recorder's errors (event_name == "exception") match Faro's too.
func IsFaroException(r Record) bool {
	return r.Name == "" && r.Scope.Name() == FaroScope && has(r.Log.Attributes(), "exception.type")
}

// FaroConsole reads a Faro console log record (ConsoleInstrumentation over
// the OTLP transport): a record of Faro's scope with no event name and no
// exception, the message as body and the level as severity. level is one of
// trace, debug, info, log, warn, error.
func FaroConsole(r Record) (level, message string, ok bool) {
	attrs := r.Log.Attributes()
	if r.Name != "" || r.Scope.Name() != FaroScope || has(attrs, "exception.type") || has(attrs, "exception.message") {
		return "", "", false
	}
	n := r.Log.SeverityNumber()
	switch {
	case n >= plog.SeverityNumberError:
		level = "error"
	case n >= plog.SeverityNumberWarn:
		level = "warn"
	case n >= plog.SeverityNumberInfo2:
		level = "log" // Faro's LogLevel.LOG is INFO2
	case n >= plog.SeverityNumberInfo:
		level = "info"
	case n >= plog.SeverityNumberDebug:
		level = "debug"
	case n >= plog.SeverityNumberTrace:
		level = "trace"
	default:
		return "", "", false
	}
	return level, r.Log.Body().AsString(), true
}

// FaroLifecycle are the records Faro sends when a recording starts, pauses
// or resumes. They carry only the recording id: no replay data, and no
// marker either (a pause shows in the replay as the gap it is).
var FaroLifecycle = map[string]bool{
	"faro.session_recording.started": true,
	"faro.session_recording.paused":  true,
	"faro.session_recording.resumed": true,
}

// faro groups a request's replay events per (session, recording, gen): a
// window per document (FaroWindowID). A same-origin iframe that loads the
// SDK starts a recording of its own in the same session, at the same time,
// with its own DOM and node ids. The chunk's seq is the least seq among its
// events (seq counts within the recording, across its documents), so a
// retried request writes the same key, and chunks of a window replay in the
// SDK's order.
type faro struct {
	groups map[faroKey]*faroGroup
	order  []faroKey
}

type faroKey struct{ session, window string }

type faroGroup struct {
	res    pcommon.Resource
	attrs  pcommon.Map
	events []faroEvent
}

type faroEvent struct {
	seq  int64
	body []byte
}

func (f *faro) Claims(r Record) bool { return r.Name == FaroEventName }

func (f *faro) Add(r Record) error {
	if err := f.add(r); err != nil {
		return fmt.Errorf("faro replay event: %w", err)
	}
	return nil
}

func (f *faro) add(r Record) error {
	attrs := r.Log.Attributes()
	sid := SessionID(attrs, r.Resource.Attributes())
	if sid == "" {
		return fmt.Errorf("%w: missing %s attribute", ErrNoSession, AttrSessionID)
	}
	if err := ValidID(AttrSessionID, sid); err != nil {
		return err
	}
	v, ok := attrs.Get(FaroAttrs)
	if !ok || v.Type() != pcommon.ValueTypeMap {
		return fmt.Errorf("%w: missing kvlist attribute %s", ErrBadBody, FaroAttrs)
	}
	ea := v.Map()
	rec := Str(ea, FaroRecordingKey)
	if rec == "" {
		return fmt.Errorf("%w: missing %s.%s", ErrBadID, FaroAttrs, FaroRecordingKey)
	}
	if err := ValidID(FaroAttrs+"."+FaroRecordingKey, rec); err != nil {
		return err
	}
	win := FaroWindowID(rec, Str(ea, FaroGenKey))
	if err := ValidID(FaroAttrs+"."+FaroGenKey, win); err != nil {
		return err
	}
	seq, ok := Int(ea, FaroSeqKey)
	if !ok || seq < 0 {
		return fmt.Errorf("%w: missing, non-integer or negative %s.%s", ErrBadCounter, FaroAttrs, FaroSeqKey)
	}
	ev, ok := ea.Get(FaroEventKey)
	if !ok || ev.Type() != pcommon.ValueTypeStr {
		return fmt.Errorf("%w: %s.%s must be the rrweb event's JSON text", ErrBadBody, FaroAttrs, FaroEventKey)
	}
	body := []byte(ev.Str())
	if _, err := rrweb.ParseEvent(body); err != nil {
		return err
	}
	k := faroKey{sid, win}
	g := f.groups[k]
	if g == nil {
		g = &faroGroup{res: r.Resource, attrs: copyAttrs(attrs)}
		// the event is stored in the chunk, not again in its attributes
		g.attrs.Remove(FaroAttrs)
		if f.groups == nil {
			f.groups = map[faroKey]*faroGroup{}
		}
		f.groups[k] = g
		f.order = append(f.order, k)
	}
	g.events = append(g.events, faroEvent{seq: seq, body: body})
	return nil
}

func (f *faro) Chunks() []Chunk {
	var out []Chunk
	for _, k := range f.order {
		g := f.groups[k]
		sort.SliceStable(g.events, func(i, j int) bool { return g.events[i].seq < g.events[j].seq })
		bodies := make([][]byte, 0, len(g.events))
		for i, e := range g.events {
			if i > 0 && e.seq == g.events[i-1].seq {
				continue // the same event twice in one request
			}
			bodies = append(bodies, e.body)
		}
		out = append(out, Chunk{SessionID: k.session, WindowID: k.window, Seq: uint64(g.events[0].seq), Data: rrweb.Join(bodies),
			Resource: g.res, Attrs: g.attrs})
	}
	return out
}
