package store

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/seed/sessionreplay/pkg/assetref"
)

// inliner puts the assets back into the chunks of one replay stream. It
// keeps the assets it fetched for the length of the stream: the chunks of a
// session share their stylesheets, so most are fetched once.
//
// The backend re-inlines rather than the panel fetching each asset through
// a cacheable resource of its own: measured in Chromium at minute 25 of a
// 30-minute session, the panel path is slower with a cold cache on loopback
// and over a WAN (one more round trip once the chunk has arrived) and wins
// only warm over a WAN (docs/replay-assets.md, with the commit that holds
// both paths and the benchmark).
type inliner struct {
	r      *Reader
	values map[string]map[assetref.Hash][]byte // by site
}

func (r *Reader) newInliner() *inliner {
	return &inliner{r: r, values: map[string]map[assetref.Hash][]byte{}}
}

// inline returns data with its references (the chunk's asset_hashes and
// asset_offsets columns) replaced by their assets.
func (in *inliner) inline(ctx context.Context, site string, data []byte, hashes []string, offsets []uint32) ([]byte, error) {
	if len(hashes) != len(offsets) {
		return nil, fmt.Errorf("%w: %d hashes, %d offsets", assetref.ErrBadRef, len(hashes), len(offsets))
	}
	known := in.values[site]
	if known == nil {
		known = map[assetref.Hash][]byte{}
		in.values[site] = known
	}
	refs := make([]assetref.Ref, len(hashes))
	var missing []assetref.Hash
	for i, h := range hashes {
		if len(h) != len(assetref.Hash{}) {
			return nil, fmt.Errorf("%w: hash of %d bytes", assetref.ErrBadRef, len(h))
		}
		copy(refs[i].Hash[:], h)
		refs[i].Offset = offsets[i]
		if _, ok := known[refs[i].Hash]; !ok {
			known[refs[i].Hash] = nil // once in missing
			missing = append(missing, refs[i].Hash)
		}
	}
	if len(missing) > 0 {
		if err := in.fetch(ctx, site, missing, known); err != nil {
			return nil, err
		}
	}
	return assetref.Inline(data, refs, func(h assetref.Hash) ([]byte, bool) {
		v := known[h]
		return v, v != nil
	})
}

// fetch reads assets of a site into known.
func (in *inliner) fetch(ctx context.Context, site string, hashes []assetref.Hash, known map[assetref.Hash][]byte) error {
	q := fmt.Sprintf(`SELECT hash, any(value) FROM %s.%s
WHERE site = {site:String} AND hash IN (SELECT toFixedString(unhex(arrayJoin({hashes:Array(String)})), 32))
GROUP BY hash`, in.r.db, TableAssets)
	p := clickhouse.Parameters{"site": EscapeParam(site), "hashes": arrayParam(hexHashes(hashes))}
	rows, err := in.r.conn.Query(withParams(ctx, p), q)
	if err != nil {
		return fmt.Errorf("read assets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h, v string
		if err := rows.Scan(&h, &v); err != nil {
			return fmt.Errorf("read assets: %w", err)
		}
		var key assetref.Hash
		copy(key[:], h)
		known[key] = []byte(v)
	}
	return rows.Err()
}
