package formats

import (
	"fmt"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Our wire format (DESIGN.md): one record per chunk of rrweb events, sent by
// our recorder or by any OTel SDK (the plain OTel JS logs SDK included).
const (
	EventNameChunk = "session_replay.chunk"
	AttrWindowID   = "session_replay.window_id"
	AttrSeq        = "session_replay.seq"
	AttrStart      = "session_replay.start"
	AttrEnd        = "session_replay.end"
	AttrEncoding   = "session_replay.encoding"
)

// ours is the session_replay.chunk format: the record already is a chunk.
type ours struct {
	chunks []Chunk
}

func (o *ours) Claims(r Record) bool { return r.Name == EventNameChunk }

func (o *ours) Add(r Record) error {
	c, err := ParseChunk(r.Log, r.Resource)
	if err != nil {
		return fmt.Errorf("replay chunk: %w", err)
	}
	o.chunks = append(o.chunks, c)
	return nil
}

func (o *ours) Chunks() []Chunk { return o.chunks }

// ParseChunk reads a session_replay.chunk record. A gzip body is left
// compressed: it is inflated later, under max_chunk_bytes.
func ParseChunk(lr plog.LogRecord, res pcommon.Resource) (Chunk, error) {
	attrs := copyAttrs(lr.Attributes())
	c := Chunk{Resource: res, Attrs: attrs}
	c.SessionID = SessionID(attrs, res.Attributes())
	if c.SessionID == "" {
		return c, fmt.Errorf("%w: missing %s attribute", ErrNoSession, AttrSessionID)
	}
	if err := ValidID(AttrSessionID, c.SessionID); err != nil {
		return c, err
	}
	c.WindowID = Str(attrs, AttrWindowID)
	if err := ValidID(AttrWindowID, c.WindowID); err != nil {
		return c, err
	}
	seq, ok := Int(attrs, AttrSeq)
	if !ok || seq < 0 {
		return c, fmt.Errorf("%w: missing, non-integer or negative %s attribute", ErrBadCounter, AttrSeq)
	}
	c.Seq = uint64(seq)
	c.Start, _ = Int(attrs, AttrStart)
	c.End, _ = Int(attrs, AttrEnd)
	body := lr.Body()
	encoding := Str(attrs, AttrEncoding)
	switch body.Type() {
	case pcommon.ValueTypeBytes:
		c.Data = body.Bytes().AsRaw()
	case pcommon.ValueTypeStr:
		// No copy: the chunk path only reads the body (edits and card
		// scrubbing write to new buffers).
		c.Data = unsafe.Slice(unsafe.StringData(body.Str()), len(body.Str()))
		if encoding == "gzip" {
			return c, fmt.Errorf("%w: %s is gzip but the body is a string", ErrBadBody, AttrEncoding)
		}
	default:
		return c, fmt.Errorf("%w: body must be bytes (gzip JSON) or a string (JSON), got %s", ErrBadBody, body.Type())
	}
	if encoding != "" && encoding != "gzip" && encoding != "json" {
		return c, fmt.Errorf("%w: unknown %s %q (want gzip or json)", ErrBadBody, AttrEncoding, encoding)
	}
	return c, nil
}
