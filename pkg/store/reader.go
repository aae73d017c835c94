package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Reader runs the read queries shared by the receiver and the data source.
type Reader struct {
	conn driver.Conn
	db   string
}

// NewReader reads database db over conn.
func NewReader(conn driver.Conn, db string) *Reader { return &Reader{conn: conn, db: db} }

// chunkSource is a session's chunks from both tables, one row per
// (window, seq): retained copies and buffered originals are the same chunk.
// %[2]s is windowCond, inside so that other windows' data is never read.
const chunkSource = `(
    SELECT window_id, seq, start_time, end_time, event_count, full_snapshot, service_name, data, asset_hashes, asset_offsets
    FROM (
        SELECT * FROM %[1]s.replay_chunks WHERE session_id = {sid:String}%[2]s
        UNION ALL
        SELECT * FROM %[1]s.replay_chunks_buffer WHERE session_id = {sid:String}%[2]s
    )
    ORDER BY window_id, seq, ingested_at DESC
    LIMIT 1 BY window_id, seq
)`

// ReplayStart is the start of the chunk to begin a replay from so that it
// reaches `from`: the last chunk holding a full snapshot at or before it. A
// zero `from`, or none found, means the session's first chunk (zero time).
func (r *Reader) ReplayStart(ctx context.Context, sessionID string, from time.Time) (time.Time, error) {
	return r.ReplayStartIn(ctx, sessionID, nil, from)
}

// ReplayStartIn is ReplayStart among the chunks of the given windows only
// (nil: all windows): the full snapshot a track's replay starts from must be
// one of that track's documents.
func (r *Reader) ReplayStartIn(ctx context.Context, sessionID string, windows []string, from time.Time) (time.Time, error) {
	if from.IsZero() {
		return time.Time{}, nil
	}
	cond := windowCond(windows)
	q := fmt.Sprintf(`SELECT max(start_time), count() FROM (
    SELECT start_time FROM %[1]s.replay_chunks WHERE session_id = {sid:String} AND full_snapshot AND start_time <= fromUnixTimestamp64Milli({from:Int64})%[2]s
    UNION ALL
    SELECT start_time FROM %[1]s.replay_chunks_buffer WHERE session_id = {sid:String} AND full_snapshot AND start_time <= fromUnixTimestamp64Milli({from:Int64})%[2]s
)`, r.db, cond)
	p := clickhouse.Parameters{"sid": EscapeParam(sessionID), "from": fmt.Sprint(from.UnixMilli())}
	if windows != nil {
		p["wins"] = arrayParam(windows)
	}
	var start time.Time
	var n uint64
	if err := r.conn.QueryRow(withParams(ctx, p), q).Scan(&start, &n); err != nil {
		return time.Time{}, fmt.Errorf("replay start: %w", err)
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return start.UTC(), nil
}

// windowCond restricts a chunk query to the windows bound as {wins}; nil
// windows: no restriction. The condition text is constant, the ids are
// parameters.
func windowCond(windows []string) string {
	if windows == nil {
		return ""
	}
	return " AND window_id IN {wins:Array(String)}"
}

// StreamChunks calls fn for each chunk of the session whose start is at or
// after `since` (zero: all), in time order, without holding them all in memory.
func (r *Reader) StreamChunks(ctx context.Context, sessionID string, since time.Time, fn func(*Chunk) error) error {
	return r.StreamChunksIn(ctx, sessionID, nil, since, fn)
}

// StreamChunksIn is StreamChunks for the chunks of the given windows only
// (nil: all windows), e.g. one replay track.
func (r *Reader) StreamChunksIn(ctx context.Context, sessionID string, windows []string, since time.Time, fn func(*Chunk) error) error {
	q := fmt.Sprintf(`SELECT window_id, seq, start_time, end_time, event_count, full_snapshot, service_name, data, asset_hashes, asset_offsets
FROM `+chunkSource+`
WHERE start_time >= fromUnixTimestamp64Milli({since:Int64})
ORDER BY start_time, window_id, seq`, r.db, windowCond(windows))
	p := clickhouse.Parameters{"sid": EscapeParam(sessionID), "since": fmt.Sprint(since.UnixMilli())}
	if windows != nil {
		p["wins"] = arrayParam(windows)
	}
	rows, err := r.conn.Query(withParams(ctx, p), q)
	if err != nil {
		return fmt.Errorf("read chunks: %w", err)
	}
	defer rows.Close()
	inl := r.newInliner()
	for rows.Next() {
		c := Chunk{SessionID: sessionID}
		var data string
		var hashes []string
		var offsets []uint32
		if err := rows.Scan(&c.WindowID, &c.Seq, &c.Start, &c.End, &c.EventCount, &c.FullSnapshot, &c.ServiceName, &data, &hashes, &offsets); err != nil {
			return fmt.Errorf("read chunks: %w", err)
		}
		c.Data = []byte(data)
		c.Start, c.End = c.Start.UTC(), c.End.UTC()
		if len(hashes) > 0 {
			if c.Data, err = inl.inline(ctx, c.ServiceName, c.Data, hashes, offsets); err != nil {
				return fmt.Errorf("read chunk %s/%d: %w", c.WindowID, c.Seq, err)
			}
		}
		if err := fn(&c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Chunks returns every chunk of a session (see StreamChunks).
func (r *Reader) Chunks(ctx context.Context, sessionID string) ([]Chunk, error) {
	var out []Chunk
	err := r.StreamChunks(ctx, sessionID, time.Time{}, func(c *Chunk) error {
		out = append(out, *c)
		return nil
	})
	return out, err
}

// Session returns the aggregated summary of one session; ok is false when the
// session is unknown.
func (r *Reader) Session(ctx context.Context, sessionID string) (s SessionSummary, ok bool, err error) {
	q := fmt.Sprintf(`SELECT session_id, min(start_time), max(end_time), sum(active_ms), sum(chunk_count), sum(event_count), sum(bytes),
    sum(page_views), sum(clicks), sum(inputs), sum(rage_clicks), sum(dead_clicks), sum(errors), arraySort(groupUniqArrayArray(urls)), min(entry).url,
    max(user_id), max(service_name), max(device), max(os), max(browser), max(country), max(user_agent), maxMap(attributes)
FROM %s.%s FINAL WHERE session_id = {sid:String} GROUP BY session_id`, r.db, TableSessions)
	rows, err := r.conn.Query(withParams(ctx, clickhouse.Parameters{"sid": EscapeParam(sessionID)}), q)
	if err != nil {
		return s, false, fmt.Errorf("read session: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return s, false, rows.Err()
	}
	err = rows.Scan(&s.SessionID, &s.Start, &s.End, &s.ActiveMs, &s.Chunks, &s.Events, &s.Bytes, &s.PageViews, &s.Clicks, &s.Inputs,
		&s.RageClicks, &s.DeadClicks, &s.Errors, &s.URLs, &s.EntryURL, &s.UserID, &s.ServiceName, &s.Device, &s.OS, &s.Browser, &s.Country,
		&s.UserAgent, &s.Attributes)
	if err != nil {
		return s, false, fmt.Errorf("read session: %w", err)
	}
	s.Start, s.End = s.Start.UTC(), s.End.UTC()
	return s, true, nil
}

// Decisions returns the rules that retained a session, earliest first.
func (r *Reader) Decisions(ctx context.Context, sessionID string) ([]Decision, error) {
	q := fmt.Sprintf(`SELECT session_id, rule, min(trigger_time) AS t, argMin(trace_id, trigger_time)
FROM %s.retained_sessions WHERE session_id = {sid:String} GROUP BY session_id, rule ORDER BY t, rule`, r.db)
	rows, err := r.conn.Query(withParams(ctx, clickhouse.Parameters{"sid": EscapeParam(sessionID)}), q)
	if err != nil {
		return nil, fmt.Errorf("read decisions: %w", err)
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		var d Decision
		if err := rows.Scan(&d.SessionID, &d.Rule, &d.TriggerTime, &d.TraceID); err != nil {
			return nil, err
		}
		d.TriggerTime = d.TriggerTime.UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// SessionsOfTrace returns the sessions a trace belongs to (usually one).
func (r *Reader) SessionsOfTrace(ctx context.Context, traceID string) ([]string, error) {
	q := fmt.Sprintf(`SELECT DISTINCT session_id FROM %s.session_traces WHERE trace_id = {tid:String} ORDER BY session_id`, r.db)
	rows, err := r.conn.Query(withParams(ctx, clickhouse.Parameters{"tid": EscapeParam(traceID)}), q)
	if err != nil {
		return nil, fmt.Errorf("read trace links: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ChunkCount counts the distinct chunks of a session in one chunk table.
func (r *Reader) ChunkCount(ctx context.Context, table, sessionID string) (uint64, error) {
	if table != TableBuffer && table != TableRetained {
		return 0, fmt.Errorf("%q is not a chunk table", table)
	}
	q := fmt.Sprintf(`SELECT uniqExact(window_id, seq) FROM %s.%s WHERE session_id = {sid:String}`, r.db, table)
	var n uint64
	err := r.conn.QueryRow(withParams(ctx, clickhouse.Parameters{"sid": EscapeParam(sessionID)}), q).Scan(&n)
	return n, err
}
