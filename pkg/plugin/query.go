package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/seed/sessionreplay/pkg/store"
)

// errBadQuery marks a query model the plugin cannot use (the user's error).
var errBadQuery = errors.New("bad query")

func badQueryf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errBadQuery, fmt.Sprintf(format, a...))
}

// queryModel is the query JSON of docs/plugin-api.md.
type queryModel struct {
	QueryType    string         `json:"queryType"`
	Search       string         `json:"search"`
	HasErrors    bool           `json:"hasErrors"`
	RetainedOnly bool           `json:"retainedOnly"`
	AdhocFilters []store.Filter `json:"adhocFilters"`
	OrderBy      string         `json:"orderBy"`
	OrderDir     string         `json:"orderDir"`
	Limit        *flexNum       `json:"limit"`
	Offset       *flexNum       `json:"offset"`
	SessionID    string         `json:"sessionId"`
	Kinds        []string       `json:"kinds"`
	TraceID      string         `json:"traceId"`
}

// Defaults of the query model.
const DefaultLimit = 100

func parseQuery(q backend.DataQuery) (queryModel, error) {
	var m queryModel
	if len(q.JSON) > 0 {
		if err := json.Unmarshal(q.JSON, &m); err != nil {
			return m, badQueryf("query JSON: %v", err)
		}
	}
	return m, nil
}

func (m queryModel) filter(q backend.DataQuery) store.SessionFilter {
	return store.SessionFilter{
		TimeRange:    store.TimeRange{From: q.TimeRange.From, To: q.TimeRange.To},
		Filters:      m.AdhocFilters,
		Search:       m.Search,
		HasErrors:    m.HasErrors,
		RetainedOnly: m.RetainedOnly,
	}
}

// queryFunc answers one query with frames (and notices on them).
type queryFunc func(ctx context.Context, q backend.DataQuery, m queryModel) (data.Frames, error)

// perQuery runs fn for each query of the request, each under the query
// timeout, and turns its errors into classified per-query error responses.
func (d *Datasource) perQuery(fn queryFunc) backend.QueryDataHandlerFunc {
	return func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		resp := backend.NewQueryDataResponse()
		for _, q := range req.Queries {
			m, err := parseQuery(q)
			if err == nil {
				qctx, cancel := context.WithTimeout(ctx, d.settings.QueryTimeout)
				var frames data.Frames
				frames, err = fn(qctx, q, m)
				cancel()
				if err == nil {
					for _, f := range frames {
						f.RefID = q.RefID
					}
					resp.Responses[q.RefID] = backend.DataResponse{Frames: frames, Status: backend.StatusOK}
					continue
				}
			}
			resp.Responses[q.RefID] = errorResponse(err)
		}
		return resp, nil
	}
}

// limit applies the default and the maxRows bound; the notice says when the
// bound cut the page.
func (d *Datasource) limit(n *flexNum, def int) (int, *data.Notice, error) {
	if n == nil || !n.set {
		if def > d.settings.MaxRows {
			def = d.settings.MaxRows
		}
		return def, nil, nil
	}
	if n.v < 1 {
		return 0, nil, badQueryf("limit must be at least 1")
	}
	if n.v > float64(d.settings.MaxRows) {
		return d.settings.MaxRows, &data.Notice{Severity: data.NoticeSeverityWarning,
			Text: fmt.Sprintf("limit %.0f is above the data source's maxRows: %d rows at most", n.v, d.settings.MaxRows)}, nil
	}
	return int(n.v), nil, nil
}

func offset(n *flexNum) (int, error) {
	if n == nil || !n.set {
		return 0, nil
	}
	if n.v < 0 {
		return 0, badQueryf("offset must not be negative")
	}
	return int(n.v), nil
}

func addNotice(f *data.Frame, n *data.Notice) {
	if n == nil {
		return
	}
	if f.Meta == nil {
		f.Meta = &data.FrameMeta{}
	}
	f.Meta.Notices = append(f.Meta.Notices, *n)
}
