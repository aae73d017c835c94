package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ClickCandidate is a click its chunk did not answer: no DOM change, scroll,
// input or navigation of the tab followed within the dead-click bound, as
// far as the chunk shows. It is dead unless a request of the session started
// within the bound, or, when Open (the bound reaches past the chunk's last
// event), a later chunk of the tab answers it. Any replica's sweeper judges
// it from stored rows.
type ClickCandidate struct {
	SessionID string
	// ID is the dead-click marker's id, should the click be dead.
	ID       uint64
	WindowID string
	Seq      uint64 // the chunk the click is in
	Time     time.Time
	Open     bool
	// Name and Detail are the marker's (the click's target, as stored).
	Name, Detail string
	// ReceivedAt is when the click's chunk arrived.
	ReceivedAt time.Time
	// Resolved marks a judged candidate; it replaces the waiting row.
	Resolved bool
}

// WriteCandidates inserts dead-click candidates, or their resolved rows.
func (w *Writer) WriteCandidates(ctx context.Context, rows []ClickCandidate) error {
	return w.insert(ctx, TableClickCandidates, "session_id, event_id, window_id, seq, ts, open, name, detail, received_at, resolved",
		len(rows), func(b driver.Batch, i int) error {
			c := &rows[i]
			return b.Append(c.SessionID, c.ID, c.WindowID, c.Seq, c.Time, boolByte(c.Open), c.Name, c.Detail, c.ReceivedAt, boolByte(c.Resolved))
		})
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// ClickCandidates returns up to limit unresolved candidates whose chunk
// arrived in [since, settledBefore], oldest first.
func (r *Reader) ClickCandidates(ctx context.Context, since, settledBefore time.Time, limit int) ([]ClickCandidate, error) {
	p := newParams()
	stmt := fmt.Sprintf(`SELECT session_id, event_id, any(window_id), any(seq), any(ts), any(open), any(name), any(detail), min(received_at) AS received
FROM %s.%s
WHERE received_at >= %s AND received_at <= %s
GROUP BY session_id, event_id
HAVING max(resolved) = 0
ORDER BY received, session_id, event_id
LIMIT %s`, r.db, TableClickCandidates, p.ms(since), p.ms(settledBefore), p.u64(uint64(limit)))
	rows, err := r.conn.Query(withParams(ctx, p.p), stmt)
	if err != nil {
		return nil, fmt.Errorf("click candidates: %w", err)
	}
	defer rows.Close()
	var out []ClickCandidate
	for rows.Next() {
		var c ClickCandidate
		var open uint8
		if err := rows.Scan(&c.SessionID, &c.ID, &c.WindowID, &c.Seq, &c.Time, &open, &c.Name, &c.Detail, &c.ReceivedAt); err != nil {
			return nil, fmt.Errorf("click candidates: %w", err)
		}
		c.Open = open == 1
		c.Time, c.ReceivedAt = c.Time.UTC(), c.ReceivedAt.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// RequestTimes returns, per session, the start times of the stored request
// markers (client spans) of the given sessions within [from, to].
func (r *Reader) RequestTimes(ctx context.Context, ids []string, from, to time.Time) (map[string][]time.Time, error) {
	out := map[string][]time.Time{}
	if len(ids) == 0 {
		return out, nil
	}
	p := newParams()
	p.p["ids"] = arrayParam(ids)
	stmt := fmt.Sprintf(`SELECT DISTINCT session_id, ts FROM %s.%s
WHERE session_id IN {ids:Array(String)} AND kind = '%s' AND ts >= %s AND ts <= %s
ORDER BY session_id, ts`, r.db, TableEvents, KindRequest, p.ms(from), p.ms(to))
	rows, err := r.conn.Query(withParams(ctx, p.p), stmt)
	if err != nil {
		return nil, fmt.Errorf("request times: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var t time.Time
		if err := rows.Scan(&id, &t); err != nil {
			return nil, fmt.Errorf("request times: %w", err)
		}
		out[id] = append(out[id], t.UTC())
	}
	return out, rows.Err()
}
