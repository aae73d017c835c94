package store

import (
	"context"
	"fmt"
	"time"
)

// TraceSession places a trace in a session's replay.
type TraceSession struct {
	TraceID      string
	SessionID    string
	SessionStart time.Time
	SessionEnd   time.Time
	// SpanTime is the time of the trace's first error span in the session, or
	// of its earliest span when none failed.
	SpanTime time.Time
	OffsetMs int64 // SpanTime - SessionStart
}

// TraceSessions returns the recorded sessions a trace belongs to (usually
// one), for spans within the time range, earliest span first.
func (r *Reader) TraceSessions(ctx context.Context, traceID string, tr TimeRange, limit int) ([]TraceSession, error) {
	if err := tr.validate(); err != nil {
		return nil, err
	}
	if traceID == "" {
		return nil, invalidf("traceId is required")
	}
	if limit <= 0 {
		return nil, invalidf("limit must be positive")
	}
	p := newParams()
	tid := p.str(traceID)
	// argMin over (not error, time): an error span wins, then the earliest.
	stmt := fmt.Sprintf(`SELECT l.session_id, l.span_time, s.s_start, s.s_end
FROM (
    SELECT session_id, argMin(ts, (NOT is_error, ts)) AS span_time
    FROM %[1]s.%[2]s
    WHERE trace_id = %[4]s AND ts >= %[5]s AND ts <= %[6]s
    GROUP BY session_id
) AS l
INNER JOIN (
    SELECT session_id, min(start_time) AS s_start, max(end_time) AS s_end
    FROM %[1]s.%[3]s
    WHERE session_id GLOBAL IN (SELECT session_id FROM %[1]s.%[2]s WHERE trace_id = %[4]s)
    GROUP BY session_id
) AS s ON s.session_id = l.session_id
ORDER BY l.span_time, l.session_id
LIMIT %[7]s`, r.db, TableTraces, TableSessions, tid, p.ms(tr.From), p.ms(tr.To), p.u64(uint64(limit)))
	rows, err := r.conn.Query(withParams(ctx, p.p), stmt)
	if err != nil {
		return nil, fmt.Errorf("trace sessions: %w", err)
	}
	defer rows.Close()
	out := []TraceSession{}
	for rows.Next() {
		ts := TraceSession{TraceID: traceID}
		if err := rows.Scan(&ts.SessionID, &ts.SpanTime, &ts.SessionStart, &ts.SessionEnd); err != nil {
			return nil, fmt.Errorf("trace sessions: %w", err)
		}
		ts.SpanTime, ts.SessionStart, ts.SessionEnd = ts.SpanTime.UTC(), ts.SessionStart.UTC(), ts.SessionEnd.UTC()
		ts.OffsetMs = ts.SpanTime.Sub(ts.SessionStart).Milliseconds()
		out = append(out, ts)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trace sessions: %w", err)
	}
	return out, nil
}
