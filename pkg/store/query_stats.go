package store

import (
	"context"
	"fmt"
	"time"
)

// StatsPoint is one interval of the session statistics.
type StatsPoint struct {
	Time          time.Time // start of the interval
	Sessions      uint64    // sessions that started in the interval
	Retained      uint64    // of which a rule retained
	ErrorSessions uint64    // of which had at least one error
}

// SessionStats counts the sessions that started within the time range and
// pass the filter, per interval of length step (aligned on multiples of step
// since the epoch). Every interval of the range is returned, empty ones as
// zeros.
func (r *Reader) SessionStats(ctx context.Context, f SessionFilter, step time.Duration) ([]StatsPoint, error) {
	if step < time.Millisecond {
		return nil, invalidf("interval must be at least 1ms")
	}
	p := newParams()
	_, where, having, err := f.sql(r.db, p)
	if err != nil {
		return nil, err
	}
	stepMs := step.Milliseconds()
	first := f.From.UnixMilli() / stepMs * stepMs
	n := (f.To.UnixMilli()-first)/stepMs + 1
	if n > 1_000_000 {
		return nil, invalidf("%d intervals of %s: use a longer interval", n, step)
	}
	stmt := fmt.Sprintf(`SELECT intDiv(toUnixTimestamp64Milli(s_start), %[5]s) * %[5]s AS bucket, count(),
    countIf(session_id IN (SELECT session_id FROM %[1]s.%[6]s WHERE trigger_time >= %[7]s - INTERVAL %[8]d SECOND)), countIf(s_errors > 0)
FROM (
    SELECT session_id, min(start_time) AS s_start, sum(errors) AS s_errors
    FROM %[1]s.%[2]s FINAL
    WHERE %[3]s
    GROUP BY session_id
    HAVING %[4]s AND min(start_time) >= %[7]s
)
GROUP BY bucket
ORDER BY bucket
SETTINGS %[9]s`, r.db, TableSessions, where, having, p.i64(stepMs), TableDecisions, p.ms(f.From), int64((MaxSessionDuration+time.Hour)/time.Second), finalSettings)
	rows, err := r.conn.Query(withParams(ctx, p.p), stmt)
	if err != nil {
		return nil, fmt.Errorf("session stats: %w", err)
	}
	defer rows.Close()
	out := make([]StatsPoint, n)
	for i := range out {
		out[i].Time = time.UnixMilli(first + int64(i)*stepMs).UTC()
	}
	for rows.Next() {
		var bucket int64
		var pt StatsPoint
		if err := rows.Scan(&bucket, &pt.Sessions, &pt.Retained, &pt.ErrorSessions); err != nil {
			return nil, fmt.Errorf("session stats: %w", err)
		}
		i := (bucket - first) / stepMs
		if i < 0 || i >= n {
			continue
		}
		pt.Time = out[i].Time
		out[i] = pt
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session stats: %w", err)
	}
	return out, nil
}
