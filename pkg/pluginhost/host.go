package pluginhost

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
)

// Errors of a plugin folder the host refuses to serve.
var (
	ErrNoPluginJSON   = errors.New("pluginhost: no plugin.json")
	ErrBadPluginJSON  = errors.New("pluginhost: plugin.json is not valid")
	ErrNotAnApp       = errors.New("pluginhost: the root plugin.json is not an app")
	ErrMissingModules = errors.New("pluginhost: plugin has no module.js")
)

// PluginMeta is what Grafana learns about a plugin from its plugin.json and
// where it found it: the part the frontend loader needs.
type PluginMeta struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
	// Dir is the plugin's folder relative to the app's root ("" for the app).
	Dir string `json:"dir"`
	// Module is the URL path of module.js, as Grafana serves it:
	// public/plugins/<app id>/<dir>/module.js.
	Module string `json:"module"`
	// BaseURL is the folder of the module, Grafana's meta.baseUrl.
	BaseURL string `json:"baseUrl"`
}

// Host is the part of Grafana's server a plugin's frontend talks to, for
// tests: it serves the built plugin folder (dist/) under
// /public/plugins/<app id>/ with its nested plugins found by walking the
// folder for plugin.json, a page that loads their module.js with SystemJS and
// Grafana's shared modules (built by tests/pluginhost), and Grafana's data
// source APIs from the backend binary (API).
//
//	GET  /a/<app id>                                  the app's root page
//	GET  /host/<view>?var-<name>=...                   panel | config | query | app
//	GET  /public/plugins/<app id>/...                  dist/
//	GET  /api/plugins/<id>/settings                    plugin meta
//	GET  /api/datasources/uid/<uid>                    data source settings
//	PUT  /api/datasources/uid/<uid>                    save settings (new instance)
//	GET  /api/datasources/uid/<uid>/health             CheckHealth of the backend
//	...  /api/ds/query, /api/datasources/uid/<uid>/resources/...  (API)
type Host struct {
	API *API
	// Dist is the plugin folder Grafana would load (dist/).
	Dist string
	// Shared is the folder with the host page's bundle (host.js, host.css):
	// the shared modules and Grafana's services.
	Shared string
	// SystemJS is node_modules/systemjs/dist (system.js and extras/).
	SystemJS string
	// Icons is @grafana/ui's icon folder (public/build/img/icons in Grafana).
	Icons string

	app     PluginMeta
	plugins []PluginMeta
	mux     *http.ServeMux
}

// Init reads the plugin folder; call it before serving.
func (h *Host) Init() error {
	plugins, err := FindPlugins(h.Dist)
	if err != nil {
		return err
	}
	h.plugins = plugins
	h.app = plugins[0]
	mux := http.NewServeMux()
	mux.Handle("/public/plugins/"+h.app.ID+"/", http.StripPrefix("/public/plugins/"+h.app.ID+"/", noDirs(http.Dir(h.Dist))))
	mux.Handle("/public/build/img/icons/", http.StripPrefix("/public/build/img/icons/", noDirs(http.Dir(h.Icons))))
	mux.Handle("/host/systemjs/", http.StripPrefix("/host/systemjs/", noDirs(http.Dir(h.SystemJS))))
	mux.Handle("/host/assets/", http.StripPrefix("/host/assets/", noDirs(http.Dir(h.Shared))))
	mux.HandleFunc("GET /a/{id}", h.page)
	mux.HandleFunc("GET /a/{id}/{rest...}", h.page)
	mux.HandleFunc("GET /host/{view}", h.page)
	mux.HandleFunc("GET /api/plugins/{id}/settings", h.pluginSettings)
	mux.HandleFunc("GET /api/datasources/uid/{uid}", h.datasource)
	mux.HandleFunc("PUT /api/datasources/uid/{uid}", h.saveDatasource)
	mux.HandleFunc("GET /api/datasources/uid/{uid}/health", h.health)
	mux.Handle("/", h.API) // /api/ds/query and resources
	h.mux = mux
	return nil
}

func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Plugins is the app and its nested plugins, the app first.
func (h *Host) Plugins() []PluginMeta { return h.plugins }

// FindPlugins walks dist for plugin.json files as Grafana's plugin finder
// does: the one at the root is the app, every other one a nested plugin
// served from the app's folder.
func FindPlugins(dist string) ([]PluginMeta, error) {
	var app *PluginMeta
	var nested []PluginMeta
	err := filepath.WalkDir(dist, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "plugin.json" {
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var m PluginMeta
		if err := json.Unmarshal(raw, &m); err != nil || m.ID == "" || m.Type == "" {
			return fmt.Errorf("%w: %s: %v", ErrBadPluginJSON, p, err)
		}
		rel, _ := filepath.Rel(dist, filepath.Dir(p))
		m.Dir = filepath.ToSlash(rel)
		if m.Dir == "." {
			m.Dir = ""
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "module.js")); err != nil {
			return fmt.Errorf("%w: %s", ErrMissingModules, m.ID)
		}
		if m.Dir == "" {
			app = &m
		} else {
			nested = append(nested, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if app == nil {
		return nil, fmt.Errorf("%w in %s", ErrNoPluginJSON, dist)
	}
	if app.Type != "app" {
		return nil, fmt.Errorf("%w: %s is a %s", ErrNotAnApp, app.ID, app.Type)
	}
	sort.Slice(nested, func(i, j int) bool { return nested[i].Dir < nested[j].Dir })
	out := append([]PluginMeta{*app}, nested...)
	for i := range out {
		out[i].BaseURL = path.Join("public/plugins", app.ID, out[i].Dir)
		out[i].Module = out[i].BaseURL + "/module.js"
	}
	return out, nil
}

func (h *Host) byID(id string) (PluginMeta, bool) {
	for _, p := range h.plugins {
		if p.ID == id {
			return p, true
		}
	}
	return PluginMeta{}, false
}

// datasourceSettings is Grafana's DataSourceSettings JSON (what
// /api/datasources/uid/<uid> answers and a config editor edits).
type datasourceSettings struct {
	ID             int64             `json:"id"`
	UID            string            `json:"uid"`
	OrgID          int64             `json:"orgId"`
	Name           string            `json:"name"`
	Type           string            `json:"type"`
	TypeName       string            `json:"typeName"`
	Access         string            `json:"access"`
	URL            string            `json:"url"`
	IsDefault      bool              `json:"isDefault"`
	JSONData       json.RawMessage   `json:"jsonData"`
	SecureJSONData map[string]string `json:"secureJsonData,omitempty"`
	// SecureJSONFields says which secrets are set, never their values.
	SecureJSONFields map[string]bool `json:"secureJsonFields"`
	ReadOnly         bool            `json:"readOnly"`
	Version          int64           `json:"version"`
}

func (h *Host) currentDatasource() datasourceSettings {
	s := h.API.CurrentSettings()
	fields := map[string]bool{}
	for k := range s.DecryptedSecureJsonData {
		fields[k] = true
	}
	jsonData := json.RawMessage(s.JsonData)
	if len(jsonData) == 0 {
		jsonData = json.RawMessage("{}")
	}
	return datasourceSettings{
		ID: s.Id, UID: s.Uid, OrgID: 1, Name: s.Name, Type: h.API.PluginID, TypeName: "Session Replay",
		Access: "proxy", URL: s.Url, IsDefault: true, JSONData: jsonData, SecureJSONFields: fields,
		Version: s.LastUpdatedMS,
	}
}

func (h *Host) datasource(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("uid") != h.API.CurrentSettings().Uid {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Data source not found"})
		return
	}
	writeJSON(w, http.StatusOK, h.currentDatasource())
}

// saveDatasource stores what a config editor sends, as Grafana's PUT does:
// secrets sent replace the stored ones, others are kept; the new version makes
// the backend build a new instance with these settings on its next call.
func (h *Host) saveDatasource(w http.ResponseWriter, r *http.Request) {
	old := h.API.CurrentSettings()
	if r.PathValue("uid") != old.Uid {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Data source not found"})
		return
	}
	var in datasourceSettings
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "bad data source body: " + err.Error()})
		return
	}
	if len(in.JSONData) == 0 || !json.Valid(in.JSONData) {
		in.JSONData = json.RawMessage("{}")
	}
	secrets := map[string]string{}
	for k, v := range old.DecryptedSecureJsonData {
		secrets[k] = v
	}
	for k, v := range in.SecureJSONData {
		secrets[k] = v
	}
	name := in.Name
	if name == "" {
		name = old.Name
	}
	next := &pluginv2.DataSourceInstanceSettings{
		Id: old.Id, Uid: old.Uid, Name: name, Url: in.URL, JsonData: in.JSONData,
		DecryptedSecureJsonData: secrets, LastUpdatedMS: old.LastUpdatedMS + 1,
	}
	h.API.ReplaceSettings(next)
	writeJSON(w, http.StatusOK, map[string]any{"message": "Datasource updated", "id": next.Id, "name": next.Name, "datasource": h.currentDatasource()})
}

// health runs the backend's CheckHealth with the current settings and answers
// as Grafana does: 200 with status OK, 400 with the plugin's message otherwise.
func (h *Host) health(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("uid") != h.API.CurrentSettings().Uid {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Data source not found"})
		return
	}
	res, err := h.API.Plugin.Diagnostics.CheckHealth(r.Context(), &pluginv2.CheckHealthRequest{PluginContext: h.API.pluginContext()})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "ERROR", "message": "plugin: " + err.Error()})
		return
	}
	status := strings.TrimPrefix(res.Status.String(), "HEALTH_")
	code := http.StatusOK
	if res.Status != pluginv2.CheckHealthResponse_OK {
		code = http.StatusBadRequest
	}
	writeJSON(w, code, map[string]string{"status": status, "message": res.Message})
}

func (h *Host) pluginSettings(w http.ResponseWriter, r *http.Request) {
	p, ok := h.byID(r.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Plugin not found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": p.ID, "type": p.Type, "name": p.Name, "enabled": true, "pinned": true,
		"baseUrl": p.BaseURL, "module": p.Module, "jsonData": map[string]any{}, "info": map[string]any{},
	})
}

// bootData is what the host page starts with, like Grafana's
// window.grafanaBootData: the plugins with their module URLs and the data
// source's settings.
type bootData struct {
	// Settings and User are read by @grafana/runtime's config when it loads.
	Settings   map[string]any     `json:"settings"`
	User       map[string]any     `json:"user"`
	View       string             `json:"view"`
	AppID      string             `json:"appId"`
	Plugins    []PluginMeta       `json:"plugins"`
	Datasource datasourceSettings `json:"datasource"`
}

var hostPage = template.Must(template.New("host").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>plugin host</title>
<base href="/">
<link rel="stylesheet" href="/host/assets/host.css">
<script>window.grafanaBootData = {{.}};</script>
<script src="/host/systemjs/system.js"></script>
<script src="/host/systemjs/extras/amd.js"></script>
<script src="/host/systemjs/extras/named-register.js"></script>
</head>
<body style="margin:0"><div id="root"></div>
<script type="module" src="/host/assets/host.js"></script>
</body></html>`))

func (h *Host) page(w http.ResponseWriter, r *http.Request) {
	view := r.PathValue("view")
	if id := r.PathValue("id"); id != "" {
		if id != h.app.ID {
			http.NotFound(w, r)
			return
		}
		view = "app"
	}
	switch view {
	case "app", "panel", "config", "query":
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = hostPage.Execute(w, bootData{
		Settings: map[string]any{"appUrl": "http://" + r.Host + "/", "appSubUrl": "", "featureToggles": map[string]bool{},
			"buildInfo": map[string]any{"version": "13.0.0", "edition": "Open Source", "env": "production"}, "namespace": "default",
			"datasources": map[string]any{}, "panels": map[string]any{}, "apps": map[string]any{}},
		User: map[string]any{"id": 1, "login": "admin", "orgId": 1, "orgRole": "Admin", "isSignedIn": true, "theme": "dark",
			"timezone": "utc", "locale": "en-US", "language": "en-US"},
		View: view, AppID: h.app.ID, Plugins: h.plugins, Datasource: h.currentDatasource()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// noDirs serves files only: no directory listings.
func noDirs(fsys http.FileSystem) http.Handler {
	files := http.FileServer(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
