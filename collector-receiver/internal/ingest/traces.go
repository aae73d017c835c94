package ingest

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/pkg/store"
)

// ConsumeTraces stores a traces request's rows: trace links, error and
// request markers of spans carrying session.id, and span rule decisions
// (pending matches for spans without one). The spans themselves are not
// changed.
func (g *Ingester) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	q := g.newRequest()
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
				g.span(ctx, q, rs, ss, span, service)
			}
		}
	}
	return q.commit(ctx, 0)
}

func (g *Ingester) span(ctx context.Context, q *request, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span, service string) {
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
			g.deps.Decisions.LinkTrace(traceID, sid)
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
	for _, rule := range g.deps.Rules.MatchSpan(ctx, rs, ss, span) {
		if sid != "" {
			q.retain(sid, rule, t, traceID)
		} else if traceID != "" {
			q.matchByTrace(rule, t, traceID)
		}
	}
}
