package pluginhost

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
)

// API serves Grafana's data source HTTP APIs from a plugin instance, so a
// frontend in a browser talks to the real backend binary:
//
//	POST /api/ds/query                                  -> QueryData
//	ANY  /api/datasources/uid/<uid>/resources/<path>    -> CallResource (streamed)
//
// Everything else goes to Static (the page under test), if set.
type API struct {
	Plugin   *Plugin
	Settings *pluginv2.DataSourceInstanceSettings
	PluginID string
	Static   http.Handler

	// mu guards Settings, which Host replaces when a config editor saves.
	mu sync.RWMutex
}

// CurrentSettings is the data source's settings as the plugin sees them now.
func (a *API) CurrentSettings() *pluginv2.DataSourceInstanceSettings {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.Settings
}

// ReplaceSettings swaps the settings; a later LastUpdatedMS makes the SDK's
// instance manager build a new data source instance, as after a save in Grafana.
func (a *API) ReplaceSettings(s *pluginv2.DataSourceInstanceSettings) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Settings = s
}

func (a *API) pluginContext() *pluginv2.PluginContext {
	return &pluginv2.PluginContext{OrgId: 1, PluginId: a.PluginID, DataSourceInstanceSettings: a.CurrentSettings()}
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := "/api/datasources/uid/" + a.CurrentSettings().Uid + "/resources/"
	switch {
	case r.URL.Path == "/api/ds/query" && r.Method == http.MethodPost:
		a.query(w, r)
	case strings.HasPrefix(r.URL.Path, prefix):
		a.resource(w, r, strings.TrimPrefix(r.URL.Path, prefix))
	case a.Static != nil:
		a.Static.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// query turns Grafana's /api/ds/query body into a QueryDataRequest, as
// Grafana's query service does, and answers with Grafana's JSON of frames.
func (a *API) query(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Queries []json.RawMessage `json:"queries"`
		From    string            `json:"from"`
		To      string            `json:"to"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad query body: "+err.Error(), http.StatusBadRequest)
		return
	}
	from, err1 := strconv.ParseInt(body.From, 10, 64)
	to, err2 := strconv.ParseInt(body.To, 10, 64)
	if err1 != nil || err2 != nil {
		http.Error(w, "from/to must be unix milliseconds", http.StatusBadRequest)
		return
	}
	req := &pluginv2.QueryDataRequest{PluginContext: a.pluginContext(), Headers: map[string]string{}}
	for _, raw := range body.Queries {
		var q struct {
			RefID         string  `json:"refId"`
			QueryType     string  `json:"queryType"`
			IntervalMs    float64 `json:"intervalMs"`
			MaxDataPoints int64   `json:"maxDataPoints"`
		}
		if err := json.Unmarshal(raw, &q); err != nil {
			http.Error(w, "bad query: "+err.Error(), http.StatusBadRequest)
			return
		}
		if q.IntervalMs == 0 {
			q.IntervalMs = 60_000
		}
		if q.MaxDataPoints == 0 {
			q.MaxDataPoints = 1000
		}
		req.Queries = append(req.Queries, &pluginv2.DataQuery{
			RefId: q.RefID, QueryType: q.QueryType, IntervalMS: int64(q.IntervalMs), MaxDataPoints: q.MaxDataPoints,
			TimeRange: &pluginv2.TimeRange{FromEpochMS: from, ToEpochMS: to}, Json: raw,
		})
	}
	resp, err := a.Plugin.Data.QueryData(r.Context(), req)
	if err != nil {
		http.Error(w, "plugin: "+err.Error(), http.StatusBadGateway)
		return
	}
	out, err := backend.FromProto().QueryDataResponse(resp)
	if err != nil {
		http.Error(w, "plugin response: "+err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// resource forwards a request to CallResource and streams the answer back
// message by message, as Grafana does.
func (a *API) resource(w http.ResponseWriter, r *http.Request, path string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	headers := map[string]*pluginv2.StringList{}
	for k, v := range r.Header {
		headers[k] = &pluginv2.StringList{Values: v}
	}
	u := path
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	stream, err := a.Plugin.Resource.CallResource(r.Context(), &pluginv2.CallResourceRequest{
		PluginContext: a.pluginContext(), Path: path, Method: r.Method, Url: u, Headers: headers, Body: body,
	})
	if err != nil {
		http.Error(w, "plugin: "+err.Error(), http.StatusBadGateway)
		return
	}
	wroteHeader := false
	flusher, _ := w.(http.Flusher)
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !wroteHeader {
				http.Error(w, "plugin: "+err.Error(), http.StatusBadGateway)
			}
			return
		}
		if !wroteHeader {
			for k, v := range msg.Headers {
				if http.CanonicalHeaderKey(k) == "Set-Cookie" {
					continue // Grafana never passes a plugin's cookies on
				}
				for _, s := range v.Values {
					w.Header().Add(k, s)
				}
			}
			code := int(msg.Code)
			if code == 0 {
				code = http.StatusOK
			}
			grafanaCacheControl(w.Header())
			w.WriteHeader(code)
			wroteHeader = true
		}
		if _, err := w.Write(msg.Body); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	if !wroteHeader {
		http.Error(w, fmt.Sprintf("plugin sent no response for %s", path), http.StatusBadGateway)
	}
}

// grafanaCacheControl does to a resource response's headers what Grafana's
// server does (grafana/grafana pkg/middleware/middleware.go,
// AddDefaultResponseHeaders): Cache-Control becomes no-store unless the
// plugin's says "private" and not "public" and X-Grafana-Cache is set, so a
// test sees the caching a browser behind a real Grafana gets.
func grafanaCacheControl(h http.Header) {
	private, public := false, false
	for _, v := range h.Values("Cache-Control") {
		private = private || strings.Contains(v, "private")
		public = public || strings.Contains(v, "public")
	}
	if !private || public || h.Get("X-Grafana-Cache") == "" {
		h.Set("Cache-Control", "no-store")
		h.Del("Pragma")
		h.Del("Expires")
	}
}
