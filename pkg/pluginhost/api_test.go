package pluginhost

import (
	"net/http"
	"testing"
)

// Grafana's server rewrites a plugin resource's Cache-Control to no-store
// unless it says private (and not public) and X-Grafana-Cache is set
// (grafana/grafana pkg/middleware/middleware.go); the host does the same, so
// a browser in a test caches what it would cache behind Grafana.
func TestResourceCacheControlIsGrafanasNoStoreUnlessPrivateAndMarked(t *testing.T) {
	for name, c := range map[string]struct {
		cacheControl, marker, want string
	}{
		"none":                   {"", "", "no-store"},
		"public":                 {"public, max-age=60", "y", "no-store"},
		"private without marker": {"private, max-age=60", "", "no-store"},
		"private and public":     {"private, public, max-age=60", "y", "no-store"},
		"private with marker":    {"private, max-age=31536000, immutable", "y", "private, max-age=31536000, immutable"},
	} {
		t.Run(name, func(t *testing.T) {
			h := http.Header{"Expires": {"0"}}
			if c.cacheControl != "" {
				h.Set("Cache-Control", c.cacheControl)
			}
			if c.marker != "" {
				h.Set("X-Grafana-Cache", c.marker)
			}
			grafanaCacheControl(h)
			if got := h.Get("Cache-Control"); got != c.want {
				t.Fatalf("Cache-Control %q, want %q", got, c.want)
			}
			if c.want == "no-store" && h.Get("Expires") != "" {
				t.Fatal("Expires kept next to no-store")
			}
		})
	}
}
