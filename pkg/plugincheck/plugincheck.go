// Package plugincheck checks a built Grafana app plugin folder (dist/) and the
// provisioning that ships with it offline, the way Grafana's plugin loader and
// its plugin validator judge them: plugin.json per type, the app's includes
// against the nested plugins found on disk, metadata paths, backend
// executables' names and modes, and provisioned dashboards whose panels and
// data sources must resolve to plugins in dist/ (read with the types of
// grafana-foundation-sdk). Every problem found is returned, joined.
package plugincheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"gopkg.in/yaml.v3"
)

// Sentinel errors, one per kind of check; the joined error wraps each found.
var (
	ErrPluginJSON   = errors.New("plugin.json is not valid for its type")
	ErrIncludes     = errors.New("the app's includes do not match its nested plugins")
	ErrMetadataPath = errors.New("a metadata path does not exist")
	ErrExecutable   = errors.New("backend executable is not as Grafana expects")
	ErrDashboard    = errors.New("a provisioned dashboard does not resolve")
)

// Plugin is one plugin.json found in the folder.
type Plugin struct {
	// Dir is the plugin's folder relative to the app ("" for the app).
	Dir  string
	JSON Manifest
}

// Manifest is the part of plugin.json the checks read.
type Manifest struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Name       string `json:"name"`
	Backend    bool   `json:"backend"`
	Executable string `json:"executable"`
	Info       struct {
		Version string `json:"version"`
		Updated string `json:"updated"`
		Author  struct {
			Name string `json:"name"`
		} `json:"author"`
		Logos struct {
			Small string `json:"small"`
			Large string `json:"large"`
		} `json:"logos"`
		Screenshots []struct {
			Name string `json:"name"`
			Path string `json:"path"`
		} `json:"screenshots"`
	} `json:"info"`
	Includes []struct {
		Type string `json:"type"`
		Name string `json:"name"`
		Path string `json:"path"`
	} `json:"includes"`
	Dependencies struct {
		GrafanaDependency string `json:"grafanaDependency"`
	} `json:"dependencies"`
}

// Platforms Grafana runs backend plugins on, as <os>_<arch>.
var Platforms = []string{"darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm", "linux_arm64", "windows_amd64"}

var (
	// Plugin ids are <org>-<name>-<type>, lower case.
	idPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$`)
	// A semver range as Grafana reads grafanaDependency, e.g. ">=11.6.0".
	dependencyPattern = regexp.MustCompile(`^(>=|>|\^|~|=)?\s*\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\s*(<|<=)\s*\d+\.\d+\.\d+)?$`)
	placeholder       = regexp.MustCompile(`%[A-Z_]+%`)
)

// Load finds every plugin.json under dist, the app first.
func Load(dist string) ([]Plugin, error) {
	var out []Plugin
	err := filepath.WalkDir(dist, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "plugin.json" {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var m Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrPluginJSON, p, err)
		}
		rel, _ := filepath.Rel(dist, filepath.Dir(p))
		if rel == "." {
			rel = ""
		}
		out = append(out, Plugin{Dir: filepath.ToSlash(rel), JSON: m})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	if len(out) == 0 || out[0].Dir != "" {
		return nil, fmt.Errorf("%w: no plugin.json at the root of %s", ErrPluginJSON, dist)
	}
	return out, nil
}

// Artifact runs every check of the plugin folder; platforms are the <os>_<arch>
// whose executables must be present (names of others present are checked too).
func Artifact(dist string, platforms []string) error {
	plugins, err := Load(dist)
	if err != nil {
		return err
	}
	return errors.Join(Manifests(plugins), Includes(plugins), MetadataPaths(dist, plugins), Executables(dist, plugins, platforms))
}

// Manifests checks each plugin.json for its type.
func Manifests(plugins []Plugin) error {
	var errs []error
	bad := func(p Plugin, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: %s (%s/plugin.json): %s", ErrPluginJSON, p.JSON.ID, p.Dir, fmt.Sprintf(format, a...)))
	}
	for i, p := range plugins {
		m := p.JSON
		switch {
		case i == 0 && m.Type != "app":
			bad(p, "the root plugin is a %q, want an app", m.Type)
		case i > 0 && m.Type != "datasource" && m.Type != "panel":
			bad(p, "nested plugin type %q, want datasource or panel", m.Type)
		}
		if !idPattern.MatchString(m.ID) || !strings.HasSuffix(m.ID, "-"+m.Type) {
			bad(p, "id %q is not <org>-<name>-%s", m.ID, m.Type)
		}
		if m.Name == "" || m.Info.Author.Name == "" {
			bad(p, "name and info.author.name are required")
		}
		if m.Info.Version == "" || placeholder.MatchString(m.Info.Version) || placeholder.MatchString(m.Info.Updated) {
			bad(p, "info.version %q / info.updated %q not filled in by the build", m.Info.Version, m.Info.Updated)
		}
		if !dependencyPattern.MatchString(m.Dependencies.GrafanaDependency) {
			bad(p, "dependencies.grafanaDependency %q is not a semver range", m.Dependencies.GrafanaDependency)
		}
		if m.Backend && m.Type != "datasource" && m.Type != "app" {
			bad(p, "a %s cannot have a backend", m.Type)
		}
		if m.Backend && m.Executable == "" {
			bad(p, "backend without an executable")
		}
	}
	return errors.Join(errs...)
}

// Includes checks that the app's includes name every nested plugin by type,
// name and path, and nothing that is not there.
func Includes(plugins []Plugin) error {
	var errs []error
	app := plugins[0].JSON
	declared := map[string]bool{}
	for _, inc := range app.Includes {
		if inc.Type != "datasource" && inc.Type != "panel" {
			continue // pages, dashboards
		}
		found := false
		for _, p := range plugins[1:] {
			if p.JSON.Type == inc.Type && p.JSON.Name == inc.Name && (inc.Path == p.Dir+"/plugin.json" || inc.Path == p.Dir) {
				found, declared[p.Dir] = true, true
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("%w: includes %s %q at %q, which is not a nested plugin", ErrIncludes, inc.Type, inc.Name, inc.Path))
		}
	}
	for _, p := range plugins[1:] {
		if !declared[p.Dir] {
			errs = append(errs, fmt.Errorf("%w: nested %s %s in %s/ is not in includes (want type %q, name %q, path %q)",
				ErrIncludes, p.JSON.Type, p.JSON.ID, p.Dir, p.JSON.Type, p.JSON.Name, p.Dir+"/plugin.json"))
		}
	}
	return errors.Join(errs...)
}

// MetadataPaths checks that logos and screenshots exist beside each plugin.json.
func MetadataPaths(dist string, plugins []Plugin) error {
	var errs []error
	for _, p := range plugins {
		paths := []string{p.JSON.Info.Logos.Small, p.JSON.Info.Logos.Large}
		for _, s := range p.JSON.Info.Screenshots {
			paths = append(paths, s.Path)
		}
		for _, rel := range paths {
			if rel == "" {
				errs = append(errs, fmt.Errorf("%w: %s has an empty logo or screenshot path", ErrMetadataPath, p.JSON.ID))
				continue
			}
			if _, err := os.Stat(filepath.Join(dist, p.Dir, rel)); err != nil {
				errs = append(errs, fmt.Errorf("%w: %s: %s", ErrMetadataPath, p.JSON.ID, filepath.ToSlash(filepath.Join(p.Dir, rel))))
			}
		}
	}
	return errors.Join(errs...)
}

// Executables checks the backend executables: <executable>_<os>_<arch>, .exe on
// Windows only, mode 0755, one for each of platforms; any other file that
// starts with the executable's name is misnamed.
func Executables(dist string, plugins []Plugin, platforms []string) error {
	var errs []error
	for _, p := range plugins {
		if !p.JSON.Backend {
			continue
		}
		dir := filepath.Join(dist, p.Dir)
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		present := map[string]bool{}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasPrefix(name, p.JSON.Executable) {
				continue
			}
			platform, ok := platformOf(strings.TrimPrefix(name, p.JSON.Executable))
			if !ok {
				errs = append(errs, fmt.Errorf("%w: %s/%s is not %s_<os>_<arch>[.exe] for a platform Grafana runs (%v)",
					ErrExecutable, p.Dir, name, p.JSON.Executable, Platforms))
				continue
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			if mode := info.Mode().Perm(); mode != 0o755 {
				errs = append(errs, fmt.Errorf("%w: %s/%s has mode %#o, want 0755", ErrExecutable, p.Dir, name, mode))
			}
			present[platform] = true
		}
		for _, want := range platforms {
			if !present[want] {
				errs = append(errs, fmt.Errorf("%w: %s has no executable for %s (want %s/%s_%s%s)",
					ErrExecutable, p.JSON.ID, want, p.Dir, p.JSON.Executable, want, exeSuffix(want)))
			}
		}
	}
	return errors.Join(errs...)
}

// platformOf reads "_<os>_<arch>[.exe]".
func platformOf(suffix string) (string, bool) {
	for _, pl := range Platforms {
		if suffix == "_"+pl+exeSuffix(pl) {
			return pl, true
		}
	}
	return "", false
}

func exeSuffix(platform string) string {
	if strings.HasPrefix(platform, "windows_") {
		return ".exe"
	}
	return ""
}

// CorePanels are the panel types Grafana ships (no plugin needed).
var CorePanels = []string{"alertlist", "annolist", "barchart", "bargauge", "candlestick", "canvas", "dashlist", "datagrid",
	"flamegraph", "gauge", "geomap", "heatmap", "histogram", "logs", "news", "nodeGraph", "piechart", "row", "stat",
	"state-timeline", "status-history", "table", "text", "timeseries", "traces", "trend", "xychart"}

// CoreDatasources are the data source types Grafana ships.
var CoreDatasources = []string{"alertmanager", "cloudwatch", "elasticsearch", "grafana", "grafana-azure-monitor-datasource",
	"grafana-pyroscope-datasource", "graphite", "influxdb", "jaeger", "loki", "mssql", "mysql", "opentsdb", "grafana-postgresql-datasource",
	"prometheus", "stackdriver", "tempo", "zipkin", "datasource", "__expr__"}

// Dashboards checks every dashboard JSON under provisioning/dashboards against
// the provisioned data sources (provisioning/datasources/*.yaml) and the
// plugins: each panel's type is a core panel or a panel in dist/, each data
// source reference (panel, target, variable) names a provisioned data source
// of the same type, whose type is a core data source or one in dist/.
func Dashboards(provisioning string, plugins []Plugin) error {
	inDist := map[string]string{}
	for _, p := range plugins {
		inDist[p.JSON.ID] = p.JSON.Type
	}
	provisioned, err := provisionedDatasources(filepath.Join(provisioning, "datasources"))
	if err != nil {
		return err
	}
	var errs []error
	for uid, typ := range provisioned {
		if inDist[typ] != "datasource" && !contains(CoreDatasources, typ) {
			errs = append(errs, fmt.Errorf("%w: provisioned data source %s has type %q, not a data source in dist/ nor a core one", ErrDashboard, uid, typ))
		}
	}
	files, _ := filepath.Glob(filepath.Join(provisioning, "dashboards", "*.json"))
	if len(files) == 0 {
		return fmt.Errorf("%w: no dashboards in %s", ErrDashboard, provisioning)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var d dashboard.Dashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %v", ErrDashboard, filepath.Base(f), err))
			continue
		}
		if err := d.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %v", ErrDashboard, filepath.Base(f), err))
		}
		name := filepath.Base(f)
		ref := func(where string, r *common.DataSourceRef) {
			if r == nil {
				return
			}
			uid, typ := deref(r.Uid), deref(r.Type)
			if strings.HasPrefix(uid, "$") || uid == "-- Grafana --" || uid == "grafana" {
				return
			}
			got, ok := provisioned[uid]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("%w: %s: %s uses data source uid %q, which is not provisioned", ErrDashboard, name, where, uid))
			case typ != "" && typ != got:
				errs = append(errs, fmt.Errorf("%w: %s: %s names data source %s as type %q, it is a %q", ErrDashboard, name, where, uid, typ, got))
			}
		}
		var panels []dashboard.Panel
		for _, pr := range d.Panels {
			if pr.Panel != nil {
				panels = append(panels, *pr.Panel)
			}
			if pr.RowPanel != nil {
				ref("row", pr.RowPanel.Datasource)
				panels = append(panels, pr.RowPanel.Panels...)
			}
		}
		for _, p := range panels {
			where := fmt.Sprintf("panel %q", deref(p.Title))
			if inDist[p.Type] != "panel" && !contains(CorePanels, p.Type) {
				errs = append(errs, fmt.Errorf("%w: %s: %s has type %q, not a panel in dist/ nor a core one", ErrDashboard, name, where, p.Type))
			}
			ref(where, p.Datasource)
			for i, t := range p.Targets {
				ref(fmt.Sprintf("%s target %d", where, i), targetDatasource(t))
			}
		}
		for _, v := range d.Templating.List {
			ref(fmt.Sprintf("variable %q", v.Name), v.Datasource)
		}
	}
	return errors.Join(errs...)
}

// targetDatasource is a query's data source reference; queries of plugins the
// SDK does not know are kept as maps.
func targetDatasource(q variants.Dataquery) *common.DataSourceRef {
	raw, err := json.Marshal(q)
	if err != nil {
		return nil
	}
	var t struct {
		Datasource *common.DataSourceRef `json:"datasource"`
	}
	_ = json.Unmarshal(raw, &t)
	return t.Datasource
}

func provisionedDatasources(dir string) (map[string]string, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	out := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Datasources []struct {
				UID  string `yaml:"uid"`
				Type string `yaml:"type"`
			} `yaml:"datasources"`
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrDashboard, filepath.Base(f), err)
		}
		for _, ds := range doc.Datasources {
			out[ds.UID] = ds.Type
		}
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
