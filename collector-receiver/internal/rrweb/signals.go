package rrweb

import (
	"encoding/json"
	"strings"

	"github.com/seed/sessionreplay/collector-receiver/internal/jsontape"
)

// Frustration and console signals read from the recording.
const (
	// DeadClickMs is how long a click may go unanswered before it is dead:
	// no DOM change, scroll, input, page load or SPA navigation of the tab
	// within this bound (requests are the caller's to check).
	DeadClickMs = 1000
	// maxPending bounds the clicks of a tab waiting for later chunks.
	maxPending = 32
	// MaxConsoleMessage bounds a console marker's message, in characters.
	MaxConsoleMessage = 2000
	// ConsolePlugin is the plugin name of rrweb's console record plugin.
	ConsolePlugin = "rrweb/console@1"
)

// Window is what a tab's summaries remember between its chunks: the nodes
// that name click targets, and the clicks whose dead-click bound reaches
// past the chunks seen so far. It is not safe for concurrent use.
type Window struct {
	nodes   nodeIndex
	pending []Marker
}

// Nodes is the number of nodes indexed (for tests and metrics).
func (w *Window) Nodes() int { return w.nodes.len() }

// Pending returns (and forgets) the clicks still waiting for a later chunk:
// when the tab sends none, nothing answered them in the recording.
func (w *Window) Pending() []Marker {
	p := w.pending
	w.pending = nil
	return p
}

// reaction is a change a click may have caused, at a position in the
// chunk's time order.
type reaction struct {
	t   int64
	pos int
}

// deadClicks judges the tab's pending clicks and the chunk's clicks: a click
// with a reaction within DeadClickMs is alive; one whose bound has passed in
// the recording without one is dead; the others wait for the next chunk.
func (w *Window) deadClicks(c *Chunk, order []int, clicks []click, seq uint64) []Marker {
	if len(clicks) == 0 && len(w.pending) == 0 {
		return nil
	}
	var reactions []reaction
	var last int64
	for pos, i := range order {
		e := &c.Events[i]
		last = max(last, e.Timestamp)
		if isReaction(c, e) {
			reactions = append(reactions, reaction{e.Timestamp, pos})
		}
	}
	answered := func(t int64, pos int) bool {
		for _, r := range reactions {
			if r.pos > pos && r.t >= t && r.t <= t+DeadClickMs {
				return true
			}
		}
		return false
	}
	var dead []Marker
	judge := func(m Marker, pos int, keep *[]Marker) {
		switch {
		case answered(m.Time, pos):
		case last > m.Time+DeadClickMs:
			dead = append(dead, m)
		case len(*keep) < maxPending:
			*keep = append(*keep, m)
		}
	}
	var keep []Marker
	for _, m := range w.pending {
		judge(m, -1, &keep) // any reaction of this chunk comes after it
	}
	for _, cl := range clicks {
		if cl.target.field() {
			continue
		}
		name := "dead click"
		if cl.target.Tag != "" {
			name = cl.target.Label()
		}
		m := Marker{Seq: seq, Index: cl.idx, Time: cl.t, Kind: "dead_click", Name: name, Detail: clickDetail(cl.id, cl.x, cl.y, cl.target, "")}
		judge(m, cl.pos, &keep)
	}
	w.pending = keep
	return dead
}

// isReaction reports whether an event shows the page answering a click.
func isReaction(c *Chunk, e *Event) bool {
	tp := &c.Tape
	switch e.Type {
	case TypeFullSnapshot, TypeMeta, TypeLoad, TypeDomContentLoaded:
		return true
	case TypeCustom:
		tag, _ := tp.Str(tp.Member(e.Data, "tag"))
		return tag == "navigation"
	case TypeIncremental:
		src, _ := tp.Int(tp.Member(e.Data, "source"))
		switch src {
		case SourceMutation, SourceScroll, SourceInput, sourceMediaInteraction:
			return true
		}
	}
	return false
}

const sourceMediaInteraction = 7

// consoleDetail is a console marker's detail.
type consoleDetail struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

func consoleMarker(i int, t int64, level, message string) Marker {
	level = truncate(strings.ToLower(strings.TrimSpace(level)), 16)
	if level == "" {
		level = "log"
	}
	message = truncate(message, MaxConsoleMessage)
	d, _ := json.Marshal(consoleDetail{Level: level, Message: message})
	return Marker{Index: i, Time: t, Kind: "console", Name: level, Detail: string(d)}
}

// pluginConsole reads an event of rrweb's console record plugin:
// {"plugin":"rrweb/console@1","payload":{"level":..,"payload":[..],"trace":[..]}}
// whose payload items are the arguments, each serialised (strings as JSON
// string literals).
func pluginConsole(c *Chunk, e *Event, i int) (Marker, bool) {
	tp := &c.Tape
	if name, _ := tp.Str(tp.Member(e.Data, "plugin")); name != ConsolePlugin {
		return Marker{}, false
	}
	p := tp.Member(e.Data, "payload")
	level, _ := c.Str(tp.Member(p, "level"))
	var parts []string
	if args := tp.Member(p, "payload"); tp.Kind(args) == jsontape.Array {
		for a := args + 1; a < tp.Next(args); a = tp.Next(a) {
			s, ok := c.Str(a)
			if !ok {
				s = string(tp.Raw(a))
			} else if strings.HasPrefix(s, `"`) {
				var lit string
				if json.Unmarshal([]byte(s), &lit) == nil {
					s = lit
				}
			}
			parts = append(parts, s)
			if len(parts) > 20 {
				break
			}
		}
	}
	return consoleMarker(i, e.Timestamp, level, strings.Join(parts, " ")), true
}

// customConsole reads the custom event `console` ({"level","message"}) of
// recorders before the console plugin.
func customConsole(c *Chunk, e *Event, i int, tag string) (Marker, bool) {
	if tag != "console" {
		return Marker{}, false
	}
	tp := &c.Tape
	p := tp.Member(e.Data, "payload")
	level, ok := c.Str(tp.Member(p, "level"))
	if !ok {
		return Marker{}, false
	}
	message, _ := c.Str(tp.Member(p, "message"))
	return consoleMarker(i, e.Timestamp, level, message), true
}

// Answers reports whether a chunk (stored JSON) holds a change that answers
// a click: a DOM change, scroll, input, page load or SPA navigation at a
// time in [from, to] (unix ms). The sweeper reads a tab's later chunks with
// it for the clicks whose bound reached past their own chunk.
func Answers(data []byte, from, to int64) (bool, error) {
	c, err := Parse(data)
	if err != nil {
		return false, err
	}
	defer c.Release()
	for i := range c.Events {
		e := &c.Events[i]
		if e.Timestamp >= from && e.Timestamp <= to && isReaction(c, e) {
			return true, nil
		}
	}
	return false, nil
}
