package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// queryStats answers queryType "stats": sessions, retained and error
// sessions per interval (the query's intervalMs), counted in the interval in
// which each session started.
func (d *Datasource) queryStats(ctx context.Context, q backend.DataQuery, m queryModel) (data.Frames, error) {
	span := q.TimeRange.To.Sub(q.TimeRange.From)
	step := q.Interval
	if step <= 0 {
		points := q.MaxDataPoints
		if points <= 0 {
			points = 1000
		}
		step = span / time.Duration(points)
	}
	step = step.Truncate(time.Millisecond)
	if step < time.Millisecond {
		step = time.Millisecond
	}
	var notice *data.Notice
	if max := time.Duration(d.settings.MaxRows); span/step+1 > max {
		wanted := step
		step = (span/(max-1) + time.Millisecond).Truncate(time.Millisecond)
		notice = &data.Notice{Severity: data.NoticeSeverityInfo,
			Text: fmt.Sprintf("interval %s widened to %s to stay within maxRows (%d points)", wanted, step, d.settings.MaxRows)}
	}
	points, err := d.reader.SessionStats(ctx, m.filter(q), step)
	if err != nil {
		return nil, downstream(err)
	}
	n := len(points)
	times := make([]time.Time, n)
	sessions, retained, errs := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, p := range points {
		times[i], sessions[i], retained[i], errs[i] = p.Time, int64(p.Sessions), int64(p.Retained), int64(p.ErrorSessions)
	}
	f := data.NewFrame("stats",
		data.NewField("time", nil, times),
		data.NewField("sessions", nil, sessions),
		data.NewField("retained", nil, retained),
		data.NewField("error_sessions", nil, errs),
	)
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}, PreferredVisualization: data.VisTypeGraph}
	addNotice(f, notice)
	return data.Frames{f}, nil
}
