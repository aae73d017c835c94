//go:build dist

// Package artifact checks the built plugin folder (dist/) and provisioning/
// offline, as Grafana's loader and plugin validator would (pkg/plugincheck),
// and proves each check by breaking a copy of the artifact. Run it with
// `go tool mage dist`, which builds dist/ with this platform's executable;
// SESSIONREPLAY_ALL_PLATFORMS=1 requires the executables of every platform
// (after `go tool mage buildAll`).
package artifact

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/seed/sessionreplay/pkg/plugincheck"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	return filepath.Dir(filepath.Dir(wd)) // tests/artifact -> root
}

func platforms() []string {
	if os.Getenv("SESSIONREPLAY_ALL_PLATFORMS") == "1" {
		return plugincheck.Platforms
	}
	return []string{runtime.GOOS + "_" + runtime.GOARCH}
}

func dist(t *testing.T) string {
	t.Helper()
	d := filepath.Join(repoRoot(t), "dist")
	if _, err := os.Stat(filepath.Join(d, "plugin.json")); err != nil {
		t.Fatalf("dist/ is not built (run `go tool mage dist`): %v", err)
	}
	return d
}

func TestBuiltArtifactPassesGrafanasChecks(t *testing.T) {
	d := dist(t)
	if err := plugincheck.Artifact(d, platforms()); err != nil {
		t.Fatalf("dist/:\n%v", err)
	}
	plugins, _ := plugincheck.Load(d)
	if len(plugins) != 3 {
		t.Errorf("dist/ has %d plugins, want the app, the data source and the panel", len(plugins))
	}
	if err := plugincheck.Dashboards(filepath.Join(repoRoot(t), "provisioning"), plugins); err != nil {
		t.Fatalf("provisioning/:\n%v", err)
	}
	t.Logf("dist/: %d plugins, executables for %v, provisioned dashboards resolve", len(plugins), platforms())
}

// broken is a copy of dist/ (executables replaced by small files of the same
// name and mode: the checks read names and modes) and of provisioning/.
type broken struct{ dist, provisioning string }

func breakCopy(t *testing.T) broken {
	t.Helper()
	root := repoRoot(t)
	out := broken{dist: filepath.Join(t.TempDir(), "dist"), provisioning: filepath.Join(t.TempDir(), "provisioning")}
	copyTree(t, dist(t), out.dist)
	copyTree(t, filepath.Join(root, "provisioning"), out.provisioning)
	// The copy passes before it is broken.
	if err := plugincheck.Artifact(out.dist, platforms()); err != nil {
		t.Fatalf("unbroken copy: %v", err)
	}
	return out
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b := []byte("stand-in")
		if !strings.HasPrefix(d.Name(), "gpx_") {
			if b, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		if err := os.WriteFile(dst, b, info.Mode().Perm()); err != nil {
			return err
		}
		return os.Chmod(dst, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func edit(t *testing.T, file, old, new string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q to break", file, old)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, sentinel error, mentions string) {
	t.Helper()
	if !errors.Is(err, sentinel) || !strings.Contains(err.Error(), mentions) {
		t.Fatalf("got %v, want %v mentioning %q", err, sentinel, mentions)
	}
	t.Logf("refused: %v", err)
}

func hostExecutable() string {
	pl := runtime.GOOS + "_" + runtime.GOARCH
	if runtime.GOOS == "windows" {
		return "gpx_sessionreplay_" + pl + ".exe"
	}
	return "gpx_sessionreplay_" + pl
}

func TestNestedPluginNotInIncludesFails(t *testing.T) {
	b := breakCopy(t)
	edit(t, filepath.Join(b.dist, "plugin.json"), `"path": "panel/plugin.json"`, `"path": "replay/plugin.json"`)
	wantErr(t, plugincheck.Artifact(b.dist, platforms()), plugincheck.ErrIncludes, "seed-sessionreplay-panel in panel/ is not in includes")
}

func TestWronglyNamedExecutableFails(t *testing.T) {
	b := breakCopy(t)
	exe := filepath.Join(b.dist, "datasource", hostExecutable())
	if err := os.Rename(exe, filepath.Join(b.dist, "datasource", "gpx_sessionreplay-"+runtime.GOOS+"-"+runtime.GOARCH)); err != nil {
		t.Fatal(err)
	}
	err := plugincheck.Artifact(b.dist, platforms())
	wantErr(t, err, plugincheck.ErrExecutable, "is not gpx_sessionreplay_<os>_<arch>[.exe]")
	wantErr(t, err, plugincheck.ErrExecutable, "has no executable for "+runtime.GOOS+"_"+runtime.GOARCH)
}

func TestExecutableWithoutMode0755Fails(t *testing.T) {
	b := breakCopy(t)
	if err := os.Chmod(filepath.Join(b.dist, "datasource", hostExecutable()), 0o644); err != nil {
		t.Fatal(err)
	}
	wantErr(t, plugincheck.Artifact(b.dist, platforms()), plugincheck.ErrExecutable, "has mode 0644, want 0755")
}

func TestMissingLogoFails(t *testing.T) {
	b := breakCopy(t)
	if err := os.Remove(filepath.Join(b.dist, "panel", "img", "logo.svg")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, plugincheck.Artifact(b.dist, platforms()), plugincheck.ErrMetadataPath, "panel/img/logo.svg")
}

func TestPluginJSONWithoutGrafanaDependencyFails(t *testing.T) {
	b := breakCopy(t)
	edit(t, filepath.Join(b.dist, "datasource", "plugin.json"), `"grafanaDependency": ">=11.6.0"`, `"grafanaDependency": "eleven"`)
	wantErr(t, plugincheck.Artifact(b.dist, platforms()), plugincheck.ErrPluginJSON, `grafanaDependency "eleven"`)
}

func TestDashboardNamingAPanelNotInDistFails(t *testing.T) {
	b := breakCopy(t)
	edit(t, filepath.Join(b.provisioning, "dashboards", "session-replay.json"), `"type": "seed-sessionreplay-panel"`, `"type": "seed-sessionreplay-player"`)
	plugins, _ := plugincheck.Load(b.dist)
	wantErr(t, plugincheck.Dashboards(b.provisioning, plugins), plugincheck.ErrDashboard, `type "seed-sessionreplay-player", not a panel in dist/`)
}

func TestDashboardWithAnUnprovisionedDatasourceFails(t *testing.T) {
	b := breakCopy(t)
	edit(t, filepath.Join(b.provisioning, "datasources", "datasource.yaml"), "uid: sessionreplay", "uid: sessionreplay-renamed")
	plugins, _ := plugincheck.Load(b.dist)
	wantErr(t, plugincheck.Dashboards(b.provisioning, plugins), plugincheck.ErrDashboard, `data source uid "sessionreplay", which is not provisioned`)
}

func TestDatasourceOfATypeNotInDistFails(t *testing.T) {
	b := breakCopy(t)
	if err := os.RemoveAll(filepath.Join(b.dist, "datasource")); err != nil {
		t.Fatal(err)
	}
	plugins, _ := plugincheck.Load(b.dist)
	wantErr(t, plugincheck.Dashboards(b.provisioning, plugins), plugincheck.ErrDashboard, `type "seed-sessionreplay-datasource", not a data source in dist/`)
}
