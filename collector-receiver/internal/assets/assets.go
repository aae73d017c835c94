// Package assets takes the large values of a replay chunk out of it at
// ingest (stylesheet text, data URIs, any string value over a size bound),
// so that what every page load and every session of a site repeats is
// stored once, in the asset table, keyed by a hash of its content. It runs
// on the stored bytes, after privacy masking, so an asset is masked content
// and its hash is the hash of what is stored.
//
// The chunk keeps valid JSON: each value is cut out of its quotes, leaving
// the empty string, and the references (offset, hash) travel beside the
// data, so re-inlining (pkg/assetref) never has to guess which strings are
// placeholders, and data plus assets are the chunk's bytes exactly.
package assets

import (
	"sync"

	"github.com/seed/sessionreplay/collector-receiver/internal/jsontape"
	"github.com/seed/sessionreplay/pkg/assetref"
	"github.com/seed/sessionreplay/pkg/store"
)

// DefaultMinBytes is the smallest string value (raw JSON token, quotes
// included) that becomes an asset. Below it the placeholder and reference
// (about 120 bytes before compression) cost more than ZSTD saves on a value
// repeated inside the chunk; chosen by measurement (see the package's
// storage benchmark).
const DefaultMinBytes = 1024

// Extractor cuts large string values out of their quotes.
type Extractor struct {
	// MinBytes is the size bound of a value (DefaultMinBytes when 0).
	MinBytes int
}

var tapes = sync.Pool{New: func() any { return new(jsontape.Tape) }}

// Extracted is a chunk's data with its large values taken out.
type Extracted struct {
	Data   []byte
	Refs   []assetref.Ref
	Assets []assetref.Asset
}

// Extract returns data with every string value of at least MinBytes replaced
// by a placeholder, the references to them, and the distinct assets. data
// must be one valid JSON value (the receiver's stored chunk); it is only
// read. Without such values Data is data itself. Object keys are never
// extracted: readers look keys up by their bytes.
func (x Extractor) Extract(data []byte) (Extracted, error) {
	min := x.MinBytes
	if min <= 0 {
		min = DefaultMinBytes
	}
	if len(data) < min {
		return Extracted{Data: data}, nil
	}
	tp := tapes.Get().(*jsontape.Tape)
	defer func() {
		tp.Data = nil
		if cap(tp.Tokens) > 1<<20 {
			tp.Tokens = nil // keep big tapes from pinning memory
		}
		tapes.Put(tp)
	}()
	if err := tp.Parse(data); err != nil {
		return Extracted{}, err
	}
	var big []int32 // tokens to extract, in document order
	collect(tp, 0, int32(min), &big)
	if len(big) == 0 {
		return Extracted{Data: data}, nil
	}
	out := Extracted{Refs: make([]assetref.Ref, 0, len(big))}
	size := len(data)
	for _, t := range big {
		tok := &tp.Tokens[t]
		size -= int(tok.End-tok.Start) - len(assetref.Placeholder)
	}
	buf := make([]byte, 0, size)
	seen := make(map[assetref.Hash]bool, len(big))
	last := int32(0)
	for _, t := range big {
		tok := &tp.Tokens[t]
		value := data[tok.Start+1 : tok.End-1] // between the quotes
		h := assetref.Of(value)
		buf = append(buf, data[last:tok.Start]...)
		out.Refs = append(out.Refs, assetref.Ref{Offset: uint32(len(buf)), Hash: h})
		buf = append(buf, assetref.Placeholder...)
		last = tok.End
		if !seen[h] {
			seen[h] = true
			// a copy: data may be memory the chunk does not own
			out.Assets = append(out.Assets, assetref.Asset{Hash: h, Value: append([]byte(nil), value...)})
		}
	}
	out.Data = append(buf, data[last:]...)
	return out, nil
}

// collect appends the string values of at least min bytes under token i.
// Depth is bounded by the tape (jsontape.MaxDepth).
func collect(tp *jsontape.Tape, i int, min int32, big *[]int32) {
	toks := tp.Tokens
	switch toks[i].Kind {
	case jsontape.String:
		if toks[i].End-toks[i].Start >= min {
			*big = append(*big, int32(i))
		}
	case jsontape.Object:
		for k := i + 1; k < int(toks[i].Next); k = int(toks[k+1].Next) {
			if v := k + 1; toks[v].End-toks[v].Start >= min {
				collect(tp, v, min, big)
			}
		}
	case jsontape.Array:
		for e := i + 1; e < int(toks[i].Next); e = int(toks[e].Next) {
			if toks[e].End-toks[e].Start >= min {
				collect(tp, e, min, big)
			}
		}
	}
}

// Apply takes the large values out of a chunk about to be stored: its Data
// then holds placeholders, Refs where they are, Assets what they stand for.
func (x Extractor) Apply(c *store.Chunk) error {
	ex, err := x.Extract(c.Data)
	if err != nil {
		return err
	}
	c.Data, c.Refs, c.Assets = ex.Data, ex.Refs, ex.Assets
	return nil
}
