package plugin

import (
	"context"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// QueryTypeSession is the details of one session (the replay panel's
// details drawer): one row of its summary, with every page it visited.
const QueryTypeSession = "session"

// querySession answers queryType "session". It reads the session's summary
// whatever the time range (a session opened from a link may lie outside the
// dashboard's range); an unknown session is an empty frame, not an error.
func (d *Datasource) querySession(ctx context.Context, _ backend.DataQuery, m queryModel) (data.Frames, error) {
	sid := strings.TrimSpace(m.SessionID)
	if sid == "" {
		return nil, badQueryf("session: sessionId is required")
	}
	s, found, err := d.reader.Session(ctx, sid)
	if err != nil {
		return nil, downstream(err)
	}
	f := data.NewFrame("session",
		data.NewField("session_id", nil, []string{}),
		data.NewField("start", nil, []time.Time{}),
		data.NewField("end", nil, []time.Time{}),
		data.NewField("duration_ms", nil, []int64{}).SetConfig(&data.FieldConfig{Unit: "ms"}),
		data.NewField("user_id", nil, []string{}),
		data.NewField("device", nil, []string{}),
		data.NewField("os", nil, []string{}),
		data.NewField("browser", nil, []string{}),
		data.NewField("country", nil, []string{}),
		data.NewField("entry_url", nil, []string{}),
		data.NewField("urls", nil, []string{}),
		data.NewField("pages", nil, []int64{}),
		data.NewField("clicks", nil, []int64{}),
		data.NewField("errors", nil, []int64{}),
		data.NewField("service", nil, []string{}),
	)
	if found {
		// urls is one string, one URL a line: a data frame field holds scalars
		f.AppendRow(s.SessionID, s.Start, s.End, s.End.Sub(s.Start).Milliseconds(), s.UserID, s.Device, s.OS, s.Browser,
			s.Country, s.EntryURL, strings.Join(s.URLs, "\n"), int64(s.PageViews), int64(s.Clicks), int64(s.Errors), s.ServiceName)
	}
	return data.Frames{f}, nil
}
