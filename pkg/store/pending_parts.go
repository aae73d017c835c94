package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Split rr-web events (HyperDX) whose parts come in different requests are
// joined here, not in a receiver's memory (issue 15): a request writes the
// parts it could not join, then reads every stored part of their events; the
// request that finds them all emits the event. Two replicas finding them at
// once emit the same chunk key, so the chunk tables keep one copy.
//
// A part is a fragment of JSON the privacy masker cannot read, so the
// receiver stores it sealed (collector-receiver/internal/sealed); this
// package moves the bytes as they are given.

// PartKey names one split event.
type PartKey struct {
	SessionID string
	WindowID  string
	Event     int64 // the SDK's event index (rr-web.event)
	// EventTime is the time the parts' records carry, for the window whose
	// index restarts on every page load ("rr-web"); 0 elsewhere.
	EventTime int64
}

// PendingPart is one stored part of a split event.
type PendingPart struct {
	PartKey
	Part  int64
	Total int64
	Body  []byte
}

// WritePendingParts inserts parts and returns once they are readable by any
// replica: on a cluster the Distributed insert is synchronous
// (distributed_foreground_insert), so the rows are on their shard, not in a
// local queue, when the read that follows runs. (With several replicas per
// shard, a read may reach a replica that has not fetched the part yet: such
// clusters need insert_quorum on the receiver's DSN for this to hold.)
func (w *Writer) WritePendingParts(ctx context.Context, parts []PendingPart) error {
	return w.insert(Synchronous(ctx), TablePendingParts, "session_id, window_id, event_idx, event_time, part, total, body",
		len(parts), func(b driver.Batch, i int) error {
			p := &parts[i]
			return b.Append(p.SessionID, p.WindowID, p.Event, p.EventTime, p.Part, p.Total, p.Body)
		})
}

// PendingPartsOf returns every stored part of the given events, one row per
// (event, part, total) however often it was written.
func (r *Reader) PendingPartsOf(ctx context.Context, keys []PartKey) ([]PendingPart, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	want := make(map[PartKey]bool, len(keys))
	var sessions, windows []string
	var events []string
	for _, k := range keys {
		if !want[k] {
			want[k] = true
			sessions = append(sessions, k.SessionID)
			windows = append(windows, k.WindowID)
			events = append(events, strconv.FormatInt(k.Event, 10))
		}
	}
	// The three IN lists select a superset of the keys (the primary key
	// prefix makes it cheap); the exact keys are picked below.
	pctx := withParams(ctx, clickhouse.Parameters{"s": arrayParam(sessions), "w": arrayParam(windows),
		"e": "[" + strings.Join(events, ",") + "]"})
	rows, err := r.conn.Query(pctx, fmt.Sprintf(`SELECT session_id, window_id, event_idx, event_time, part, total, any(body)
FROM %s.%s
WHERE session_id IN {s:Array(String)} AND window_id IN {w:Array(String)} AND event_idx IN {e:Array(Int64)}
GROUP BY session_id, window_id, event_idx, event_time, part, total`, r.db, TablePendingParts))
	if err != nil {
		return nil, fmt.Errorf("pending parts: %w", err)
	}
	defer rows.Close()
	var out []PendingPart
	for rows.Next() {
		var p PendingPart
		var body string
		if err := rows.Scan(&p.SessionID, &p.WindowID, &p.Event, &p.EventTime, &p.Part, &p.Total, &body); err != nil {
			return nil, fmt.Errorf("pending parts: %w", err)
		}
		if want[p.PartKey] {
			p.Body = []byte(body)
			out = append(out, p)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending parts: %w", err)
	}
	return out, nil
}
