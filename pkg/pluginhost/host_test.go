package pluginhost

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func writePlugin(t *testing.T, dir, json string, module bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plugin.json"), []byte(json), 0o644); err != nil {
		t.Fatal(err)
	}
	if module {
		if err := os.WriteFile(filepath.Join(dir, "module.js"), []byte("define([], function () { return {}; });"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindPluginsServesNestedModulesFromTheAppsFolder(t *testing.T) {
	dist := t.TempDir()
	writePlugin(t, dist, `{"id":"acme-x-app","type":"app","name":"X"}`, true)
	writePlugin(t, filepath.Join(dist, "panel"), `{"id":"acme-x-panel","type":"panel","name":"X panel"}`, true)
	writePlugin(t, filepath.Join(dist, "nested", "datasource"), `{"id":"acme-x-datasource","type":"datasource","name":"X ds"}`, true)
	got, err := FindPlugins(dist)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"public/plugins/acme-x-app/module.js", "public/plugins/acme-x-app/nested/datasource/module.js", "public/plugins/acme-x-app/panel/module.js"}
	if len(got) != len(want) {
		t.Fatalf("found %+v", got)
	}
	for i, p := range got {
		if p.Module != want[i] {
			t.Errorf("plugin %s module %s, want %s", p.ID, p.Module, want[i])
		}
	}
}

func TestFindPluginsRefusesFoldersGrafanaWouldNotLoad(t *testing.T) {
	for name, c := range map[string]struct {
		build func(dist string)
		want  error
	}{
		"empty":      {func(string) {}, ErrNoPluginJSON},
		"root panel": {func(d string) { writePlugin(t, d, `{"id":"acme-x-panel","type":"panel"}`, true) }, ErrNotAnApp},
		"bad json":   {func(d string) { writePlugin(t, d, `{"id":`, true) }, ErrBadPluginJSON},
		"no module":  {func(d string) { writePlugin(t, d, `{"id":"acme-x-app","type":"app"}`, false) }, ErrMissingModules},
		"nested bare": {func(d string) {
			writePlugin(t, d, `{"id":"acme-x-app","type":"app"}`, true)
			writePlugin(t, filepath.Join(d, "panel"), `{"id":"acme-x-panel","type":"panel"}`, false)
		}, ErrMissingModules},
	} {
		t.Run(name, func(t *testing.T) {
			dist := t.TempDir()
			c.build(dist)
			if _, err := FindPlugins(dist); !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}
