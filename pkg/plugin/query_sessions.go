package plugin

import (
	"context"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/seed/sessionreplay/pkg/store"
)

// querySessions answers queryType "sessions": one page of the session list.
func (d *Datasource) querySessions(ctx context.Context, q backend.DataQuery, m queryModel) (data.Frames, error) {
	limit, notice, err := d.limit(m.Limit, DefaultLimit)
	if err != nil {
		return nil, err
	}
	off, err := offset(m.Offset)
	if err != nil {
		return nil, err
	}
	rows, err := d.reader.ListSessions(ctx, store.ListQuery{
		SessionFilter: m.filter(q),
		OrderBy:       m.OrderBy,
		OrderDir:      m.OrderDir,
		Limit:         limit,
		Offset:        off,
	})
	if err != nil {
		return nil, downstream(err)
	}
	f := sessionsFrame(rows)
	addNotice(f, notice)
	return data.Frames{f}, nil
}

func sessionsFrame(rows []store.SessionRow) *data.Frame {
	n := len(rows)
	var (
		ids, users, devices, oss, browsers, countries, entries, rules = make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		starts, ends        = make([]time.Time, n), make([]time.Time, n)
		durations, actives  = make([]int64, n), make([]int64, n)
		pages, clicks, errs = make([]int64, n), make([]int64, n), make([]int64, n)
		rage, dead          = make([]int64, n), make([]int64, n)
	)
	for i, r := range rows {
		ids[i], starts[i], ends[i] = r.SessionID, r.Start, r.End
		durations[i], actives[i] = r.DurationMs, int64(r.ActiveMs)
		users[i], devices[i], oss[i], browsers[i], countries[i] = r.UserID, r.Device, r.OS, r.Browser, r.Country
		entries[i], pages[i], clicks[i], errs[i], rules[i] = r.EntryURL, int64(r.Pages), int64(r.Clicks), int64(r.Errors), r.RetainedRule
		rage[i], dead[i] = int64(r.RageClicks), int64(r.DeadClicks)
	}
	ms := &data.FieldConfig{Unit: "ms"}
	f := data.NewFrame("sessions",
		data.NewField("session_id", nil, ids),
		data.NewField("start", nil, starts),
		data.NewField("end", nil, ends),
		data.NewField("duration_ms", nil, durations).SetConfig(ms),
		data.NewField("active_ms", nil, actives).SetConfig(ms),
		data.NewField("user_id", nil, users),
		data.NewField("device", nil, devices),
		data.NewField("os", nil, oss),
		data.NewField("browser", nil, browsers),
		data.NewField("country", nil, countries),
		data.NewField("entry_url", nil, entries),
		data.NewField("pages", nil, pages),
		data.NewField("clicks", nil, clicks),
		data.NewField("rage_clicks", nil, rage),
		data.NewField("dead_clicks", nil, dead),
		data.NewField("errors", nil, errs),
		data.NewField("retained_rule", nil, rules),
	)
	f.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable}
	return f
}
