package formats

import (
	"context"
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
// whole events of that window, so a retried request writes the same key.
//
// An event over ~950 KB comes in parts (rr-web.chunk of rr-web.total-chunks,
// one record each, back to back). Parts that are all in the request are
// joined here and the event is one of the request's. Parts of an event that
// straddles two export batches go to a PartStore (ClickHouse: any replica,
// after any restart, may get the other parts); the request that finds every
// part there emits the event as a chunk of its own, keyed by the event alone
// (eventSeq), so two replicas doing so at once, or a retry, write the same
// key. Those parts never count in the request chunk's least index: the
// request chunk and the event's own chunk cannot share a seq.
type rrWeb struct {
	groups map[rrGroupKey]*rrGroup
	order  []rrGroupKey
	// split are the request's split events, joined or still waiting.
	split      map[SplitKey]*rrSplit
	splitOrder []SplitKey
}

type rrGroupKey struct{ session, window string }

type rrGroup struct {
	res    pcommon.Resource
	attrs  pcommon.Map // of the group's first record, copied
	events []rrEvent
	// minIdx/minTime over the group's whole events (parts of events joined
	// within the request too): a retry of the same request gets the same seq.
	minIdx, minTime int64
	hasIdx          bool
	// own are split events joined from stored parts, one chunk each.
	own []Chunk
}

type rrEvent struct {
	idx, ts int64
	body    []byte
}

// SplitKey names one split event.
type SplitKey struct {
	SessionID, WindowID string
	Event               int64 // rr-web.event
	// Time is the parts' record time (unix ms; the SDK stamps every part
	// with the event's time) in the window "rr-web", whose index restarts on
	// every page load; 0 in a recorder's own window.
	Time int64
}

// SplitPart is one part of a split event.
type SplitPart struct {
	SplitKey
	Part, Total int64
	Body        []byte
}

// PartStore keeps the parts of split events that straddle requests where
// every replica finds them (the receiver's is ClickHouse, via pkg/store).
type PartStore interface {
	// Gather stores parts, then returns every stored part of their events:
	// these and the ones earlier requests stored.
	Gather(ctx context.Context, parts []SplitPart) ([]SplitPart, error)
}

// rrSplit is one split event of the request.
type rrSplit struct {
	group   rrGroupKey
	total   int64
	parts   map[int64][]byte
	minTime int64
	joined  bool
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
	recTime := int64(r.Log.Timestamp() / 1e6)
	if total, ok := Int(attrs, RRWebTotalAttr); ok && total > 1 {
		part, _ := Int(attrs, RRWebChunkAttr)
		if !hasIdx {
			return fmt.Errorf("%w: split event without %s", ErrBadCounter, RRWebEventAttr)
		}
		if total > MaxRRParts || part < 0 || part > total {
			return fmt.Errorf("%w: %s %d of %s %d out of range", ErrBadCounter, RRWebChunkAttr, part, RRWebTotalAttr, total)
		}
		key := SplitKey{SessionID: sid, WindowID: window, Event: idx}
		if window == RRWebWindow {
			key.Time = recTime
		}
		s := f.splitOf(key, k, total)
		if s.joined {
			return nil // a copy of a part of an event already joined
		}
		if total != s.total {
			return fmt.Errorf("%w: parts of event %d say %d and %d parts", ErrBadCounter, idx, s.total, total)
		}
		s.parts[part] = body
		if recTime > 0 && (s.minTime == 0 || recTime < s.minTime) {
			s.minTime = recTime
		}
		if int64(len(s.parts)) < total {
			return nil // the other parts may come later in the request, or in another
		}
		s.joined = true // joined here, or refused with the record: done either way
		if body, err = joinParts(s.parts, total); err != nil {
			return err
		}
		recTime = s.minTime
	}
	ev, err := rrweb.ParseEvent(body)
	if err != nil {
		return err
	}
	if hasIdx && (!g.hasIdx || idx < g.minIdx) {
		g.minIdx, g.hasIdx = idx, true
	}
	if !hasIdx {
		idx = ev.Timestamp
	}
	g.noteTime(recTime)
	if recTime == 0 {
		g.noteTime(ev.Timestamp)
	}
	g.events = append(g.events, rrEvent{idx: idx, ts: ev.Timestamp, body: body})
	return nil
}

func (f *rrWeb) splitOf(key SplitKey, group rrGroupKey, total int64) *rrSplit {
	s := f.split[key]
	if s == nil {
		s = &rrSplit{group: group, total: total, parts: map[int64][]byte{}}
		if f.split == nil {
			f.split = map[SplitKey]*rrSplit{}
		}
		f.split[key] = s
		f.splitOrder = append(f.splitOrder, key)
	}
	return s
}

// joinParts concatenates the parts of one event in order; the SDK numbers
// them 1..n (older ones 0..n-1).
func joinParts(parts map[int64][]byte, total int64) ([]byte, error) {
	first := int64(1)
	if _, ok := parts[0]; ok {
		first = 0
	}
	size := 0
	for n := first; n < first+total; n++ {
		p, ok := parts[n]
		if !ok {
			return nil, fmt.Errorf("%w: %s %d missing of %d", ErrBadCounter, RRWebChunkAttr, n, total)
		}
		size += len(p)
	}
	out := make([]byte, 0, size)
	for n := first; n < first+total; n++ {
		out = append(out, parts[n]...)
	}
	return out, nil
}

// joinSplit writes the parts of the request's unfinished split events to ps
// and turns each event whose parts ps now holds in full into a chunk of its
// own (see rrWeb).
func (f *rrWeb) joinSplit(ctx context.Context, ps PartStore) (refused []error, err error) {
	var waiting []SplitPart
	for _, k := range f.splitOrder {
		s := f.split[k]
		if s.joined {
			continue
		}
		nums := make([]int64, 0, len(s.parts))
		for n := range s.parts {
			nums = append(nums, n)
		}
		sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
		for _, n := range nums {
			waiting = append(waiting, SplitPart{SplitKey: k, Part: n, Total: s.total, Body: s.parts[n]})
		}
	}
	if len(waiting) == 0 {
		return nil, nil
	}
	stored, err := ps.Gather(ctx, waiting)
	if err != nil {
		return nil, err
	}
	found := map[SplitKey]map[int64][]byte{}
	for _, p := range stored {
		s := f.split[p.SplitKey]
		if s == nil || s.joined || p.Total != s.total {
			continue // another event's, or parts of another split of this index
		}
		if found[p.SplitKey] == nil {
			found[p.SplitKey] = map[int64][]byte{}
		}
		found[p.SplitKey][p.Part] = p.Body
	}
	for _, k := range f.splitOrder {
		s := f.split[k]
		if s.joined || int64(len(found[k])) < s.total {
			continue // still waiting for parts
		}
		body, err := joinParts(found[k], s.total)
		if err != nil {
			refused = append(refused, fmt.Errorf("rr-web event %d: %w", k.Event, err))
			continue
		}
		ev, err := rrweb.ParseEvent(body)
		if err != nil {
			refused = append(refused, fmt.Errorf("rr-web event %d: %w", k.Event, err))
			continue
		}
		s.joined = true
		ts := ev.Timestamp
		if ts <= 0 {
			ts = k.Time
		}
		g := f.groups[s.group]
		g.own = append(g.own, Chunk{SessionID: k.SessionID, WindowID: k.WindowID, Seq: eventSeq(k.WindowID, k.Event, ts),
			Data: rrweb.Join([][]byte{body}), Resource: g.res, Attrs: g.attrs})
	}
	return refused, nil
}

// Chunks returns, per window, the request's chunk and the chunks of split
// events joined from stored parts, in seq order (the order the privacy and
// summary state of the window reads them in).
func (f *rrWeb) Chunks() []Chunk {
	var out []Chunk
	for _, k := range f.order {
		g := f.groups[k]
		window := append([]Chunk(nil), g.own...)
		if len(g.events) > 0 {
			// the SDK's order, whatever order the records came in
			sort.SliceStable(g.events, func(i, j int) bool { return g.events[i].idx < g.events[j].idx })
			bodies := make([][]byte, len(g.events))
			for i, e := range g.events {
				bodies[i] = e.body
			}
			window = append(window, Chunk{SessionID: k.session, WindowID: k.window, Seq: g.seq(k.window), Data: rrweb.Join(bodies),
				Resource: g.res, Attrs: g.attrs})
		}
		sort.SliceStable(window, func(i, j int) bool { return window[i].Seq < window[j].Seq })
		out = append(out, window...)
	}
	return out
}

func (g *rrGroup) noteTime(ms int64) {
	if ms > 0 && (g.minTime == 0 || ms < g.minTime) {
		g.minTime = ms
	}
}

// seq keys the request's chunk within its window: eventSeq of its least
// index and, in the window "rr-web", of the time of its first record.
func (g *rrGroup) seq(window string) uint64 {
	idx := int64(0)
	if g.hasIdx {
		idx = g.minIdx
	}
	return eventSeq(window, idx, g.minTime)
}

// eventSeq keys a chunk that starts with event idx at time ms. A recorder's
// own window is ordered by its index. Without a script instance every page
// load shares the window "rr-web" and restarts the index, so the seq leads
// with the time (ms, 43 bits until year 2248) and keeps the index in the low
// 20 bits: page loads get distinct keys in time order.
func eventSeq(window string, idx, ms int64) uint64 {
	if window != RRWebWindow {
		return uint64(idx)
	}
	return uint64(max(ms, 0))<<20 | uint64(idx)&(1<<20-1)
}
