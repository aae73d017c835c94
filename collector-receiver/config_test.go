package sessionreplayreceiver

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/seed/sessionreplay/collector-receiver/internal/rules"
	"github.com/seed/sessionreplay/collector-receiver/internal/sealed"
)

func loadConfig(t *testing.T, id string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub(id)
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return cfg, confmap.Validate(cfg)
}

func TestLoadConfigEveryOption(t *testing.T) {
	cfg, err := loadConfig(t, "sessionreplay")
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	if cfg.NetAddr.Endpoint != "0.0.0.0:4318" || cfg.MaxRequestBodySize != 10485760 {
		t.Errorf("server: %+v", cfg.ServerConfig)
	}
	if !cfg.CORS.HasValue() || cfg.CORS.Get().AllowedOrigins[0] != "https://shop.example.com" || cfg.CORS.Get().MaxAge != 600 {
		t.Errorf("cors: %+v", cfg.CORS)
	}
	if cfg.ClickHouse.Endpoint != "clickhouse://127.0.0.1:9000/sessionreplay" || cfg.ClickHouse.BufferTTL != 24*time.Hour ||
		cfg.ClickHouse.RetentionTTL != 720*time.Hour || cfg.ClickHouse.Timeout != 5*time.Second {
		t.Errorf("clickhouse: %+v", cfg.ClickHouse)
	}
	if !cfg.CreateSchema || !cfg.ForwardReplayChunks || cfg.MaxChunkBytes != 33554432 {
		t.Errorf("flags: %+v", cfg)
	}
	if !cfg.Privacy.MaskInputs || cfg.Privacy.MaskPlaceholder != "[masked]" || len(cfg.Privacy.DropAttributes) != 2 || len(cfg.Privacy.MaskSelectors) != 4 ||
		len(cfg.Privacy.SplitPartsKey) != 64 {
		t.Errorf("privacy: %+v", cfg.Privacy)
	}
	if cfg.Sessions != (SessionsConfig{IdleTimeout: 10 * time.Minute, MaxSessions: 50000, DecisionCacheTTL: 2 * time.Second,
		PendingTraceTTL: 2 * time.Minute, MaxPendingTraces: 5000}) {
		t.Errorf("sessions: %+v", cfg.Sessions)
	}
	if cfg.Batch != (BatchConfig{MaxBytes: 4194304, MaxDelay: 100 * time.Millisecond, MaxQueueBytes: 33554432, Writers: 3}) {
		t.Errorf("batch: %+v", cfg.Batch)
	}
	kinds := map[string]string{}
	for _, r := range cfg.Rules {
		k, err := r.KindOf()
		if err != nil {
			t.Fatal(err)
		}
		kinds[r.Name] = k
	}
	want := map[string]string{"checkout-errors": "span", "backend-errors": "span", "js-exceptions": "log", "pricing-no-signup": "session", "frustrated": "session", "one-percent": "sample"}
	for n, k := range want {
		if kinds[n] != k {
			t.Errorf("rule %s kind %q, want %q", n, kinds[n], k)
		}
	}
	if fr := cfg.Rules[4].Session; fr.MinRageClicks != 2 || fr.MinDeadClicks != 1 || fr.MinDuration != time.Minute || fr.MinErrors != 1 || fr.Events[0] != "checkout_failed" {
		t.Errorf("session rule: %+v", fr)
	}
	if *cfg.Rules[5].Sample != 0.01 {
		t.Errorf("sample: %v", *cfg.Rules[5].Sample)
	}
}

func TestDefaultConfigIsValid(t *testing.T) {
	cfg, err := loadConfig(t, "sessionreplay/defaults")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Privacy.MaskInputs || cfg.Privacy.MaskPlaceholder != "******" || cfg.NetAddr.Endpoint != DefaultEndpoint {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestInvalidConfigNamesField(t *testing.T) {
	f := func(mod func(*Config)) error {
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		mod(cfg)
		return confmap.Validate(cfg)
	}
	ratio := 1.5
	cases := []struct {
		name  string
		mod   func(*Config)
		field string
		is    error
	}{
		{"missing endpoint", func(c *Config) { c.ClickHouse.Endpoint = "" }, "clickhouse.endpoint", ErrMissingEndpoint},
		{"bad endpoint", func(c *Config) { c.ClickHouse.Endpoint = "clickhouse://[::1" }, "clickhouse.endpoint", ErrBadEndpoint},
		{"short ttl", func(c *Config) { c.ClickHouse.BufferTTL = time.Minute }, "clickhouse.buffer_ttl", ErrBadTTL},
		{"bad ottl", func(c *Config) {
			c.Rules = []rules.Rule{{Name: "x", Span: `status.code == `}}
		}, "rules[0].span", ErrBadCondition},
		{"unknown path", func(c *Config) {
			c.Rules = []rules.Rule{{Name: "x", Log: `nonsense.field == 1`}}
		}, "rules[0].log", ErrBadCondition},
		{"unknown kind", func(c *Config) { c.Rules = []rules.Rule{{Name: "x", Kind: "metric", Span: "true"}} }, "rules[0]", ErrUnknownRuleKind},
		{"no kind", func(c *Config) { c.Rules = []rules.Rule{{Name: "x"}} }, "rules[0]", ErrRuleKind},
		{"two kinds", func(c *Config) { c.Rules = []rules.Rule{{Name: "x", Span: "true", Log: "true"}} }, "rules[0]", ErrRuleKind},
		{"no name", func(c *Config) { c.Rules = []rules.Rule{{Span: "true"}} }, "rules[0].name", ErrRuleName},
		{"dup name", func(c *Config) { c.Rules = []rules.Rule{{Name: "a", Span: "true"}, {Name: "a", Log: "true"}} }, "rules[1].name", ErrRuleName},
		{"bad regex", func(c *Config) {
			c.Rules = []rules.Rule{{Name: "x", Session: &rules.SessionRule{Visited: []string{"("}}}}
		}, "rules[0].session.visited[0]", ErrBadRegex},
		{"empty session", func(c *Config) { c.Rules = []rules.Rule{{Name: "x", Session: &rules.SessionRule{}}} }, "rules[0].session", ErrEmptySessionRule},
		{"negative min_dead_clicks", func(c *Config) { c.Rules = []rules.Rule{{Name: "x", Session: &rules.SessionRule{MinDeadClicks: -1}}} }, "rules[0].session", ErrNegativeMinimum},
		{"sample ratio", func(c *Config) { c.Rules = []rules.Rule{{Name: "x", Sample: &ratio}} }, "rules[0].sample", ErrSampleRatio},
		{"bad selector", func(c *Config) { c.Privacy.MaskSelectors = []string{"div > p"} }, "privacy.mask_selectors[0]", ErrBadSelector},
		{"empty placeholder", func(c *Config) { c.Privacy.MaskPlaceholder = "" }, "privacy.mask_placeholder", ErrBadPlaceholder},
		{"placeholder needing a JSON escape", func(c *Config) { c.Privacy.MaskPlaceholder = `**"**` }, "privacy.mask_placeholder", ErrBadPlaceholder},
		{"idle", func(c *Config) { c.Sessions.IdleTimeout = 0 }, "sessions.idle_timeout", ErrBadDuration},
		{"split parts key of 16 bytes", func(c *Config) { c.Privacy.SplitPartsKey = "0123456789abcdef0123456789abcdef" }, "privacy.split_parts_key", sealed.ErrKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := f(tc.mod)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q: want field %q and %v", err, tc.field, tc.is)
			}
		})
	}
	// several problems are all reported
	err := f(func(c *Config) {
		c.ClickHouse.Endpoint = ""
		c.Rules = []rules.Rule{{Name: "x", Kind: "bogus", Span: "true"}}
	})
	if !errors.Is(err, ErrMissingEndpoint) || !errors.Is(err, ErrUnknownRuleKind) {
		t.Errorf("joined: %v", err)
	}
}
