package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// WindowExtent is when one window (one document's recording) of a session
// has chunks, and the first page it navigated to.
type WindowExtent struct {
	WindowID string
	Start    time.Time // least chunk start
	End      time.Time // greatest chunk end
	Chunks   uint64    // chunk rows (a retained copy counts again)
	URL      string    // first navigation marker of the window, "" if none
}

// Windows returns the extents of a session's windows, earliest first (then
// by id). It reads only the chunk metadata columns of both chunk tables
// (never data), so it is cheap next to the replay it plans: duplicates of a
// chunk (retained copy, retried write) have the same times, so min/max need
// no deduplication.
func (r *Reader) Windows(ctx context.Context, sessionID string) ([]WindowExtent, error) {
	q := fmt.Sprintf(`SELECT c.window_id, c.first_start, c.last_end, c.n, u.first_url FROM (
    SELECT window_id, min(start_time) AS first_start, max(end_time) AS last_end, count() AS n FROM (
        SELECT window_id, start_time, end_time FROM %[1]s.replay_chunks WHERE session_id = {sid:String}
        UNION ALL
        SELECT window_id, start_time, end_time FROM %[1]s.replay_chunks_buffer WHERE session_id = {sid:String}
    ) GROUP BY window_id
) AS c
LEFT JOIN (
    SELECT window_id, argMin(url, ts) AS first_url FROM %[1]s.session_events
    WHERE session_id = {sid:String} AND kind = {nav:String} AND url != ''
    GROUP BY window_id
) AS u ON u.window_id = c.window_id
ORDER BY c.first_start, c.window_id
SETTINGS join_use_nulls = 0`, r.db)
	ctx = withParams(ctx, clickhouse.Parameters{"sid": EscapeParam(sessionID), "nav": KindNavigation})
	rows, err := r.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read windows: %w", err)
	}
	defer rows.Close()
	var out []WindowExtent
	for rows.Next() {
		var w WindowExtent
		if err := rows.Scan(&w.WindowID, &w.Start, &w.End, &w.Chunks, &w.URL); err != nil {
			return nil, fmt.Errorf("read windows: %w", err)
		}
		w.Start, w.End = w.Start.UTC(), w.End.UTC()
		out = append(out, w)
	}
	return out, rows.Err()
}
