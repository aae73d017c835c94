package store

import (
	"context"
	"fmt"
	"time"
)

// TagKeys are the ad hoc filter keys: the fixed ones, then "attributes.<name>"
// for every attribute of the sessions recorded within the time range.
func (r *Reader) TagKeys(ctx context.Context, tr TimeRange, limit int) ([]string, error) {
	if err := tr.validate(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, invalidf("limit must be positive")
	}
	p := newParams()
	stmt := fmt.Sprintf(`SELECT DISTINCT arrayJoin(mapKeys(attributes)) AS k
FROM %s.%s
WHERE %s
ORDER BY k
LIMIT %s`, r.db, TableSessions, rowsOverlapping(tr, p), p.u64(uint64(limit)))
	rows, err := r.conn.Query(withParams(ctx, p.p), stmt)
	if err != nil {
		return nil, fmt.Errorf("tag keys: %w", err)
	}
	defer rows.Close()
	keys := FilterKeys()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("tag keys: %w", err)
		}
		if k != "" {
			keys = append(keys, AttributePrefix+k)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tag keys: %w", err)
	}
	return keys, nil
}

// TagValues are the values of a filter key within the time range, most
// frequent first. Numeric keys have no suggestions (an empty list).
func (r *Reader) TagValues(ctx context.Context, key string, tr TimeRange, limit int) ([]string, error) {
	if err := tr.validate(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, invalidf("limit must be positive")
	}
	p := newParams()
	k, err := lookupKey(key, p)
	if err != nil {
		return nil, err
	}
	if k.row == "" {
		return []string{}, nil
	}
	stmt := fmt.Sprintf(`SELECT v, count() AS c
FROM (SELECT %s AS v FROM %s.%s WHERE %s)
WHERE v != ''
GROUP BY v
ORDER BY c DESC, v
LIMIT %s`, k.row, r.db, TableSessions, rowsOverlapping(tr, p), p.u64(uint64(limit)))
	rows, err := r.conn.Query(withParams(ctx, p.p), stmt)
	if err != nil {
		return nil, fmt.Errorf("tag values: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		var c uint64
		if err := rows.Scan(&v, &c); err != nil {
			return nil, fmt.Errorf("tag values: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tag values: %w", err)
	}
	return out, nil
}

// rowsOverlapping selects the summary rows overlapping the time range.
func rowsOverlapping(tr TimeRange, p *params) string {
	from, to := p.ms(tr.From), p.ms(tr.To)
	return fmt.Sprintf("start_time >= %[1]s - INTERVAL %[3]d SECOND AND start_time <= %[2]s AND end_time >= %[1]s",
		from, to, int64(MaxSessionDuration/time.Second))
}
