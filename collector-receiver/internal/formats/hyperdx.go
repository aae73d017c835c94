package formats

import (
	"fmt"
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
)

// HyperDX's rr-web.* format (@hyperdx/browser 0.26, its
// @hyperdx/otel-web-session-recorder, a fork of Splunk's older recorder):
// one rrweb event per record, the event's JSON as the body, split in parts
// of ~950 KB when bigger. Sent as gzip protobuf.
const (
	RRWebScope       = "rum.rr-web"
	RRWebSessionAttr = "rum.sessionId"
	// RRWebInstanceAttr is a random id the SDK draws when it starts in a
	// page (each page load, each iframe that loads it): one recorder.
	RRWebInstanceAttr = "rum.scriptInstance"
	RRWebEventAttr    = "rr-web.event"
	RRWebChunkAttr    = "rr-web.chunk"
	RRWebTotalAttr    = "rr-web.total-chunks"
	// RRWebWindow is the window of rr-web sessions whose resource names no
	// script instance.
	RRWebWindow = "rr-web"
	// MaxRRParts bounds the parts of one split event.
	MaxRRParts = 10000
)

// rrWeb groups a request's rr-web.* records per recorder.
//
// The SDK numbers events (rr-web.event) from 1 in every page it runs in, so
// the index alone cannot key chunks: three page loads would store three
// chunks under the same seq, each overwriting the one before. Each page's
// recorder carries its own rum.scriptInstance, so a recorder is a window
// ("rr-web:<instance>") and the index orders its chunks; a page load and a
// same-origin iframe running the SDK are separate windows, as they are
// separate DOM trees. A chunk's seq is the least index among the request's
// records of that window, so a retried request writes the same key.
type rrWeb struct {
	parts  Parts
	groups map[rrGroupKey]*rrGroup
	order  []rrGroupKey
}

type rrGroupKey struct{ session, window string }

type rrGroup struct {
	res    pcommon.Resource
	attrs  pcommon.Map // of the group's first record, copied
	events []rrEvent
	// minIdx/minTime over every record of the group, parts of unfinished
	// events too: a retry of the same request gets the same seq.
	minIdx, minTime int64
	hasIdx          bool
}

type rrEvent struct {
	idx, ts int64
	body    []byte
}

func (f *rrWeb) Claims(r Record) bool {
	return r.Scope.Name() == RRWebScope || has(r.Log.Attributes(), RRWebEventAttr)
}

func (f *rrWeb) Add(r Record) error {
	if err := f.add(r); err != nil {
		return fmt.Errorf("rr-web event: %w", err)
	}
	return nil
}

func (f *rrWeb) add(r Record) error {
	attrs, res := r.Log.Attributes(), r.Resource.Attributes()
	sid := Str(res, RRWebSessionAttr)
	if sid == "" {
		sid = SessionID(attrs, res)
	}
	if sid == "" {
		return fmt.Errorf("%w: missing resource attribute %s", ErrNoSession, RRWebSessionAttr)
	}
	if err := ValidID(RRWebSessionAttr, sid); err != nil {
		return err
	}
	window := RRWebWindow
	if inst := Str(res, RRWebInstanceAttr); inst != "" {
		window += ":" + inst
		if err := ValidID(RRWebInstanceAttr, inst); err != nil {
			return err
		}
	}
	body, err := bodyBytes(r.Log.Body())
	if err != nil {
		return err
	}
	idx, hasIdx := Int(attrs, RRWebEventAttr)
	if hasIdx && idx < 0 {
		return fmt.Errorf("%w: negative %s", ErrBadCounter, RRWebEventAttr)
	}
	k := rrGroupKey{sid, window}
	g := f.groups[k]
	if g == nil {
		g = &rrGroup{res: r.Resource, attrs: copyAttrs(attrs)}
		if f.groups == nil {
			f.groups = map[rrGroupKey]*rrGroup{}
		}
		f.groups[k] = g
		f.order = append(f.order, k)
	}
	if hasIdx && (!g.hasIdx || idx < g.minIdx) {
		g.minIdx, g.hasIdx = idx, true
	}
	recTime := int64(r.Log.Timestamp() / 1e6)
	g.noteTime(recTime)
	if total, ok := Int(attrs, RRWebTotalAttr); ok && total > 1 {
		part, _ := Int(attrs, RRWebChunkAttr)
		if !hasIdx {
			return fmt.Errorf("%w: split event without %s", ErrBadCounter, RRWebEventAttr)
		}
		if total > MaxRRParts || part < 0 || part > total {
			return fmt.Errorf("%w: %s %d of %s %d out of range", ErrBadCounter, RRWebChunkAttr, part, RRWebTotalAttr, total)
		}
		if body = f.parts.Part(sid+"\x00"+window, idx, part, total, body); body == nil {
			return nil // waiting for the other parts
		}
	}
	ev, err := rrweb.ParseEvent(body)
	if err != nil {
		return err
	}
	if !hasIdx {
		idx = ev.Timestamp
	}
	if recTime == 0 {
		g.noteTime(ev.Timestamp)
	}
	g.events = append(g.events, rrEvent{idx: idx, ts: ev.Timestamp, body: body})
	return nil
}

func (f *rrWeb) Chunks() []Chunk {
	var out []Chunk
	for _, k := range f.order {
		g := f.groups[k]
		if len(g.events) == 0 {
			continue // only parts of events still incomplete
		}
		// the SDK's order, whatever order the records came in
		sort.SliceStable(g.events, func(i, j int) bool { return g.events[i].idx < g.events[j].idx })
		bodies := make([][]byte, len(g.events))
		for i, e := range g.events {
			bodies[i] = e.body
		}
		out = append(out, Chunk{SessionID: k.session, WindowID: k.window, Seq: g.seq(k.window), Data: rrweb.Join(bodies),
			Resource: g.res, Attrs: g.attrs})
	}
	return out
}

func (g *rrGroup) noteTime(ms int64) {
	if ms > 0 && (g.minTime == 0 || ms < g.minTime) {
		g.minTime = ms
	}
}

// seq keys the chunk within its window. A recorder's own window is ordered
// by its index. Without a script instance every page load shares the
// window "rr-web" and restarts the index, so the seq leads with the time of
// the request's first record (ms, 43 bits until year 2248) and keeps the
// index in the low 20 bits: page loads get distinct keys in time order.
func (g *rrGroup) seq(window string) uint64 {
	idx := uint64(0)
	if g.hasIdx {
		idx = uint64(g.minIdx)
	}
	if window != RRWebWindow {
		return idx
	}
	return uint64(max(g.minTime, 0))<<20 | idx&(1<<20-1)
}
