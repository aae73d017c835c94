package plugin

import (
	"context"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/seed/sessionreplay/pkg/store"
)

// queryTraceSession answers queryType "traceSession": the recorded session(s)
// of a trace, and where in the replay the trace happened.
func (d *Datasource) queryTraceSession(ctx context.Context, q backend.DataQuery, m queryModel) (data.Frames, error) {
	tid := strings.TrimSpace(m.TraceID)
	if tid == "" {
		return nil, badQueryf("traceSession: traceId is required")
	}
	limit, notice, err := d.limit(m.Limit, d.settings.MaxRows)
	if err != nil {
		return nil, err
	}
	rows, err := d.reader.TraceSessions(ctx, tid, store.TimeRange{From: q.TimeRange.From, To: q.TimeRange.To}, limit)
	if err != nil {
		return nil, downstream(err)
	}
	n := len(rows)
	traces, sessions := make([]string, n), make([]string, n)
	starts, ends, spans := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	offsets := make([]int64, n)
	for i, r := range rows {
		traces[i], sessions[i], starts[i], ends[i], spans[i], offsets[i] = r.TraceID, r.SessionID, r.SessionStart, r.SessionEnd, r.SpanTime, r.OffsetMs
	}
	f := data.NewFrame("trace_session",
		data.NewField("trace_id", nil, traces),
		data.NewField("session_id", nil, sessions),
		data.NewField("session_start", nil, starts),
		data.NewField("session_end", nil, ends),
		data.NewField("span_time", nil, spans),
		data.NewField("offset_ms", nil, offsets).SetConfig(&data.FieldConfig{Unit: "ms"}),
	)
	addNotice(f, notice)
	return data.Frames{f}, nil
}
