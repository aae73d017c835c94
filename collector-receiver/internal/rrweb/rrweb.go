// Package rrweb decodes replay chunk payloads (JSON arrays of rrweb events)
// and extracts what the receiver stores next to them: the per-chunk session
// summary and the timeline markers.
package rrweb

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// rrweb event types.
const (
	TypeDomContentLoaded = 0
	TypeLoad             = 1
	TypeFullSnapshot     = 2
	TypeIncremental      = 3
	TypeMeta             = 4
	TypeCustom           = 5
	TypePlugin           = 6
)

// Incremental sources.
const (
	SourceMutation         = 0
	SourceMouseMove        = 1
	SourceMouseInteraction = 2
	SourceScroll           = 3
	SourceViewportResize   = 4
	SourceInput            = 5
	SourceTouchMove        = 6
	SourceDrag             = 12
	SourceSelection        = 14
)

// MouseInteraction types.
const MouseClick = 2

// ErrNotArray is returned for a payload that is not a JSON array of events.
var ErrNotArray = errors.New("rrweb payload is not a JSON array of events")

var gzipPool sync.Pool

// Gunzip decompresses b, refusing to produce more than limit bytes.
func Gunzip(b []byte, limit int64) ([]byte, error) {
	var zr *gzip.Reader
	if v := gzipPool.Get(); v != nil {
		zr = v.(*gzip.Reader)
		if err := zr.Reset(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	} else {
		var err error
		if zr, err = gzip.NewReader(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	}
	defer gzipPool.Put(zr)
	var out bytes.Buffer
	out.Grow(len(b) * 5)
	n, err := io.Copy(&out, io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if n > limit {
		return nil, fmt.Errorf("gzip: chunk expands beyond %d bytes", limit)
	}
	return out.Bytes(), nil
}

// IsGzip reports whether b starts with the gzip magic number.
func IsGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// DecodeBody turns a chunk body into the JSON array of events: bytes are
// gzip (by magic number or encoding "gzip") or plain JSON; strings are JSON.
func DecodeBody(body []byte, encoding string, limit int64) ([]byte, error) {
	if IsGzip(body) || encoding == "gzip" {
		if !IsGzip(body) {
			return nil, errors.New("session_replay.encoding is gzip but the body is not gzip")
		}
		return Gunzip(body, limit)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("chunk of %d bytes is over the %d byte limit", len(body), limit)
	}
	return body, nil
}

// Marker is a timeline marker found in a chunk.
type Marker struct {
	Seq    uint64 // the chunk the marker's event is in (see SummarizeWindow)
	Index  int    // index of the event in the chunk (for deterministic ids)
	Time   int64
	Kind   string // click, rage_click, dead_click, navigation, console, custom
	Name   string
	URL    string
	Detail string
}

// Stats summarises one chunk.
type Stats struct {
	Start, End   int64 // unix ms; 0 when no events
	Events       int
	FullSnapshot bool
	PageViews    int
	Clicks       int
	Inputs       int
	RageClicks   int
	ActiveMs     int64
	URLs         []string // in order of first visit
	Markers      []Marker
	CustomTags   []string
	// DeadClicks are clicks (of this chunk or an earlier one of the tab)
	// that nothing in the recording answered within DeadClickMs: kind
	// dead_click, not yet in Markers. Whether a request answered them is
	// for the caller to check (spans arrive on their own).
	DeadClicks []Marker
}

// Rage click: RageCount clicks within RageWindowMs and RageRadiusPx.
const (
	RageCount    = 3
	RageWindowMs = 1000
	RageRadiusPx = 30
	// ActiveGapMs: gaps between interactions longer than this are idle.
	ActiveGapMs = 5000
)

type click struct {
	t      int64
	x, y   float64
	idx    int
	pos    int // position in time order
	id     int64
	target Target
}

// Summarize computes the chunk statistics and markers of a chunk read on
// its own: clicks are named from the chunk's own snapshot and mutations,
// and a click near its end is not judged dead.
func Summarize(c *Chunk) Stats { return SummarizeWindow(c, nil, 0) }

// SummarizeWindow computes the chunk statistics and markers of chunk seq of
// the tab whose state is w (nil: the chunk alone). It updates w: the node
// index that names click targets, and the clicks still waiting for their
// dead-click bound to pass.
func SummarizeWindow(c *Chunk, w *Window, seq uint64) Stats {
	if w == nil {
		w = &Window{}
	}
	events := c.Events
	tp := &c.Tape
	var s Stats
	s.Events = len(events)
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	byTime := func(a, b int) int { return cmp.Compare(events[a].Timestamp, events[b].Timestamp) }
	if !slices.IsSortedFunc(order, byTime) {
		slices.SortStableFunc(order, byTime)
	}
	ix := indexer{c: c, x: &w.nodes}
	seen := map[string]bool{}
	var clicks []click
	var lastActive int64 = -1
	for pos, i := range order {
		e := &events[i]
		if e.Timestamp > 0 {
			if s.Start == 0 || e.Timestamp < s.Start {
				s.Start = e.Timestamp
			}
			if e.Timestamp > s.End {
				s.End = e.Timestamp
			}
		}
		switch e.Type {
		case TypeFullSnapshot:
			s.FullSnapshot = true
			// a full snapshot is the whole DOM: the index starts again
			w.nodes.reset()
			ix.walk(tp.Member(e.Data, "node"), 0, 0, nil)
		case TypeMeta:
			if href, _ := tp.Str(tp.Member(e.Data, "href")); href != "" {
				s.PageViews++
				if !seen[href] {
					seen[href] = true
					s.URLs = append(s.URLs, href)
				}
				s.Markers = append(s.Markers, Marker{Index: i, Time: e.Timestamp, Kind: "navigation", Name: "page view", URL: href})
			}
		case TypeCustom:
			if tag, _ := tp.Str(tp.Member(e.Data, "tag")); tag != "" {
				s.CustomTags = append(s.CustomTags, tag)
				if m, ok := customConsole(c, e, i, tag); ok {
					s.Markers = append(s.Markers, m)
					continue
				}
				detail := ""
				if p := tp.Member(e.Data, "payload"); p >= 0 {
					raw := tp.Raw(p)
					detail = string(raw[:min(len(raw), 2048)])
				}
				s.Markers = append(s.Markers, Marker{Index: i, Time: e.Timestamp, Kind: "custom", Name: tag, Detail: detail})
			}
		case TypePlugin:
			if m, ok := pluginConsole(c, e, i); ok {
				s.Markers = append(s.Markers, m)
			}
		case TypeIncremental:
			source, ok := tp.Int(tp.Member(e.Data, "source"))
			if !ok {
				continue
			}
			switch source {
			case SourceMouseMove, SourceMouseInteraction, SourceScroll, SourceInput, SourceTouchMove, SourceDrag, SourceSelection:
				if lastActive >= 0 {
					if gap := e.Timestamp - lastActive; gap > 0 && gap <= ActiveGapMs {
						s.ActiveMs += gap
					}
				}
				lastActive = e.Timestamp
			}
			switch source {
			case SourceMutation:
				ix.mutation(e.Data)
			case SourceInput:
				s.Inputs++
			case SourceMouseInteraction:
				if typ, _ := tp.Int(tp.Member(e.Data, "type")); typ != MouseClick {
					continue
				}
				s.Clicks++
				c := click{t: e.Timestamp, idx: i, pos: pos}
				x, okX := tp.Float(tp.Member(e.Data, "x"))
				y, okY := tp.Float(tp.Member(e.Data, "y"))
				if okX && okY {
					c.x, c.y = x, y
				}
				c.id = ix.id(tp.Member(e.Data, "id"))
				c.target = w.nodes.target(c.id)
				s.Markers = append(s.Markers, Marker{Index: i, Time: e.Timestamp, Kind: "click", Name: c.target.Label(),
					Detail: clickDetail(c.id, c.x, c.y, c.target, "")})
				clicks = append(clicks, c)
			}
		}
	}
	w.nodes.want, w.nodes.wantFor = nil, nil
	s.RageClicks, s.Markers = rage(clicks, s.Markers)
	s.DeadClicks = w.deadClicks(c, order, clicks, seq)
	for i := range s.Markers {
		s.Markers[i].Seq = seq
	}
	return s
}

// clickTargets collects the node ids the chunk's clicks target, into want.
func clickTargets(c *Chunk, want map[int64]bool) map[int64]bool {
	tp := &c.Tape
	for _, e := range c.Events {
		if e.Type != TypeIncremental {
			continue
		}
		if src, _ := tp.Int(tp.Member(e.Data, "source")); src != SourceMouseInteraction {
			continue
		}
		if typ, _ := tp.Int(tp.Member(e.Data, "type")); typ != MouseClick {
			continue
		}
		if want == nil {
			want = map[int64]bool{}
		}
		if f, ok := tp.Float(tp.Member(e.Data, "id")); ok {
			want[int64(f)] = true
		}
	}
	return want
}

// rage finds bursts of >= RageCount clicks within RageWindowMs whose points
// lie within RageRadiusPx of the burst's first click; one burst is one rage
// click (and one marker), however long it lasts.
func rage(clicks []click, markers []Marker) (int, []Marker) {
	n := 0
	for i := 0; i < len(clicks); {
		j := i + 1
		for j < len(clicks) && clicks[j].t-clicks[i].t <= RageWindowMs &&
			abs(clicks[j].x-clicks[i].x) <= RageRadiusPx && abs(clicks[j].y-clicks[i].y) <= RageRadiusPx {
			j++
		}
		if j-i >= RageCount {
			// extend the burst while clicks keep coming close to the last one
			for j < len(clicks) && clicks[j].t-clicks[j-1].t <= RageWindowMs &&
				abs(clicks[j].x-clicks[i].x) <= RageRadiusPx && abs(clicks[j].y-clicks[i].y) <= RageRadiusPx {
				j++
			}
			n++
			c := clicks[i]
			name := "rage click"
			if c.target.Tag != "" {
				name = c.target.Label()
			}
			markers = append(markers, Marker{Index: c.idx, Time: c.t, Kind: "rage_click", Name: name,
				Detail: clickDetail(c.id, c.x, c.y, c.target, fmt.Sprintf(`"clicks":%d,`, j-i))})
			i = j
			continue
		}
		i++
	}
	return n, markers
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
