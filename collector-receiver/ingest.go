package sessionreplayreceiver

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/seed/sessionreplay/collector-receiver/internal/assets"
	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
	"github.com/seed/sessionreplay/pkg/store"
)

// Wire format names (DESIGN.md); the replay formats are in internal/formats.
const (
	EventNameChunk   = formats.EventNameChunk
	AttrSeq          = formats.AttrSeq
	AttrStart        = formats.AttrStart
	AttrEnd          = formats.AttrEnd
	AttrEventName    = "event.name"
	AttrSessionID    = formats.AttrSessionID
	AttrFullSnapshot = "session_replay.full_snapshot"
	AttrUserAgent    = "user_agent.original"
	AttrUserID       = "user.id"
	AttrServiceName  = "service.name"
	exceptionEvent   = "exception"
	maxDetail        = 8192
)

var countryAttrs = []string{"geo.country.iso_code", "client.geo.country_iso_code"}

// summaryAttrs are resource attributes copied into the session's attributes map.
var summaryAttrs = []string{"service.version", "deployment.environment.name", "deployment.environment", "browser.language", "browser.platform", "browser.mobile"}

type logsResult struct {
	forward  plog.Logs
	rejected int
	message  string
}

// chunkIn is a replay chunk before privacy and summary.
type chunkIn struct {
	sessionID string
	windowID  string
	seq       uint64
	start     int64 // unix ms from attributes (0: from events)
	end       int64
	data      []byte // read-only: may be a pdata string's memory
	service   string
	res       pcommon.Resource
	attrs     pcommon.Map
}

// request collects the rows and decisions of one OTLP request.
type request struct {
	r        *srReceiver
	now      time.Time
	batch    store.Batch
	decs     []store.Decision // claimed by this request
	sessions map[string]bool  // sessions seen (for sampling)
	// browserUA is the request's User-Agent header when a browser sent it:
	// the device/OS/browser of SDKs that put no user_agent.original on their
	// records (HyperDX). Not a collector's or a proxy's, which forward.
	browserUA string
	rejected  int
	msgs      []string
}

func (r *srReceiver) newRequest() *request {
	return &request{r: r, now: time.Now(), sessions: map[string]bool{}}
}

// reject counts a refused record; its message is kept once (a Splunk
// request refuses every record for the same reason).
func (q *request) reject(format string, a ...any) {
	q.rejected++
	if len(q.msgs) < 5 {
		m := fmt.Sprintf(format, a...)
		if !slices.Contains(q.msgs, m) {
			q.msgs = append(q.msgs, m)
		}
	}
}

func (q *request) message() string {
	m := strings.Join(q.msgs, "; ")
	if q.rejected > len(q.msgs) {
		m += fmt.Sprintf(" (and %d more)", q.rejected-len(q.msgs))
	}
	return m
}

// retain claims a decision for this request (written with its rows).
func (q *request) retain(session, rule string, t time.Time, traceID string) {
	if q.r.state.claim(session, rule) {
		q.decs = append(q.decs, store.Decision{SessionID: session, Rule: rule, TriggerTime: t, TraceID: traceID})
	}
}

// matchByTrace handles a rule match on a span or log without session.id:
// through the trace's cached session now, else stored as a pending match
// (with the request's rows) that the sweeper of any replica resolves once
// the trace's session link is stored.
func (q *request) matchByTrace(rule string, t time.Time, traceID string) {
	if s := q.r.state.sessionOfTrace(traceID); s != "" {
		q.retain(s, rule, t, traceID)
		return
	}
	q.batch.Pending = append(q.batch.Pending, store.PendingMatch{TraceID: traceID, Rule: rule, TriggerTime: t, CreatedAt: q.now})
}

// seen notes a session of this request and applies sampling to new ones.
func (q *request) seen(session string) *sessState {
	st, isNew := q.r.state.touch(session, q.now)
	if !q.sessions[session] {
		q.sessions[session] = true
		if isNew {
			for _, name := range q.r.rules.Sample(session) {
				q.retain(session, name, q.now, "")
			}
		}
	}
	return st
}

// commit writes the request's rows; on failure the claimed decisions are
// released so a retry makes them again.
func (q *request) commit(ctx context.Context, bytes int) error {
	q.batch.Decisions = append(q.batch.Decisions, q.decs...)
	if q.batch.Len() == 0 {
		return nil
	}
	err := q.r.add(ctx, &q.batch, bytes+256*q.batch.Len())
	if err != nil {
		for _, d := range q.decs {
			q.r.state.unclaim(d.SessionID, d.Rule)
		}
		return err
	}
	q.r.state.committed(q.decs)
	return nil
}

// ---- logs ----

func (r *srReceiver) consumeLogs(ctx context.Context, ld plog.Logs) (logsResult, *httpError) {
	q := r.newRequest()
	q.browserUA = browserUserAgent(ctx)
	replay := formats.NewRequest()
	forwardChunks := r.cfg.ForwardReplayChunks

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
					r.refused(ctx, 1, "malformed")
					return true
				case claimed:
					return !forwardChunks
				case formats.FaroLifecycle[name]:
					return false // no replay data, no marker: passed on
				default:
					r.logRecord(ctx, q, rl, sl, lr, name, service)
					return false
				}
			})
		}
	}
	// split rr-web events straddling requests are joined in ClickHouse
	refusedSplit, err := replay.JoinSplit(ctx, storedParts{r.writer, r.reader, r.cfg.ClickHouse.Timeout})
	if err != nil {
		r.refused(ctx, replay.SplitWaiting(), "clickhouse")
		q.release()
		return logsResult{}, storeError(err)
	}
	for _, err := range refusedSplit {
		q.reject("%v", err)
		r.refused(ctx, 1, "malformed")
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
		if herr := r.checkSessions(perSession); herr != nil {
			r.refused(ctx, len(chunks), "rate_limited")
			return logsResult{}, herr
		}
		ids := make([]string, 0, len(chunks))
		for i := range chunks {
			q.seen(chunks[i].sessionID)
			ids = append(ids, chunks[i].sessionID)
		}
		retained, err := r.state.decided(ctx, ids)
		if err != nil {
			r.refused(ctx, len(chunks), "clickhouse")
			q.release()
			return logsResult{}, storeError(err)
		}
		for _, d := range q.decs {
			retained[d.SessionID] = true
		}
		for i := range chunks {
			n, err := r.chunk(q, &chunks[i], retained[chunks[i].sessionID])
			if err != nil {
				q.reject("replay chunk of session %s seq %d: %v", chunks[i].sessionID, chunks[i].seq, err)
				r.refused(ctx, 1, "malformed")
				continue
			}
			bytes += n
		}
	}
	if err := q.commit(ctx, bytes); err != nil {
		r.refused(ctx, len(q.batch.Buffered)+len(q.batch.Retained), "unavailable")
		return logsResult{}, storeError(err)
	}
	if n := len(q.batch.Buffered) + len(q.batch.Retained); n > 0 {
		r.tb.ReceiverSessionreplayChunksAccepted.Add(ctx, int64(n))
		r.tb.ReceiverSessionreplayChunkBytes.Add(ctx, int64(bytes))
	}
	return logsResult{forward: ld, rejected: q.rejected, message: q.message()}, nil
}

type userAgentKey struct{}

// withUserAgent keeps the request's User-Agent header for consumeLogs.
func withUserAgent(ctx context.Context, header string) context.Context {
	return context.WithValue(ctx, userAgentKey{}, header)
}

// browserUserAgent is the request's User-Agent when it names a browser
// (every browser's starts with Mozilla/; collectors and SDK clients in
// other languages name themselves).
func browserUserAgent(ctx context.Context) string {
	ua, _ := ctx.Value(userAgentKey{}).(string)
	if !strings.HasPrefix(ua, "Mozilla/") || len(ua) > 1024 {
		return ""
	}
	return ua
}

// release gives back decisions claimed by a request that fails before commit.
func (q *request) release() {
	for _, d := range q.decs {
		q.r.state.unclaim(d.SessionID, d.Rule)
	}
}

// fromFormat is a chunk read by one of the formats, with its service.
func fromFormat(c formats.Chunk) chunkIn {
	return chunkIn{sessionID: c.SessionID, windowID: c.WindowID, seq: c.Seq, start: c.Start, end: c.End, data: c.Data,
		res: c.Resource, attrs: c.Attrs, service: str(c.Resource.Attributes(), AttrServiceName)}
}

// chunkFromRecord reads one session_replay.chunk record (the fuzz tests
// drive it directly).
func chunkFromRecord(lr plog.LogRecord, res pcommon.Resource, service string) (chunkIn, error) {
	c, err := formats.ParseChunk(lr, res)
	in := fromFormat(c)
	in.service = service
	return in, err
}

// decodeChunk turns a chunk body into the masked, card-scrubbed, valid
// UTF-8 JSON array that is stored, and its summary (chunk seq of the tab
// whose summary state is win; nil: the chunk alone). body is only read. It
// holds no receiver state but the privacy and summary state of the tab, so
// the fuzz tests drive it directly.
func decodeChunk(cfg *Config, m *privacy.Masker, body []byte, ps *privacy.State, win *rrweb.Window, seq uint64, lock sync.Locker) ([]byte, rrweb.Stats, int, error) {
	data, err := rrweb.DecodeBody(body, "", cfg.MaxChunkBytes)
	if err != nil {
		return nil, rrweb.Stats{}, 0, err
	}
	c, err := rrweb.Parse(data)
	if err != nil {
		return nil, rrweb.Stats{}, 0, err
	}
	defer c.Release()
	if len(c.Events) == 0 {
		return nil, rrweb.Stats{}, 0, fmt.Errorf("empty chunk")
	}
	if len(c.Events) > cfg.MaxChunkEvents {
		return nil, rrweb.Stats{}, 0, fmt.Errorf("chunk has %d rrweb events, over max_chunk_events (%d): send smaller chunks", len(c.Events), cfg.MaxChunkEvents)
	}
	lock.Lock()
	m.Apply(c, ps) // input masking and card numbers
	// after masking: labels and messages read the text as it is stored
	stats := rrweb.SummarizeWindow(c, win, seq)
	lock.Unlock()
	if data, err = c.Encode(); err != nil {
		return nil, rrweb.Stats{}, 0, err
	}
	if !utf8.Valid(data) {
		// invalid UTF-8 inside JSON strings: store valid text (readers decode it as UTF-8)
		data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	return data, stats, len(c.Events), nil
}

// chunk decodes, masks and summarises one chunk and adds its rows.
func (r *srReceiver) chunk(q *request, c *chunkIn, retained bool) (int, error) {
	st := q.seen(c.sessionID)
	st.mu.Lock()
	ps := r.state.privacyState(st, c.windowID)
	win := st.signals.window(c.windowID)
	st.mu.Unlock()
	data, stats, nEvents, err := decodeChunk(r.cfg, r.masker, c.data, ps, win, c.seq, &st.mu)
	if err != nil {
		return 0, err
	}

	start, end := stats.Start, stats.End
	if c.start > 0 {
		start = c.start
	}
	if c.end > 0 {
		end = c.end
	}
	start, end = q.clampMs(start), q.clampMs(end)
	if end < start {
		end = start
	}
	ch := store.Chunk{SessionID: c.sessionID, WindowID: c.windowID, Seq: c.seq, Start: time.UnixMilli(start).UTC(), End: time.UnixMilli(end).UTC(),
		EventCount: uint32(nEvents), FullSnapshot: stats.FullSnapshot || boolAttr(c.attrs, AttrFullSnapshot), ServiceName: c.service, Data: data}
	// what page loads and sessions of a site repeat (stylesheets) is stored once
	if err := (assets.Extractor{}).Apply(&ch); err != nil {
		return 0, err
	}
	if retained {
		q.batch.Retained = append(q.batch.Retained, ch)
	} else {
		q.batch.Buffered = append(q.batch.Buffered, ch)
	}

	resAttrs := c.res.Attributes()
	ua := first(c.attrs, resAttrs, AttrUserAgent)
	if ua == "" {
		ua = q.browserUA
	}
	info := r.state.userAgent(ua)
	// One contribution per (window, seq): a retried chunk replaces its first copy.
	sum := store.SessionSummary{SessionID: c.sessionID, PartID: store.PartID("chunk", c.windowID, strconv.FormatUint(c.seq, 10)), Start: ch.Start, End: ch.End, ActiveMs: uint64(stats.ActiveMs), Chunks: 1,
		Events: uint64(nEvents), Bytes: uint64(len(data)), PageViews: uint64(stats.PageViews), Clicks: uint64(stats.Clicks),
		Inputs: uint64(stats.Inputs), RageClicks: uint64(stats.RageClicks), URLs: stats.URLs, UserID: first(c.attrs, resAttrs, AttrUserID),
		ServiceName: c.service, Device: info.Device, OS: info.OS, Browser: info.Browser, UserAgent: ua, Attributes: r.sessionAttrs(resAttrs)}
	if len(stats.URLs) > 0 {
		sum.EntryURL = stats.URLs[0]
	}
	for _, k := range countryAttrs {
		if v := first(c.attrs, resAttrs, k); v != "" {
			sum.Country = v
			break
		}
	}
	r.chunkSignals(q, st, c.sessionID, c.windowID, c.seq, win, &stats)
	q.batch.Sessions = append(q.batch.Sessions, sum)
	for _, m := range stats.Markers {
		q.batch.Events = append(q.batch.Events, store.Event{SessionID: c.sessionID, Time: time.UnixMilli(q.clampMs(m.Time)).UTC(), Kind: m.Kind,
			Name: privacy.ScrubCardsString(m.Name), URL: m.URL, Detail: privacy.ScrubCardsString(m.Detail), WindowID: c.windowID,
			ID: store.PartID(c.sessionID, c.windowID, strconv.FormatUint(m.Seq, 10), strconv.Itoa(m.Index), m.Kind)})
	}
	return len(data), nil
}

func (r *srReceiver) sessionAttrs(res pcommon.Map) map[string]string {
	out := map[string]string{}
	for _, k := range summaryAttrs {
		if r.masker.DropsAttribute(k) {
			continue
		}
		if v, ok := res.Get(k); ok {
			out[k] = v.AsString()
		}
	}
	return out
}

// logRecord handles a log that is not replay data: errors, custom events,
// trace links, log rules. The record itself is forwarded.
func (r *srReceiver) logRecord(ctx context.Context, q *request, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, name, service string) {
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
			r.state.linkTrace(traceID, sid)
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
	for _, rule := range r.rules.MatchLog(ctx, rl, sl, lr) {
		if sid != "" {
			q.retain(sid, rule, t, traceID)
		} else if traceID != "" {
			q.matchByTrace(rule, t, traceID)
		}
	}
}

// ---- traces ----

func (r *srReceiver) consumeTraces(ctx context.Context, td ptrace.Traces) *httpError {
	q := r.newRequest()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		resAttrs := rs.Resource().Attributes()
		service := str(resAttrs, AttrServiceName)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				r.span(ctx, q, rs, ss, span, service)
			}
		}
	}
	if err := q.commit(ctx, 0); err != nil {
		return storeError(err)
	}
	return nil
}

func (r *srReceiver) span(ctx context.Context, q *request, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span, service string) {
	attrs := span.Attributes()
	sid := formats.SessionID(attrs, rs.Resource().Attributes())
	traceID, spanID := "", ""
	if !span.TraceID().IsEmpty() {
		traceID = span.TraceID().String()
	}
	if !span.SpanID().IsEmpty() {
		spanID = span.SpanID().String()
	}
	t := q.clamp(span.StartTimestamp().AsTime())
	if span.StartTimestamp() == 0 {
		t = q.now.UTC()
	}
	isErr := span.Status().Code() == ptrace.StatusCodeError
	if sid != "" {
		q.seen(sid)
		if traceID != "" {
			q.batch.Links = append(q.batch.Links, store.TraceLink{TraceID: traceID, SessionID: sid, SpanID: spanID, ServiceName: service, Time: t, IsError: isErr})
			r.state.linkTrace(traceID, sid)
		}
		url := str(attrs, "url.full")
		if url == "" {
			url = str(attrs, "http.url")
		}
		if url == "" {
			url = str(attrs, "location.href") // HyperDX's page
		}
		if isErr {
			name := span.Name()
			if obj := str(attrs, "error.object"); obj != "" {
				name = obj // HyperDX's (Splunk's) browser error spans: "onerror" names no error
			}
			detail := span.Status().Message()
			evs := span.Events()
			for e := 0; e < evs.Len(); e++ {
				if evs.At(e).Name() == exceptionEvent {
					detail = strings.TrimSpace(detail + "\n" + str(evs.At(e).Attributes(), "exception.type") + ": " + str(evs.At(e).Attributes(), "exception.message"))
				}
			}
			q.batch.Events = append(q.batch.Events, store.Event{SessionID: sid, Time: t, Kind: store.KindError, Name: name, URL: url,
				Detail: clip(privacy.ScrubCardsString(detail)), TraceID: traceID, SpanID: spanID, ID: store.PartID(sid, "span", traceID, spanID, "error")})
			// keyed by trace and span id: a retried span counts once
			q.batch.Sessions = append(q.batch.Sessions, store.SessionSummary{SessionID: sid, PartID: store.PartID("span", traceID, spanID, "error"),
				Start: t, End: t, Errors: 1})
		}
		if span.Kind() == ptrace.SpanKindClient && traceID != "" {
			status := str(attrs, "http.response.status_code")
			if status == "" {
				status = str(attrs, "http.status_code")
			}
			method := str(attrs, "http.request.method")
			if method == "" {
				method = str(attrs, "http.method")
			}
			dur := span.EndTimestamp().AsTime().Sub(span.StartTimestamp().AsTime())
			detail := fmt.Sprintf(`{"method":%q,"status":%q,"duration_ms":%d}`, method, status, dur.Milliseconds())
			q.batch.Events = append(q.batch.Events, store.Event{SessionID: sid, Time: t, Kind: store.KindRequest, Name: span.Name(), URL: url,
				Detail: detail, TraceID: traceID, SpanID: spanID, ID: store.PartID(sid, "span", traceID, spanID, "request")})
		}
	}
	for _, rule := range r.rules.MatchSpan(ctx, rs, ss, span) {
		if sid != "" {
			q.retain(sid, rule, t, traceID)
		} else if traceID != "" {
			q.matchByTrace(rule, t, traceID)
		}
	}
}

// ---- helpers ----

// minTime is the earliest time a row may carry (earlier: clamped to now).
var minTimeMs = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// clampMs returns now for a time (unix ms) later than now + max_clock_skew
// or before 1971: rows get a time the tables' TTL handles, never a far
// future partition.
func (q *request) clampMs(ms int64) int64 { return clampMs(ms, q.now, q.r.cfg.MaxClockSkew) }

// clampMs is ms, or now when ms is before minTimeMs or further than skew
// ahead of now.
func clampMs(ms int64, now time.Time, skew time.Duration) int64 {
	if ms > now.Add(skew).UnixMilli() || ms < minTimeMs {
		return now.UnixMilli()
	}
	return ms
}

func (q *request) clamp(t time.Time) time.Time {
	return time.UnixMilli(q.clampMs(t.UnixMilli())).UTC()
}

// str and intAttr read attributes the way every format does.
var (
	str     = formats.Str
	intAttr = formats.Int
)

func first(a, b pcommon.Map, k string) string {
	if v := str(a, k); v != "" {
		return v
	}
	return str(b, k)
}

func has(m pcommon.Map, k string) bool {
	_, ok := m.Get(k)
	return ok
}

func boolAttr(m pcommon.Map, k string) bool {
	v, ok := m.Get(k)
	if !ok {
		return false
	}
	switch v.Type() {
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeStr:
		return v.Str() == "true"
	}
	return false
}

func clip(s string) string {
	if len(s) > maxDetail {
		return s[:maxDetail]
	}
	return s
}
