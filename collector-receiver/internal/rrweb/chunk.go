package rrweb

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/seed/sessionreplay/collector-receiver/internal/jsontape"
)

// Event is one rrweb event of a chunk: its type and time, and where its
// object and data sit on the chunk's tape.
type Event struct {
	Type      int
	Timestamp int64
	Obj       int // token of the event object
	Data      int // token of its data member, -1 if none
}

// Chunk is a parsed JSON array of rrweb events. Readers look values up on
// the tape; rewriters (privacy) record edits, which Encode splices into a
// copy of the original bytes. The original is never modified, so it may be
// memory the chunk does not own (a pdata string).
type Chunk struct {
	Tape   jsontape.Tape
	Events []Event
	edits  []edit
	sorted []edit // edits by start, for Str
}

type edit struct {
	start, end int32 // byte range replaced
	with       []byte
}

var chunkPool = sync.Pool{New: func() any { return new(Chunk) }}

// Parse validates data as a JSON array of rrweb events: each an object with
// an integer type. Release the chunk when done with it.
func Parse(data []byte) (*Chunk, error) {
	c := chunkPool.Get().(*Chunk)
	c.Events, c.edits, c.sorted = c.Events[:0], c.edits[:0], c.sorted[:0]
	if err := c.Tape.Parse(data); err != nil {
		c.Release()
		return nil, fmt.Errorf("%w: %v", ErrNotArray, err)
	}
	tp := &c.Tape
	if tp.Kind(0) != jsontape.Array {
		c.Release()
		return nil, ErrNotArray
	}
	for e := 1; e < tp.Next(0); e = tp.Next(e) {
		ev, err := event(tp, e)
		if err != nil {
			err = fmt.Errorf("rrweb event %d: %v", len(c.Events), err)
			c.Release()
			return nil, err
		}
		c.Events = append(c.Events, ev)
	}
	return c, nil
}

// Release returns the chunk's buffers for reuse; c must not be used after.
func (c *Chunk) Release() {
	// keep big tapes from pinning memory forever
	if cap(c.Tape.Tokens) > 1<<20 {
		c.Tape.Tokens = nil
	}
	c.Tape.Data = nil
	chunkPool.Put(c)
}

func event(tp *jsontape.Tape, obj int) (Event, error) {
	if tp.Kind(obj) != jsontape.Object {
		return Event{}, errors.New("not an object")
	}
	ev := Event{Obj: obj, Data: tp.Member(obj, "data")}
	t, ok := tp.Int(tp.Member(obj, "type"))
	if !ok || t < -1<<31 || t > 1<<31-1 {
		return ev, errors.New("missing integer type")
	}
	ev.Type = int(t)
	if f, ok := tp.Float(tp.Member(obj, "timestamp")); ok && f > -9e18 && f < 9e18 {
		ev.Timestamp = int64(f)
	}
	return ev, nil
}

// ParseEvent validates one event (the rr-web.* log format carries one per
// record) and returns its type and timestamp.
func ParseEvent(raw []byte) (Event, error) {
	var tp jsontape.Tape
	if err := tp.Parse(raw); err != nil {
		return Event{}, fmt.Errorf("rrweb event: %v", err)
	}
	return event(&tp, 0)
}

// Join makes one chunk body out of single events (each valid JSON).
func Join(events [][]byte) []byte {
	size := 2
	for _, e := range events {
		size += len(e) + 1
	}
	out := make([]byte, 0, size)
	out = append(out, '[')
	for i, e := range events {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, e...)
	}
	return append(out, ']')
}

// Edit records that bytes [start, end) of the data become with. An edit
// that lies inside a larger one (a card number inside a value that is
// masked whole), or repeats the range of an earlier one, is dropped by
// Encode.
func (c *Chunk) Edit(start, end int, with []byte) {
	c.edits = append(c.edits, edit{start: int32(start), end: int32(end), with: with})
}

// Replace records that token tok's value becomes with (valid JSON).
func (c *Chunk) Replace(tok int, with []byte) {
	t := &c.Tape.Tokens[tok]
	c.edits = append(c.edits, edit{start: t.Start, end: t.End, with: with})
}

// RemoveMembers records the removal of the members of object obj whose key
// token drop selects, with their separating commas, so the object stays
// valid JSON. Values of removed members must not be edited.
func (c *Chunk) RemoveMembers(obj int, drop func(key int) bool) {
	tp := &c.Tape
	if tp.Kind(obj) != jsontape.Object {
		return
	}
	toks := tp.Tokens
	var keys []int
	var removed []bool
	lastKept := -1
	for k := obj + 1; k < tp.Next(obj); k = tp.Next(k + 1) {
		d := drop(k)
		if !d {
			lastKept = len(keys)
		}
		keys = append(keys, k)
		removed = append(removed, d)
	}
	for i, k := range keys {
		if !removed[i] {
			continue
		}
		val := k + 1
		switch {
		case i < lastKept || (lastKept < 0 && i < len(keys)-1):
			// a member follows: remove up to its key (comma included)
			c.edits = append(c.edits, edit{start: toks[k].Start, end: toks[keys[i+1]].Start})
		case lastKept < 0:
			// the last of an object that loses every member
			c.edits = append(c.edits, edit{start: toks[k].Start, end: toks[val].End})
		default:
			// after the last kept member: remove from the previous value's end
			prevVal := keys[i-1] + 1
			c.edits = append(c.edits, edit{start: toks[prevVal].End, end: toks[val].End})
		}
	}
}

// Edited reports whether any edit was recorded.
func (c *Chunk) Edited() bool { return len(c.edits) > 0 }

// byStart orders edits by start, the larger of two at one offset first.
func byStart(a, b edit) int {
	if a.start != b.start {
		return int(a.start) - int(b.start)
	}
	return int(b.end) - int(a.end)
}

// ErrOverlap means two edits touch the same bytes (a bug in a rewriter).
var ErrOverlap = errors.New("rrweb: overlapping edits")

// Encode returns the chunk's bytes with the edits applied: the original data
// itself when there are none, else a new buffer.
func (c *Chunk) Encode() ([]byte, error) {
	data := c.Tape.Data
	if len(c.edits) == 0 {
		return data, nil
	}
	// by start, the larger of two edits at one offset first, and of two
	// edits of the same bytes the one recorded first (masking runs before
	// card scrubbing, and its edit must win)
	slices.SortStableFunc(c.edits, byStart)
	kept := c.edits[:0]
	for _, e := range c.edits {
		if n := len(kept); n > 0 && e.start < kept[n-1].end {
			if e.end <= kept[n-1].end {
				continue // inside the previous edit
			}
			return nil, ErrOverlap
		}
		kept = append(kept, e)
	}
	c.edits = kept
	size := len(data)
	for _, e := range c.edits {
		size += len(e.with) - int(e.end-e.start)
	}
	out := make([]byte, 0, size)
	pos := int32(0)
	for _, e := range c.edits {
		out = append(out, data[pos:e.start]...)
		out = append(out, e.with...)
		pos = e.end
	}
	return append(out, data[pos:]...), nil
}

// Str is string token tok's value as Encode will store it: with the edits
// recorded inside it (masking, card numbers) applied. Summaries read text
// through it so that a marker never shows what masking removed. ok is false
// when tok is not a string, or an edit made it something else.
func (c *Chunk) Str(tok int) (string, bool) {
	tp := &c.Tape
	if tp.Kind(tok) != jsontape.String {
		return "", false
	}
	t := tp.Tokens[tok]
	if len(c.edits) == 0 {
		return tp.Str(tok)
	}
	if len(c.sorted) != len(c.edits) {
		// the order of Encode, kept while no edit is added
		c.sorted = append(c.sorted[:0], c.edits...)
		slices.SortStableFunc(c.sorted, byStart)
	}
	i, _ := slices.BinarySearchFunc(c.sorted, t.Start, func(e edit, start int32) int { return int(e.start) - int(start) })
	var inside []edit
	for ; i < len(c.sorted) && c.sorted[i].start < t.End; i++ {
		if e := c.sorted[i]; e.end <= t.End {
			inside = append(inside, e)
		}
	}
	if len(inside) == 0 {
		return tp.Str(tok)
	}
	var out []byte
	pos, last := t.Start, int32(-1)
	for _, e := range inside {
		if e.start < last {
			continue // inside the previous edit
		}
		out = append(out, tp.Data[pos:e.start]...)
		out = append(out, e.with...)
		pos, last = e.end, e.end
	}
	out = append(out, tp.Data[pos:t.End]...)
	var v jsontape.Tape
	if err := v.Parse(out); err != nil {
		return "", false
	}
	return v.Str(0)
}
