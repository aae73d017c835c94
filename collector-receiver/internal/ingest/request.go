package ingest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/seed/sessionreplay/pkg/store"
)

// request collects the rows and decisions of one OTLP request.
type request struct {
	g        *Ingester
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

func (g *Ingester) newRequest() *request {
	return &request{g: g, now: time.Now(), sessions: map[string]bool{}}
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
	if q.g.deps.Decisions.Claim(session, rule) {
		q.decs = append(q.decs, store.Decision{SessionID: session, Rule: rule, TriggerTime: t, TraceID: traceID})
	}
}

// matchByTrace handles a rule match on a span or log without session.id:
// through the trace's cached session now, else stored as a pending match
// (with the request's rows) that the sweeper of any replica resolves once
// the trace's session link is stored.
func (q *request) matchByTrace(rule string, t time.Time, traceID string) {
	if s := q.g.deps.Decisions.SessionOfTrace(traceID); s != "" {
		q.retain(s, rule, t, traceID)
		return
	}
	q.batch.Pending = append(q.batch.Pending, store.PendingMatch{TraceID: traceID, Rule: rule, TriggerTime: t, CreatedAt: q.now})
}

// seen notes a session of this request and applies the sample rules.
// Sampling is a function of the session id alone, so it is applied on every
// request (the claim keeps one decision per session and rule): a request
// whose rows failed to store gives its claim back, and the retry samples the
// session again, on this replica or another.
func (q *request) seen(session string) *sessState {
	st := q.g.touch(session, q.now)
	if !q.sessions[session] {
		q.sessions[session] = true
		for _, name := range q.g.deps.Rules.Sample(session) {
			q.retain(session, name, q.now, "")
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
	err := q.g.deps.Write(ctx, &q.batch, bytes+256*q.batch.Len())
	if err != nil {
		q.release()
		return err
	}
	q.g.deps.Decisions.Committed(q.decs)
	return nil
}

// release gives back decisions claimed by a request that fails before commit.
func (q *request) release() {
	for _, d := range q.decs {
		q.g.deps.Decisions.Unclaim(d.SessionID, d.Rule)
	}
}

// refused counts chunks not stored, by reason.
func (g *Ingester) refused(ctx context.Context, n int, reason string) {
	if n > 0 {
		g.deps.Telemetry.ReceiverSessionreplayChunksRefused.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
	}
}

// minTimeMs is the earliest time a row may carry (earlier: clamped to now).
var minTimeMs = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// clampMs returns now for a time (unix ms) later than now + max_clock_skew
// or before 1971: rows get a time the tables' TTL handles, never a far
// future partition.
func (q *request) clampMs(ms int64) int64 { return clampMs(ms, q.now, q.g.cfg.MaxClockSkew) }

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
