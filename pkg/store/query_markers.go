package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// MarkerKinds are the timeline kinds a marker query may ask for.
var MarkerKinds = []string{KindError, KindClick, KindNavigation, KindRequest, KindCustom, KindRageClick, KindDeadClick, KindConsole, KindInput}

// MarkersQuery selects the timeline of one session.
type MarkersQuery struct {
	TimeRange
	SessionID string
	Kinds     []string // empty: all
	Limit     int      // > 0
}

// Marker is one timeline marker with its offset from the session start.
type Marker struct {
	Event
	OffsetMs int64
}

// SessionStart is the start of a session's recording; ok is false when the
// session has no summary row.
func (r *Reader) SessionStart(ctx context.Context, sessionID string) (start time.Time, ok bool, err error) {
	p := newParams()
	stmt := fmt.Sprintf(`SELECT min(start_time), count() FROM %s.%s WHERE session_id = %s`, r.db, TableSessions, p.str(sessionID))
	var n uint64
	if err := r.conn.QueryRow(withParams(ctx, p.p), stmt).Scan(&start, &n); err != nil {
		return time.Time{}, false, fmt.Errorf("session start: %w", err)
	}
	return start.UTC(), n > 0, nil
}

// Markers returns the markers of a session within the time range, in time
// order, each once (the table may still hold retried duplicates).
func (r *Reader) Markers(ctx context.Context, q MarkersQuery) ([]Marker, error) {
	if err := q.TimeRange.validate(); err != nil {
		return nil, err
	}
	if q.SessionID == "" {
		return nil, invalidf("sessionId is required")
	}
	if q.Limit <= 0 {
		return nil, invalidf("limit must be positive")
	}
	p := newParams()
	cond := []string{
		"session_id = " + p.str(q.SessionID),
		"ts >= " + p.ms(q.From),
		"ts <= " + p.ms(q.To),
	}
	if len(q.Kinds) > 0 {
		var in []string
		for _, k := range q.Kinds {
			known := false
			for _, m := range MarkerKinds {
				known = known || k == m
			}
			if !known {
				return nil, invalidf("marker kind %q: use %s", k, strings.Join(MarkerKinds, ", "))
			}
			in = append(in, p.str(k))
		}
		cond = append(cond, "kind IN ("+strings.Join(in, ", ")+")")
	}
	stmt := fmt.Sprintf(`SELECT session_id, ts, toString(kind), name, url, detail, trace_id, span_id, window_id, event_id
FROM %s.%s
WHERE %s
ORDER BY ts, event_id
LIMIT 1 BY ts, event_id
LIMIT %s`, r.db, TableEvents, strings.Join(cond, " AND "), p.u64(uint64(q.Limit)))
	rows, err := r.conn.Query(withParams(ctx, p.p), stmt)
	if err != nil {
		return nil, fmt.Errorf("markers: %w", err)
	}
	defer rows.Close()
	out := []Marker{}
	for rows.Next() {
		var m Marker
		e := &m.Event
		if err := rows.Scan(&e.SessionID, &e.Time, &e.Kind, &e.Name, &e.URL, &e.Detail, &e.TraceID, &e.SpanID, &e.WindowID, &e.ID); err != nil {
			return nil, fmt.Errorf("markers: %w", err)
		}
		e.Time = e.Time.UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("markers: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	start, ok, err := r.SessionStart(ctx, q.SessionID)
	if err != nil {
		return nil, err
	}
	if !ok {
		start = out[0].Time
	}
	for i := range out {
		out[i].OffsetMs = out[i].Time.Sub(start).Milliseconds()
	}
	return out, nil
}
