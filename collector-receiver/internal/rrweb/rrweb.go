// Package rrweb decodes replay chunk payloads (JSON arrays of rrweb events)
// and extracts what the receiver stores next to them: the per-chunk session
// summary and the timeline markers.
package rrweb

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
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

// Event is one rrweb event; Data is kept raw and only decoded when needed.
type Event struct {
	Type      int             `json:"type"`
	Timestamp int64           `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
	// Changed is set by whoever rewrites Data (privacy); Encode then
	// re-serialises the event instead of reusing the original bytes.
	Changed bool `json:"-"`
	// Raw is the event's original JSON (a slice of the payload).
	Raw json.RawMessage `json:"-"`
}

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

// Parse splits a JSON array of rrweb events. Every element must be an object
// with a numeric type. Events point into data (no copy).
func Parse(data []byte) ([]Event, error) {
	// Only JSON whitespace: bytes.TrimSpace would also drop \v or U+0085,
	// which json.Valid then never sees, and the stored original would not be
	// JSON (found by FuzzDecodeChunk).
	trimmed := bytes.Trim(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, ErrNotArray
	}
	if !json.Valid(data) {
		var v []json.RawMessage
		err := json.Unmarshal(trimmed, &v)
		return nil, fmt.Errorf("%w: %v", ErrNotArray, err)
	}
	return fastParse(trimmed)
}

// ParseEvent parses one event (the rr-web.* format carries one per record).
func ParseEvent(raw []byte) (Event, error) {
	var e Event
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return e, errors.New("rrweb event is not a JSON object")
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("rrweb event: %v", err)
	}
	e.Raw = raw
	return e, nil
}

// Encode writes events back into a JSON array, reusing the original bytes of
// unchanged events. When nothing changed and orig is set, orig is returned.
func Encode(events []Event, orig []byte) ([]byte, error) {
	changed := false
	for i := range events {
		if events[i].Changed {
			changed = true
			break
		}
	}
	if !changed && orig != nil {
		return orig, nil
	}
	size := 2
	for i := range events {
		size += len(events[i].Raw) + 1
	}
	out := make([]byte, 0, size+size/8)
	out = append(out, '[')
	for i := range events {
		if i > 0 {
			out = append(out, ',')
		}
		e := &events[i]
		if e.Changed || e.Raw == nil {
			b, err := reencode(e)
			if err != nil {
				return nil, err
			}
			e.Raw, e.Changed = b, false
		}
		out = append(out, e.Raw...)
	}
	return append(out, ']'), nil
}

// reencode replaces type/timestamp/data in the original object, keeping its
// other keys (id, sessionId, ... of some exporters).
func reencode(e *Event) ([]byte, error) {
	obj := map[string]json.RawMessage{}
	if e.Raw != nil {
		if err := json.Unmarshal(e.Raw, &obj); err != nil {
			return nil, err
		}
	}
	obj["type"], _ = json.Marshal(e.Type)
	obj["timestamp"], _ = json.Marshal(e.Timestamp)
	if e.Data != nil {
		obj["data"] = e.Data
	}
	return json.Marshal(obj)
}

// incremental is the part of an incremental event's data the summary needs.
type incremental struct {
	Source *int     `json:"source"`
	Type   *int     `json:"type"`
	ID     int64    `json:"id"`
	X      *float64 `json:"x"`
	Y      *float64 `json:"y"`
}

type meta struct {
	Href string `json:"href"`
}

type custom struct {
	Tag     string          `json:"tag"`
	Payload json.RawMessage `json:"payload"`
}

// Marker is a timeline marker found in a chunk.
type Marker struct {
	Index  int // index of the event in the chunk (for deterministic ids)
	Time   int64
	Kind   string // click, rage_click, navigation, custom
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
	t    int64
	x, y float64
	idx  int
}

// Summarize computes the chunk statistics and markers.
func Summarize(events []Event) Stats {
	var s Stats
	s.Events = len(events)
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	sorted := sort.SliceIsSorted(order, func(a, b int) bool { return events[order[a]].Timestamp < events[order[b]].Timestamp })
	if !sorted {
		sort.SliceStable(order, func(a, b int) bool { return events[order[a]].Timestamp < events[order[b]].Timestamp })
	}
	seen := map[string]bool{}
	var clicks []click
	var lastActive int64 = -1
	for _, i := range order {
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
		case TypeMeta:
			var m meta
			if json.Unmarshal(e.Data, &m) == nil && m.Href != "" {
				s.PageViews++
				if !seen[m.Href] {
					seen[m.Href] = true
					s.URLs = append(s.URLs, m.Href)
				}
				s.Markers = append(s.Markers, Marker{Index: i, Time: e.Timestamp, Kind: "navigation", Name: "page view", URL: m.Href})
			}
		case TypeCustom:
			var c custom
			if json.Unmarshal(e.Data, &c) == nil && c.Tag != "" {
				s.CustomTags = append(s.CustomTags, c.Tag)
				detail := string(c.Payload)
				if len(detail) > 2048 {
					detail = detail[:2048]
				}
				s.Markers = append(s.Markers, Marker{Index: i, Time: e.Timestamp, Kind: "custom", Name: c.Tag, Detail: detail})
			}
		case TypeIncremental:
			var d incremental
			if json.Unmarshal(e.Data, &d) != nil || d.Source == nil {
				continue
			}
			switch *d.Source {
			case SourceMouseMove, SourceMouseInteraction, SourceScroll, SourceInput, SourceTouchMove, SourceDrag, SourceSelection:
				if lastActive >= 0 {
					if gap := e.Timestamp - lastActive; gap > 0 && gap <= ActiveGapMs {
						s.ActiveMs += gap
					}
				}
				lastActive = e.Timestamp
			}
			switch {
			case *d.Source == SourceInput:
				s.Inputs++
			case *d.Source == SourceMouseInteraction && d.Type != nil && *d.Type == MouseClick:
				s.Clicks++
				c := click{t: e.Timestamp, idx: i}
				if d.X != nil && d.Y != nil {
					c.x, c.y = *d.X, *d.Y
				}
				s.Markers = append(s.Markers, Marker{Index: i, Time: e.Timestamp, Kind: "click", Name: "click", Detail: fmt.Sprintf(`{"id":%d,"x":%g,"y":%g}`, d.ID, c.x, c.y)})
				clicks = append(clicks, c)
			}
		}
	}
	s.RageClicks, s.Markers = rage(clicks, s.Markers)
	return s
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
			markers = append(markers, Marker{Index: clicks[i].idx, Time: clicks[i].t, Kind: "rage_click", Name: "rage click",
				Detail: fmt.Sprintf(`{"clicks":%d,"x":%g,"y":%g}`, j-i, clicks[i].x, clicks[i].y)})
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
