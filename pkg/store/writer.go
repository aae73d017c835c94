package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Writer inserts rows with native-protocol batches (one INSERT per call).
type Writer struct {
	conn   driver.Conn
	db     string
	stored *assetsStored
}

// NewWriter writes into database db over conn.
func NewWriter(conn driver.Conn, db string) *Writer {
	return &Writer{conn: conn, db: db, stored: newAssetsStored(assetsStoredMax)}
}

// Batch is a set of rows written together.
type Batch struct {
	Buffered  []Chunk
	Retained  []Chunk
	Sessions  []SessionSummary
	Events    []Event
	Links     []TraceLink
	Decisions []Decision
	// Pending are span/log rule matches waiting for their trace's session.
	Pending []PendingMatch
	// Candidates are clicks waiting to be judged dead or alive.
	Candidates []ClickCandidate
	// Evaluations record idle-time rule evaluations (written last, with the
	// decisions, once the rows they judged are stored).
	Evaluations []Evaluation
}

// Len is the number of rows in the batch.
func (b *Batch) Len() int {
	return len(b.Buffered) + len(b.Retained) + len(b.Sessions) + len(b.Events) + len(b.Links) + len(b.Decisions) + len(b.Pending) + len(b.Candidates) + len(b.Evaluations)
}

// Append moves the rows of o into b.
func (b *Batch) Append(o *Batch) {
	b.Buffered = append(b.Buffered, o.Buffered...)
	b.Retained = append(b.Retained, o.Retained...)
	b.Sessions = append(b.Sessions, o.Sessions...)
	b.Events = append(b.Events, o.Events...)
	b.Links = append(b.Links, o.Links...)
	b.Decisions = append(b.Decisions, o.Decisions...)
	b.Pending = append(b.Pending, o.Pending...)
	b.Candidates = append(b.Candidates, o.Candidates...)
	b.Evaluations = append(b.Evaluations, o.Evaluations...)
}

// Write inserts every non-empty part of b. The row tables are written
// concurrently (one INSERT each, on separate connections), decisions last, so
// a decision is never visible before the rows it refers to. Writing the same
// batch again is harmless: every table collapses duplicates by its key.
func (w *Writer) Write(ctx context.Context, b *Batch) error {
	parts := []func() error{
		func() error { return w.WriteChunks(ctx, TableBuffer, b.Buffered) },
		func() error { return w.WriteChunks(ctx, TableRetained, b.Retained) },
		func() error { return w.WriteSessions(ctx, b.Sessions) },
		func() error { return w.WriteEvents(ctx, b.Events) },
		func() error { return w.WriteTraceLinks(ctx, b.Links) },
		func() error { return w.WritePending(ctx, b.Pending) },
		func() error { return w.WriteCandidates(ctx, b.Candidates) },
	}
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = part()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return errors.Join(w.WriteDecisions(ctx, b.Decisions), w.WriteEvaluations(ctx, b.Evaluations))
}

func (w *Writer) insert(ctx context.Context, table, columns string, n int, appendRow func(driver.Batch, int) error) error {
	if n == 0 {
		return nil
	}
	batch, err := w.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.%s (%s)", w.db, table, columns), driver.WithReleaseConnection())
	if err != nil {
		return fmt.Errorf("insert %s: %w", table, err)
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	for i := 0; i < n; i++ {
		if err := appendRow(batch, i); err != nil {
			return fmt.Errorf("insert %s row %d: %w", table, i, err)
		}
	}
	return send(table, batch)
}

func send(table string, batch driver.Batch) error {
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %s: %w", table, err)
	}
	return nil
}

// WriteChunks inserts chunks into TableBuffer or TableRetained.
func (w *Writer) WriteChunks(ctx context.Context, table string, chunks []Chunk) error {
	if table != TableBuffer && table != TableRetained {
		return fmt.Errorf("WriteChunks: %q is not a chunk table", table)
	}
	if len(chunks) == 0 {
		return nil
	}
	// Assets first: a chunk is never visible before the assets it refers to.
	if err := w.writeAssets(ctx, table == TableRetained, chunks); err != nil {
		return err
	}
	batch, err := w.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.%s (session_id, window_id, seq, start_time, end_time, event_count, full_snapshot, service_name, data, asset_hashes, asset_offsets, ingested_at)", w.db, table), driver.WithReleaseConnection())
	if err != nil {
		return fmt.Errorf("insert %s: %w", table, err)
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	now := time.Now()
	pending := 0
	for i := range chunks {
		c := &chunks[i]
		hashes, offsets := refColumns(c.Refs)
		if err := batch.Append(c.SessionID, c.WindowID, c.Seq, c.Start, c.End, c.EventCount, c.FullSnapshot, c.ServiceName, c.Data, hashes, offsets, now); err != nil {
			return fmt.Errorf("insert %s row %d: %w", table, i, err)
		}
		// Send the rows in blocks of about chunkBlockBytes within the one
		// INSERT (ClickHouse squashes them into one part): the client's
		// column buffers then stay small and are reused, instead of growing
		// (and being copied) to the size of the whole batch. Flush does not
		// watch ctx; the connection's stallGuard bounds its writes.
		if pending += len(c.Data); pending >= chunkBlockBytes {
			if err := batch.Flush(); err != nil {
				return fmt.Errorf("insert %s: %w", table, err)
			}
			pending = 0
		}
	}
	return send(table, batch)
}

// chunkBlockBytes is the size of the native blocks chunk inserts are sent in.
const chunkBlockBytes = 1 << 20

// WriteSessions inserts per-contribution session summary rows; rows with the
// same (session, PartID) collapse into one.
func (w *Writer) WriteSessions(ctx context.Context, rows []SessionSummary) error {
	now := time.Now()
	return w.insert(ctx, TableSessions,
		"session_id, part_id, start_time, end_time, active_ms, chunk_count, event_count, bytes, page_views, clicks, inputs, rage_clicks, dead_clicks, errors, urls, entry, user_id, service_name, device, os, browser, country, user_agent, attributes, received_at",
		len(rows), func(b driver.Batch, i int) error {
			s := &rows[i]
			urls := s.URLs
			if urls == nil {
				urls = []string{}
			}
			attrs := s.Attributes
			if attrs == nil {
				attrs = map[string]string{}
			}
			// entry is min((time, url)): the earliest URL wins. A row without a
			// URL sorts last so it never hides the real entry page.
			entryAt := s.Start
			if s.EntryURL == "" {
				entryAt = noEntry
			}
			part := s.PartID
			if part == 0 {
				part = SummaryPartID(s)
			}
			return b.Append(s.SessionID, part, s.Start, s.End, s.ActiveMs, s.Chunks, s.Events, s.Bytes, s.PageViews, s.Clicks, s.Inputs,
				s.RageClicks, s.DeadClicks, s.Errors, urls, []any{entryAt, s.EntryURL}, s.UserID, s.ServiceName, s.Device, s.OS,
				s.Browser, s.Country, s.UserAgent, attrs, cmp.Or(s.ReceivedAt, now))
		})
}

// noEntry is later than any real page view and inside DateTime64 range.
var noEntry = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteEvents inserts timeline markers.
func (w *Writer) WriteEvents(ctx context.Context, rows []Event) error {
	return w.insert(ctx, TableEvents, "session_id, ts, kind, name, url, detail, trace_id, span_id, window_id, event_id",
		len(rows), func(b driver.Batch, i int) error {
			e := &rows[i]
			return b.Append(e.SessionID, e.Time, e.Kind, e.Name, e.URL, e.Detail, e.TraceID, e.SpanID, e.WindowID, e.ID)
		})
}

// WriteTraceLinks inserts trace <-> session links.
func (w *Writer) WriteTraceLinks(ctx context.Context, rows []TraceLink) error {
	return w.insert(ctx, TableTraces, "trace_id, session_id, span_id, service_name, ts, is_error",
		len(rows), func(b driver.Batch, i int) error {
			l := &rows[i]
			return b.Append(l.TraceID, l.SessionID, l.SpanID, l.ServiceName, l.Time, l.IsError)
		})
}

// WriteDecisions inserts retention decisions.
func (w *Writer) WriteDecisions(ctx context.Context, rows []Decision) error {
	return w.insert(ctx, TableDecisions, "session_id, rule, trigger_time, trace_id",
		len(rows), func(b driver.Batch, i int) error {
			d := &rows[i]
			return b.Append(d.SessionID, d.Rule, d.TriggerTime, d.TraceID)
		})
}

// CopyToRetained copies a session's buffered chunks into the retained table,
// and extends the lifetime of the assets they refer to (RetainAssets). It is
// idempotent: the retained table collapses (session, window, seq)
// duplicates, so two collectors copying the same session converge.
func (w *Writer) CopyToRetained(ctx context.Context, sessionID string) error {
	q := fmt.Sprintf(`INSERT INTO %[1]s.%[2]s (session_id, window_id, seq, start_time, end_time, event_count, full_snapshot, service_name, data, asset_hashes, asset_offsets, ingested_at)
SELECT session_id, window_id, seq, start_time, end_time, event_count, full_snapshot, service_name, data, asset_hashes, asset_offsets, ingested_at
FROM %[1]s.%[3]s WHERE session_id = {sid:String}`, w.db, TableRetained, TableBuffer)
	if err := w.conn.Exec(withParams(ctx, clickhouse.Parameters{"sid": EscapeParam(sessionID)}), q); err != nil {
		return fmt.Errorf("copy session to %s: %w", TableRetained, err)
	}
	return w.RetainAssets(ctx, sessionID)
}

// Synchronous makes the inserts of ctx visible to the reads that follow on
// a cluster too: a Distributed table then writes to its shards before it
// answers, instead of queueing the rows.
func Synchronous(ctx context.Context) context.Context {
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"distributed_foreground_insert": 1}))
}
