package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The receiver's rule state lives here, not in its memory (issue 15): the
// inputs of the session rules are the stored summaries and markers, idle
// evaluations are recorded, and span/log rule matches waiting for their
// trace's session are rows of TablePending. Any replica can pick up any of
// them, and a restart loses nothing.

// PendingMatch is a span or log rule match whose trace had no known session
// when it arrived.
type PendingMatch struct {
	TraceID     string
	Rule        string
	TriggerTime time.Time
	CreatedAt   time.Time
	// Resolved marks a match turned into decisions; it replaces the
	// unresolved row (the table keeps the highest version).
	Resolved bool
}

// IdleSession is a session whose last contribution arrived at LastReceived.
type IdleSession struct {
	SessionID    string
	LastReceived time.Time
}

// SessionFacts are the stored inputs of the session rules of one session.
type SessionFacts struct {
	SessionID    string
	Start, End   time.Time
	LastReceived time.Time
	URLs         []string
	Events       []string // names of the custom events (markers of kind custom)
	RageClicks   uint64
	DeadClicks   uint64
	Errors       uint64
}

// Evaluation records that a session's idle-time rules were evaluated on
// everything received up to Through (its LastReceived then).
type Evaluation struct {
	SessionID string
	Through   time.Time
}

// WritePending inserts pending rule matches.
func (w *Writer) WritePending(ctx context.Context, rows []PendingMatch) error {
	return w.insert(ctx, TablePending, "trace_id, rule, trigger_time, created_at, resolved",
		len(rows), func(b driver.Batch, i int) error {
			p := &rows[i]
			var resolved uint8
			if p.Resolved {
				resolved = 1
			}
			return b.Append(p.TraceID, p.Rule, p.TriggerTime, p.CreatedAt, resolved)
		})
}

// WriteEvaluations records idle evaluations.
func (w *Writer) WriteEvaluations(ctx context.Context, rows []Evaluation) error {
	return w.insert(ctx, TableEvaluations, "session_id, evaluated_through",
		len(rows), func(b driver.Batch, i int) error {
			return b.Append(rows[i].SessionID, rows[i].Through)
		})
}

// IdleSessions returns up to limit sessions (longest idle first) that
// received something since `since`, nothing since `idleBefore`, and whose
// latest contribution no evaluation covers yet, and none of whose clicks
// waits to be judged (their dead clicks are facts of the rules). GLOBAL: on
// a cluster the evaluations are gathered from every shard once.
func (r *Reader) IdleSessions(ctx context.Context, since, idleBefore time.Time, limit int) ([]IdleSession, error) {
	p := newParams()
	stmt := fmt.Sprintf(`SELECT session_id, max(received_at) AS last
FROM %[1]s.%[2]s
WHERE received_at >= %[4]s
GROUP BY session_id
HAVING last < %[5]s AND (session_id, last) GLOBAL NOT IN (
    SELECT session_id, evaluated_through FROM %[1]s.%[3]s WHERE evaluated_at >= %[4]s
) AND session_id GLOBAL NOT IN (
    SELECT session_id FROM %[1]s.%[7]s WHERE received_at >= %[4]s GROUP BY session_id, event_id HAVING max(resolved) = 0
)
ORDER BY last
LIMIT %[6]s`, r.db, TableSessions, TableEvaluations, p.ms(since), p.ms(idleBefore), p.u64(uint64(limit)), TableClickCandidates)
	rows, err := r.conn.Query(withParams(ctx, p.p), stmt)
	if err != nil {
		return nil, fmt.Errorf("idle sessions: %w", err)
	}
	defer rows.Close()
	var out []IdleSession
	for rows.Next() {
		var s IdleSession
		if err := rows.Scan(&s.SessionID, &s.LastReceived); err != nil {
			return nil, fmt.Errorf("idle sessions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SessionFactsOf reads the session-rule inputs of the given sessions from
// the deduplicated summaries and the custom-event markers.
func (r *Reader) SessionFactsOf(ctx context.Context, ids []string) (map[string]*SessionFacts, error) {
	out := make(map[string]*SessionFacts, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"ids": arrayParam(ids)}))
	rows, err := r.conn.Query(pctx, fmt.Sprintf(`SELECT session_id, min(start_time), max(end_time), max(received_at), sum(rage_clicks), sum(dead_clicks), sum(errors),
    arraySort(groupUniqArrayArray(urls))
FROM %s.%s FINAL WHERE session_id IN {ids:Array(String)} GROUP BY session_id SETTINGS %s`, r.db, TableSessions, finalSettings))
	if err != nil {
		return nil, fmt.Errorf("session facts: %w", err)
	}
	for rows.Next() {
		f := &SessionFacts{}
		if err := rows.Scan(&f.SessionID, &f.Start, &f.End, &f.LastReceived, &f.RageClicks, &f.DeadClicks, &f.Errors, &f.URLs); err != nil {
			rows.Close()
			return nil, fmt.Errorf("session facts: %w", err)
		}
		f.Start, f.End, f.LastReceived = f.Start.UTC(), f.End.UTC(), f.LastReceived.UTC()
		out[f.SessionID] = f
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session facts: %w", err)
	}
	rows, err = r.conn.Query(pctx, fmt.Sprintf(`SELECT session_id, arraySort(groupUniqArray(name))
FROM %s.%s WHERE session_id IN {ids:Array(String)} AND kind = '%s' GROUP BY session_id`, r.db, TableEvents, KindCustom))
	if err != nil {
		return nil, fmt.Errorf("session facts: custom events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var names []string
		if err := rows.Scan(&id, &names); err != nil {
			return nil, fmt.Errorf("session facts: custom events: %w", err)
		}
		if f := out[id]; f != nil {
			f.Events = names
		}
	}
	return out, rows.Err()
}

// PendingMatches returns up to limit unresolved matches created since `since`.
func (r *Reader) PendingMatches(ctx context.Context, since time.Time, limit int) ([]PendingMatch, error) {
	p := newParams()
	stmt := fmt.Sprintf(`SELECT trace_id, toString(rule), min(trigger_time), min(created_at)
FROM %s.%s
WHERE created_at >= %s
GROUP BY trace_id, rule
HAVING max(resolved) = 0
ORDER BY min(created_at)
LIMIT %s`, r.db, TablePending, p.ms(since), p.u64(uint64(limit)))
	rows, err := r.conn.Query(withParams(ctx, p.p), stmt)
	if err != nil {
		return nil, fmt.Errorf("pending matches: %w", err)
	}
	defer rows.Close()
	var out []PendingMatch
	for rows.Next() {
		var m PendingMatch
		if err := rows.Scan(&m.TraceID, &m.Rule, &m.TriggerTime, &m.CreatedAt); err != nil {
			return nil, fmt.Errorf("pending matches: %w", err)
		}
		m.TriggerTime, m.CreatedAt = m.TriggerTime.UTC(), m.CreatedAt.UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// SessionsOfTraces returns the sessions each of the given traces is linked to.
func (r *Reader) SessionsOfTraces(ctx context.Context, traceIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(traceIDs) == 0 {
		return out, nil
	}
	q := fmt.Sprintf(`SELECT DISTINCT trace_id, session_id FROM %s.%s WHERE trace_id IN {ids:Array(String)} ORDER BY trace_id, session_id`, r.db, TableTraces)
	rows, err := r.conn.Query(clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"ids": arrayParam(traceIDs)})), q)
	if err != nil {
		return nil, fmt.Errorf("sessions of traces: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t, s string
		if err := rows.Scan(&t, &s); err != nil {
			return nil, fmt.Errorf("sessions of traces: %w", err)
		}
		out[t] = append(out[t], s)
	}
	return out, rows.Err()
}
