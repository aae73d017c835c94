package store

import (
	"context"
	"fmt"
	"time"

	"github.com/seed/sessionreplay/pkg/assetref"
)

// StreamStoredChunksIn is StreamChunksIn for a client that re-inlines assets
// itself (the replay panel, which fetches each asset once through the
// plugin's assets resource and keeps it in the browser's cache): a chunk
// with references for which keepRefs is true comes as stored, its Data
// holding the placeholders of its Refs; any other chunk comes re-inlined, as
// StreamChunksIn gives it (keepRefs refuses what the client cannot take,
// e.g. rows of an older placeholder form).
func (r *Reader) StreamStoredChunksIn(ctx context.Context, sessionID string, windows []string, since time.Time, keepRefs func(*Chunk) bool, fn func(*Chunk) error) error {
	return r.streamChunks(ctx, sessionID, windows, since, keepRefs, fn)
}

// Asset reads the value of one asset of a site; ok is false when the store
// has none (never stored, or expired with the last chunk referring to it).
func (r *Reader) Asset(ctx context.Context, site string, h assetref.Hash) (value []byte, ok bool, err error) {
	known := map[assetref.Hash][]byte{}
	if err := r.newInliner().fetch(ctx, site, []assetref.Hash{h}, known); err != nil {
		return nil, false, err
	}
	v, ok := known[h]
	return v, ok, nil
}

// refsOf pairs a chunk row's asset_hashes and asset_offsets columns.
func refsOf(hashes []string, offsets []uint32) ([]assetref.Ref, error) {
	if len(hashes) != len(offsets) {
		return nil, fmt.Errorf("%w: %d hashes, %d offsets", assetref.ErrBadRef, len(hashes), len(offsets))
	}
	refs := make([]assetref.Ref, len(hashes))
	for i, h := range hashes {
		if len(h) != len(assetref.Hash{}) {
			return nil, fmt.Errorf("%w: hash of %d bytes", assetref.ErrBadRef, len(h))
		}
		copy(refs[i].Hash[:], h)
		refs[i].Offset = offsets[i]
	}
	return refs, nil
}
