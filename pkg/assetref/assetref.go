// Package assetref is the format of a stored reference to a content-addressed
// replay asset (a large repeated value such as a stylesheet, taken out of a
// chunk at ingest and stored once per site), and the re-inlining that gives
// a reader the chunk's original bytes back.
//
// A chunk's data keeps valid JSON: each extracted string value is replaced
// by a placeholder string token, and the chunk row carries, next to its
// data, the byte offset and hash of every placeholder. Re-inlining works
// from those offsets only, never by searching the data for placeholders, so
// page data that happens to look like one is never touched: nothing a page
// records can be confused with a reference.
package assetref

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Hash is the SHA-256 of an asset's value: the raw bytes of the JSON string
// token (quotes and escapes included) after privacy masking. A full-length
// hash, because a page's content must not be able to collide with another
// session's stylesheet.
type Hash [sha256.Size]byte

// Of hashes a value.
func Of(value []byte) Hash { return sha256.Sum256(value) }

// String is the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Asset is one extracted value: the raw JSON string token it replaced.
type Asset struct {
	Hash  Hash
	Value []byte
}

// Ref is one placeholder in a chunk's data: where it starts, and which asset
// goes there.
type Ref struct {
	Offset uint32
	Hash   Hash
}

// placeholderPrefix starts every placeholder token. The NUL escape keeps the
// placeholder out of anything a person would read as text if a chunk were
// ever looked at without re-inlining; correctness does not depend on it.
const placeholderPrefix = `"\u0000sr-asset:`

// PlaceholderLen is the length of every placeholder token.
const PlaceholderLen = len(placeholderPrefix) + 2*sha256.Size + 1

// Placeholder is the JSON string token that stands for an asset in stored
// data.
func Placeholder(h Hash) []byte {
	out := make([]byte, 0, PlaceholderLen)
	out = append(out, placeholderPrefix...)
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
// order, as Extract makes them) replaced by its asset's value, which lookup
// gives. Without refs it returns data itself.
func Inline(data []byte, refs []Ref, lookup func(Hash) ([]byte, bool)) ([]byte, error) {
	if len(refs) == 0 {
		return data, nil
	}
	size := len(data)
	values := make([][]byte, len(refs))
	prev := -1
	for i, r := range refs {
		off := int(r.Offset)
		if off <= prev || off+PlaceholderLen > len(data) || !bytes.Equal(data[off:off+PlaceholderLen], Placeholder(r.Hash)) {
			return nil, fmt.Errorf("%w: placeholder %d at offset %d", ErrBadRef, i, off)
		}
		prev = off + PlaceholderLen - 1
		v, ok := lookup(r.Hash)
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrMissingAsset, r.Hash)
		}
		values[i] = v
		size += len(v) - PlaceholderLen
	}
	out := make([]byte, 0, size)
	last := 0
	for i, r := range refs {
		out = append(out, data[last:r.Offset]...)
		out = append(out, values[i]...)
		last = int(r.Offset) + PlaceholderLen
	}
	return append(out, data[last:]...), nil
}
