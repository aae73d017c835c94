// Package assetref is the format of a stored reference to a content-addressed
// replay asset (a large repeated value such as a stylesheet, taken out of a
// chunk at ingest and stored once per site), and the re-inlining that gives
// a reader the chunk's original bytes back.
//
// A chunk's data keeps valid JSON: each extracted string value is cut out of
// its quotes, leaving the empty string token `""`, and the chunk row
// carries, next to its data, the byte offset of every such token and the
// hash of what was cut out. Data and assets together are exactly the bytes
// of the original chunk, so a reader reads no byte more than it would have
// without assets. Re-inlining works from the offsets only, never by
// searching the data, so page data (empty strings included) is never
// touched: nothing a page records can be confused with a reference.
package assetref

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Hash is the SHA-256 of an asset's value: the raw bytes between the quotes
// of the JSON string token (escapes as stored) after privacy masking. A
// full-length hash, because a page's content must not be able to collide
// with another session's stylesheet.
type Hash [sha256.Size]byte

// Of hashes a value.
func Of(value []byte) Hash { return sha256.Sum256(value) }

// String is the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Asset is one extracted value: the raw bytes between the quotes of the JSON
// string token it was cut out of.
type Asset struct {
	Hash  Hash
	Value []byte
}

// Ref is one placeholder in a chunk's data: where its token starts, and
// which asset goes there.
type Ref struct {
	Offset uint32
	Hash   Hash
}

// Placeholder is the token an asset leaves in stored data: the empty string,
// whose quotes were the value's own.
const Placeholder = `""`

// legacyPrefix starts the placeholders of rows written before the empty
// token (schema v3 as first released): a token of its own naming the hash,
// whose asset value includes the quotes. Readers still re-inline them.
const legacyPrefix = `"\u0000sr-asset:`

// legacyLen is the length of every legacy placeholder token.
const legacyLen = len(legacyPrefix) + 2*sha256.Size + 1

// legacyPlaceholder is the legacy token that stood for an asset.
func legacyPlaceholder(h Hash) []byte {
	out := make([]byte, 0, legacyLen)
	out = append(out, legacyPrefix...)
	out = hex.AppendEncode(out, h[:])
	return append(out, '"')
}

// Errors of Inline.
var (
	// ErrBadRef is a reference that does not point at its placeholder: the
	// data and its references were not stored together.
	ErrBadRef = errors.New("assetref: reference does not match the data")
	// ErrMissingAsset is a reference to an asset the store no longer has.
	ErrMissingAsset = errors.New("assetref: referenced asset not found")
)

// Inline returns data with every placeholder of refs (in increasing offset
// order, as the extractor makes them) filled with its asset's value, which
// lookup gives. Without refs it returns data itself.
func Inline(data []byte, refs []Ref, lookup func(Hash) ([]byte, bool)) ([]byte, error) {
	if len(refs) == 0 {
		return data, nil
	}
	type fill struct {
		value []byte
		cut   int // bytes of data the value replaces, after the offset
	}
	fills := make([]fill, len(refs))
	size := len(data)
	next := 0 // first offset the next ref may have
	for i, r := range refs {
		off := int(r.Offset)
		var f fill
		switch {
		case off < next || off+len(Placeholder) > len(data):
			return nil, fmt.Errorf("%w: placeholder %d at offset %d", ErrBadRef, i, off)
		case string(data[off:off+len(Placeholder)]) == Placeholder:
			// the value goes between the quotes: nothing is cut
		case off+legacyLen <= len(data) && bytes.Equal(data[off:off+legacyLen], legacyPlaceholder(r.Hash)):
			f.cut = legacyLen
		default:
			return nil, fmt.Errorf("%w: placeholder %d at offset %d", ErrBadRef, i, off)
		}
		v, ok := lookup(r.Hash)
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrMissingAsset, r.Hash)
		}
		f.value = v
		fills[i] = f
		size += len(v) - f.cut
		next = int(r.Offset) + max(f.cut, len(Placeholder))
	}
	out := make([]byte, 0, size)
	last := 0
	for i, r := range refs {
		at := int(r.Offset)
		if fills[i].cut == 0 {
			at++ // inside the empty string's quotes
		}
		out = append(out, data[last:at]...)
		out = append(out, fills[i].value...)
		last = at + fills[i].cut
	}
	return append(out, data[last:]...), nil
}
