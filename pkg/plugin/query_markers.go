package plugin

import (
	"context"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/seed/sessionreplay/pkg/store"
)

// queryMarkers answers queryType "markers": the timeline of one session
// within the time range. trace_id links to the traces data source.
func (d *Datasource) queryMarkers(ctx context.Context, q backend.DataQuery, m queryModel) (data.Frames, error) {
	sid := strings.TrimSpace(m.SessionID)
	if sid == "" {
		return nil, badQueryf("markers: sessionId is required")
	}
	limit, notice, err := d.limit(m.Limit, d.settings.MaxRows)
	if err != nil {
		return nil, err
	}
	markers, err := d.reader.Markers(ctx, store.MarkersQuery{
		TimeRange: store.TimeRange{From: q.TimeRange.From, To: q.TimeRange.To},
		SessionID: sid,
		Kinds:     m.Kinds,
		Limit:     limit,
	})
	if err != nil {
		return nil, downstream(err)
	}
	n := len(markers)
	times := make([]time.Time, n)
	offsets := make([]int64, n)
	kinds, names, urls, details, traces, spans := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, mk := range markers {
		times[i], offsets[i] = mk.Time, mk.OffsetMs
		kinds[i], names[i], urls[i], details[i], traces[i], spans[i] = mk.Kind, mk.Name, mk.URL, mk.Detail, mk.TraceID, mk.SpanID
	}
	traceField := data.NewField("trace_id", nil, traces)
	if link := d.traceLink(); link != nil {
		traceField.SetConfig(&data.FieldConfig{Links: []data.DataLink{*link}})
	}
	f := data.NewFrame("markers",
		data.NewField("time", nil, times),
		data.NewField("offset_ms", nil, offsets).SetConfig(&data.FieldConfig{Unit: "ms"}),
		data.NewField("kind", nil, kinds),
		data.NewField("name", nil, names),
		data.NewField("url", nil, urls),
		data.NewField("detail", nil, details),
		traceField,
		data.NewField("span_id", nil, spans),
	)
	addNotice(f, notice)
	return data.Frames{f}, nil
}

// traceLink is the internal data link of trace ids: Explore on the traces
// data source with the trace id as the query (Tempo's TraceQL accepts a bare
// trace id). No link without a configured traces data source.
func (d *Datasource) traceLink() *data.DataLink {
	uid := d.settings.TracesDatasourceUID
	if uid == "" {
		return nil
	}
	return &data.DataLink{
		Title: "View trace",
		Internal: &data.InternalDataLink{
			DatasourceUID: uid,
			Query: map[string]any{
				"refId":     "A",
				"queryType": "traceql",
				"query":     "${__value.raw}",
			},
		},
	}
}
