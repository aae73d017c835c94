// Package plugin is the Grafana backend data source of session replay: the
// session list, statistics, timeline markers and trace -> session queries,
// the replay event stream and the ad hoc filter resources, read from the
// ClickHouse tables of pkg/store (contract: docs/plugin-api.md).
package plugin

import (
	"context"
	"errors"
	"net/http"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"

	"github.com/seed/sessionreplay/pkg/store"
)

// PluginID is the id of the data source in plugin.json.
const PluginID = "seed-sessionreplay-datasource"

// Query types (docs/plugin-api.md).
const (
	QueryTypeSessions     = "sessions"
	QueryTypeStats        = "stats"
	QueryTypeMarkers      = "markers"
	QueryTypeTraceSession = "traceSession"
)

// Datasource is one configured instance: its settings, a connection pool
// and the handlers. Grafana builds it once per settings version.
type Datasource struct {
	settings  Settings
	conn      driver.Conn
	reader    *store.Reader
	queries   *datasource.QueryTypeMux
	resources backend.CallResourceHandler
}

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// NewDatasource is the instance factory of datasource.Manage. It parses the
// settings and opens a lazy connection pool; nothing is dialled until the
// first query or health check.
func NewDatasource(_ context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	settings, err := LoadSettings(s)
	if err != nil {
		return nil, err
	}
	return New(settings)
}

// New builds a data source from parsed settings.
func New(settings Settings) (*Datasource, error) {
	opts, err := settings.ClickHouseOptions()
	if err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, backend.DownstreamError(err)
	}
	d := &Datasource{settings: settings, conn: conn, reader: store.NewReader(conn, settings.Database)}
	mux := datasource.NewQueryTypeMux()
	mux.HandleFunc(QueryTypeSessions, d.perQuery(d.querySessions))
	mux.HandleFunc(QueryTypeStats, d.perQuery(d.queryStats))
	mux.HandleFunc(QueryTypeMarkers, d.perQuery(d.queryMarkers))
	mux.HandleFunc(QueryTypeTraceSession, d.perQuery(d.queryTraceSession))
	mux.HandleFunc(QueryTypeSession, d.perQuery(d.querySession))
	mux.HandleFunc("", d.unknownQueryType)
	d.queries = mux
	d.resources = httpadapter.New(d.routes())
	return d, nil
}

// Dispose closes the connection pool when Grafana replaces the instance.
func (d *Datasource) Dispose() { _ = d.conn.Close() }

// QueryData runs each query with the handler of its query type.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	return d.queries.QueryData(ctx, req)
}

// CallResource serves tag-keys, tag-values and the replay stream.
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return d.resources.CallResource(ctx, req, sender)
}

func (d *Datasource) unknownQueryType(_ context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		resp.Responses[q.RefID] = backend.DataResponse{
			Error:       errors.New("unknown queryType \"" + q.QueryType + "\": use sessions, stats, markers, traceSession or session"),
			ErrorSource: backend.ErrorSourceDownstream,
			Status:      backend.StatusBadRequest,
		}
	}
	return resp, nil
}

// errorResponse classifies an error: a bad query is the user's (400,
// downstream); a timeout or a ClickHouse/network failure is downstream; the
// rest is a plugin bug.
func errorResponse(err error) backend.DataResponse {
	switch {
	case errors.Is(err, store.ErrInvalidQuery) || errors.Is(err, errBadQuery):
		return backend.DataResponse{Error: err, ErrorSource: backend.ErrorSourceDownstream, Status: backend.StatusBadRequest}
	case errors.Is(err, context.DeadlineExceeded):
		return backend.DataResponse{Error: err, ErrorSource: backend.ErrorSourceDownstream, Status: backend.StatusTimeout}
	case backend.IsDownstreamError(err):
		return backend.DataResponse{Error: err, ErrorSource: backend.ErrorSourceDownstream, Status: backend.StatusBadGateway}
	default:
		return backend.DataResponse{Error: err, ErrorSource: backend.ErrorSourcePlugin, Status: backend.StatusInternal}
	}
}

// httpStatus maps the same classes to resource (HTTP) status codes.
func httpStatus(err error) int {
	switch {
	case errors.Is(err, store.ErrInvalidQuery) || errors.Is(err, errBadQuery):
		return http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case backend.IsDownstreamError(err):
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

// downstream marks an error of the store layer (ClickHouse or the network)
// as downstream, keeping invalid-query errors recognisable.
func downstream(err error) error {
	if err == nil {
		return nil
	}
	return backend.DownstreamError(err)
}
