package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/seed/sessionreplay/pkg/assetref"
)

// assetKey is one asset row: an asset of a site, for the chunks of one day in
// one chunk table (the row's lifetime follows from the day and the table).
type assetKey struct {
	site     string
	hash     assetref.Hash
	day      int64 // days since the epoch, UTC
	retained bool
}

// assetsStored remembers which asset rows this process wrote, so a stylesheet
// that every chunk of a site carries is sent to ClickHouse once a day, not
// with every chunk. It only saves work: forgetting (a restart, another
// replica, the bound) means writing the row again, which ReplacingMergeTree
// collapses.
type assetsStored struct {
	mu   sync.Mutex
	max  int
	seen map[assetKey]struct{}
}

// assetsStoredMax bounds the memory of assetsStored (about 100 B a key).
const assetsStoredMax = 100_000

func newAssetsStored(max int) *assetsStored {
	return &assetsStored{max: max, seen: make(map[assetKey]struct{})}
}

func (s *assetsStored) has(k assetKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.seen[k]
	return ok
}

func (s *assetsStored) add(keys []assetKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen)+len(keys) > s.max {
		clear(s.seen) // start over rather than track recency: rows written again are harmless
	}
	for _, k := range keys {
		s.seen[k] = struct{}{}
	}
}

// refColumns are a chunk's references as the asset_hashes and asset_offsets
// columns.
func refColumns(refs []assetref.Ref) ([]string, []uint32) {
	hashes := make([]string, len(refs))
	offsets := make([]uint32, len(refs))
	for i, r := range refs {
		hashes[i] = string(r.Hash[:])
		offsets[i] = r.Offset
	}
	return hashes, offsets
}

func utcDay(t time.Time) int64 { return t.UTC().Unix() / 86400 }

// writeAssets inserts the asset rows the chunks need and this writer has not
// written yet, in one INSERT.
func (w *Writer) writeAssets(ctx context.Context, retained bool, chunks []Chunk) error {
	var keys []assetKey
	var values [][]byte
	inBatch := map[assetKey]bool{}
	for i := range chunks {
		c := &chunks[i]
		for _, a := range c.Assets {
			k := assetKey{site: c.ServiceName, hash: a.Hash, day: utcDay(c.Start), retained: retained}
			if inBatch[k] || w.stored.has(k) {
				continue
			}
			inBatch[k] = true
			keys = append(keys, k)
			values = append(values, a.Value)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	err := w.insert(ctx, TableAssets, "site, hash, value, chunk_day, retained", len(keys), func(b driver.Batch, i int) error {
		k := keys[i]
		return b.Append(k.site, string(k.hash[:]), values[i], time.Unix(k.day*86400, 0).UTC(), k.retained)
	})
	if err != nil {
		return err
	}
	w.stored.add(keys)
	return nil
}

// RetainAssets gives the assets of a session's retained chunks the lifetime
// of the retained table: one asset row per site, day and hash, copied from
// the row the buffered chunks use. Idempotent.
func (w *Writer) RetainAssets(ctx context.Context, sessionID string) error {
	q := fmt.Sprintf(`SELECT DISTINCT service_name, toDate(start_time) AS day, hex(arrayJoin(asset_hashes))
FROM %s.%s WHERE session_id = {sid:String} AND notEmpty(asset_hashes)`, w.db, TableRetained)
	rows, err := w.conn.Query(withParams(ctx, clickhouse.Parameters{"sid": EscapeParam(sessionID)}), q)
	if err != nil {
		return fmt.Errorf("retain assets: %w", err)
	}
	type siteDay struct {
		site string
		day  time.Time
	}
	need := map[siteDay][]string{}
	var order []siteDay
	for rows.Next() {
		var sd siteDay
		var h string
		if err := rows.Scan(&sd.site, &sd.day, &h); err != nil {
			rows.Close()
			return fmt.Errorf("retain assets: %w", err)
		}
		if _, ok := need[sd]; !ok {
			order = append(order, sd)
		}
		need[sd] = append(need[sd], h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("retain assets: %w", err)
	}
	for _, sd := range order {
		// The hashes travel as hex text parameters; the subquery of constants
		// keeps the primary key usable.
		ins := fmt.Sprintf(`INSERT INTO %[1]s.%[2]s (site, hash, value, chunk_day, retained)
SELECT site, hash, any(value), toDate({day:String}), true FROM %[1]s.%[2]s
WHERE site = {site:String} AND hash IN (SELECT toFixedString(unhex(arrayJoin({hashes:Array(String)})), 32))
GROUP BY site, hash`, w.db, TableAssets)
		p := clickhouse.Parameters{"site": EscapeParam(sd.site), "day": sd.day.UTC().Format("2006-01-02"), "hashes": arrayParam(need[sd])}
		if err := w.conn.Exec(withParams(ctx, p), ins); err != nil {
			return fmt.Errorf("retain assets: %w", err)
		}
	}
	return nil
}

// hexHashes are hashes as the hex text RetainAssets and the reader bind.
func hexHashes(hs []assetref.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}
