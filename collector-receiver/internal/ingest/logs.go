package ingest

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/pkg/store"
)

// LogsResult is what a logs request leaves for the receiver to answer.
type LogsResult struct {
	// Forward is the request without the replay records it stored (unless
	// forward_replay_chunks): what the next consumer gets.
	Forward plog.Logs
	// Rejected records and why (OTLP partial success).
	Rejected int
	Message  string
}

// ConsumeLogs stores a logs request's rows: replay chunks of every format,
// errors, custom events, console logs, trace links and log rule decisions.
// browserUA is the request's User-Agent when a browser sent it ("" else).
// A malformed record is rejected alone; an error (from AdmitSessions, the
// decision cache or the write) refuses the whole request, nothing claimed.
func (g *Ingester) ConsumeLogs(ctx context.Context, ld plog.Logs, browserUA string) (LogsResult, error) {
	q := g.newRequest()
	q.browserUA = browserUA
	replay := formats.NewRequest()
	forwardChunks := g.cfg.ForwardReplayChunks

	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := rl.Resource()
		service := str(res.Attributes(), AttrServiceName)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				name := lr.EventName()
				if name == "" {
					name = str(lr.Attributes(), AttrEventName)
				}
				rec := formats.Record{Resource: res, Scope: sl.Scope(), Log: lr, Name: name}
				if formats.IsFaroException(rec) {
					// named as our recorder's errors are, downstream too
					lr.SetEventName(formats.FaroExceptionName)
					name = formats.FaroExceptionName
				}
				claimed, err := replay.Take(rec)
				switch {
				case claimed && err != nil:
					q.reject("%v", err)
					g.refused(ctx, 1, "malformed")
					return true
				case claimed:
					return !forwardChunks
				case formats.FaroLifecycle[name]:
					return false // no replay data, no marker: passed on
				default:
					g.logRecord(ctx, q, rl, sl, lr, name, service)
					return false
				}
			})
		}
	}
	// split rr-web events straddling requests are joined in ClickHouse
	refusedSplit, err := replay.JoinSplit(ctx, g.deps.Parts)
	if err != nil {
		g.refused(ctx, replay.SplitWaiting(), "clickhouse")
		q.release()
		return LogsResult{}, err
	}
	for _, err := range refusedSplit {
		q.reject("%v", err)
		g.refused(ctx, 1, "malformed")
	}
	var chunks []chunkIn
	for _, c := range replay.Chunks() {
		chunks = append(chunks, fromFormat(c))
	}

	bytes := 0
	if len(chunks) > 0 {
		perSession := map[string]int{}
		for i := range chunks {
			perSession[chunks[i].sessionID]++
		}
		if err := g.deps.AdmitSessions(perSession); err != nil {
			g.refused(ctx, len(chunks), "rate_limited")
			return LogsResult{}, err
		}
		ids := make([]string, 0, len(chunks))
		for i := range chunks {
			q.seen(chunks[i].sessionID)
			ids = append(ids, chunks[i].sessionID)
		}
		retained, err := g.deps.Decisions.Decided(ctx, ids)
		if err != nil {
			g.refused(ctx, len(chunks), "clickhouse")
			q.release()
			return LogsResult{}, err
		}
		for _, d := range q.decs {
			retained[d.SessionID] = true
		}
		for i := range chunks {
			n, err := g.chunk(q, &chunks[i], retained[chunks[i].sessionID])
			if err != nil {
				q.reject("replay chunk of session %s seq %d: %v", chunks[i].sessionID, chunks[i].seq, err)
				g.refused(ctx, 1, "malformed")
				continue
			}
			bytes += n
		}
	}
	if err := q.commit(ctx, bytes); err != nil {
		g.refused(ctx, len(q.batch.Buffered)+len(q.batch.Retained), "unavailable")
		return LogsResult{}, err
	}
	if n := len(q.batch.Buffered) + len(q.batch.Retained); n > 0 {
		g.deps.Telemetry.ReceiverSessionreplayChunksAccepted.Add(ctx, int64(n))
		g.deps.Telemetry.ReceiverSessionreplayChunkBytes.Add(ctx, int64(bytes))
	}
	return LogsResult{Forward: ld, Rejected: q.rejected, Message: q.message()}, nil
}

// logRecord handles a log that is not replay data: errors, custom events,
// trace links, log rules. The record itself is forwarded.
func (g *Ingester) logRecord(ctx context.Context, q *request, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, name, service string) {
	attrs, resAttrs := lr.Attributes(), rl.Resource().Attributes()
	sid := formats.SessionID(attrs, resAttrs)
	t := lr.Timestamp().AsTime()
	if lr.Timestamp() == 0 {
		t = lr.ObservedTimestamp().AsTime()
		if lr.ObservedTimestamp() == 0 {
			t = q.now
		}
	}
	t = q.clamp(t)
	traceID, spanID := "", ""
	if !lr.TraceID().IsEmpty() {
		traceID = lr.TraceID().String()
	}
	if !lr.SpanID().IsEmpty() {
		spanID = lr.SpanID().String()
	}
	isErr := name == exceptionEvent || has(attrs, "exception.type") || has(attrs, "exception.message")
	if sid != "" {
		q.seen(sid)
		if traceID != "" {
			q.batch.Links = append(q.batch.Links, store.TraceLink{TraceID: traceID, SessionID: sid, SpanID: spanID, ServiceName: service, Time: t, IsError: isErr})
			g.deps.Decisions.LinkTrace(traceID, sid)
		}
		url := first(attrs, resAttrs, "url.full")
		switch {
		case isErr:
			typ := str(attrs, "exception.type")
			if typ == "" {
				typ = "exception"
			}
			detail := str(attrs, "exception.message")
			stack := str(attrs, "exception.stacktrace")
			if stack == "" {
				stack = str(attrs, "faro.error.stacktrace") // Faro's OTLP transport
			}
			if stack != "" {
				detail += "\n" + stack
			}
			if detail == "" {
				detail = lr.Body().AsString()
			}
			id := store.PartID(sid, "log", strconv.FormatInt(t.UnixNano(), 10), typ, detail)
			q.batch.Events = append(q.batch.Events, store.Event{SessionID: sid, Time: t, Kind: store.KindError, Name: typ, URL: url,
				Detail: clip(privacy.ScrubCardsString(detail)), TraceID: traceID, SpanID: spanID, ID: id})
			// the error counts once however often its record is retried
			q.batch.Sessions = append(q.batch.Sessions, store.SessionSummary{SessionID: sid, PartID: id, Start: t, End: t, Errors: 1})
		case consoleLog(q, sl, lr, name, sid, t, url, traceID, spanID):
		case name != "":
			body := lr.Body().AsString()
			q.batch.Events = append(q.batch.Events, store.Event{SessionID: sid, Time: t, Kind: store.KindCustom, Name: name, URL: url,
				Detail: clip(privacy.ScrubCardsString(body)), TraceID: traceID, SpanID: spanID,
				ID: store.PartID(sid, "log", strconv.FormatInt(t.UnixNano(), 10), name, body)})
		}
	}
	for _, rule := range g.deps.Rules.MatchLog(ctx, rl, sl, lr) {
		if sid != "" {
			q.retain(sid, rule, t, traceID)
		} else if traceID != "" {
			q.matchByTrace(rule, t, traceID)
		}
	}
}

// consoleLog adds the console marker of a console log record of an SDK
// that sends them as logs (Faro's ConsoleInstrumentation); false when the
// record is not one.
func consoleLog(q *request, sl plog.ScopeLogs, lr plog.LogRecord, name, sid string, t time.Time, url, traceID, spanID string) bool {
	level, message, ok := formats.FaroConsole(formats.Record{Scope: sl.Scope(), Log: lr, Name: name})
	if !ok {
		return false
	}
	message = privacy.ScrubCardsString(message)
	detail, _ := json.Marshal(struct {
		Level   string `json:"level"`
		Message string `json:"message"`
	}{level, clip(message)})
	q.batch.Events = append(q.batch.Events, store.Event{SessionID: sid, Time: t, Kind: store.KindConsole, Name: level, URL: url,
		Detail: string(detail), TraceID: traceID, SpanID: spanID,
		ID: store.PartID(sid, "log", strconv.FormatInt(t.UnixNano(), 10), store.KindConsole, message)})
	return true
}
