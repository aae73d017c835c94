package sessionreplayreceiver

import (
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"

	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/rules"
	"github.com/seed/sessionreplay/collector-receiver/internal/sealed"
	"github.com/seed/sessionreplay/pkg/store"
)

// Sentinel errors of Config.Validate; each is wrapped with the field it concerns.
var (
	ErrMissingEndpoint  = errors.New("clickhouse.endpoint is required")
	ErrBadEndpoint      = errors.New("clickhouse.endpoint is not a valid ClickHouse DSN")
	ErrBadTTL           = errors.New("ttl must be at least 1h")
	ErrBadDuration      = errors.New("duration must be positive")
	ErrBadSize          = errors.New("size must be positive")
	ErrBadSelector      = errors.New("invalid mask selector")
	ErrBadPlaceholder   = privacy.ErrBadPlaceholder
	ErrBadRateLimit     = errors.New("invalid rate limit")
	ErrBadIngestKey     = errors.New("invalid ingest key")
	ErrUnknownRuleKind  = rules.ErrUnknownRuleKind
	ErrBadCondition     = rules.ErrBadCondition
	ErrRuleName         = rules.ErrRuleName
	ErrRuleKind         = rules.ErrRuleKind
	ErrBadRegex         = rules.ErrBadRegex
	ErrSampleRatio      = rules.ErrSampleRatio
	ErrEmptySessionRule = rules.ErrEmptySession
	ErrNegativeMinimum  = rules.ErrNegativeMinimum
)

// ErrHTTPConfiguredTwice: the top-level HTTP keys and protocols.http are both set.
var ErrHTTPConfiguredTwice = errors.New("the OTLP/HTTP server is configured twice: move the top-level HTTP keys (endpoint, cors, tls, ...) under protocols.http, or drop protocols.http")

// Config of the sessionreplay receiver.
type Config struct {
	// ServerConfig is the OTLP/HTTP server: endpoint, tls, cors, auth,
	// max_request_body_size, compression_algorithms, ... These top-level
	// keys stay valid; protocols.http is the same server spelled like the
	// otlp receiver's (set one of the two).
	confighttp.ServerConfig `mapstructure:",squash"`
	// Protocols are the OTLP servers, configured like the otlp receiver's:
	// protocols.grpc (configgrpc; off unless set) next to protocols.http.
	// Both serve the same handler with the same limits and keys.
	Protocols ProtocolsConfig `mapstructure:"protocols"`

	// ClickHouse is where replay data goes.
	ClickHouse ClickHouseConfig `mapstructure:"clickhouse"`
	// CreateSchema applies the owned migrations (store.Migrate) on start.
	CreateSchema bool `mapstructure:"create_schema"`
	// ForwardReplayChunks also passes replay chunk log records to the next
	// consumers of the logs pipeline (default false: they are only stored).
	ForwardReplayChunks bool `mapstructure:"forward_replay_chunks"`
	// MaxChunkBytes bounds one decompressed chunk.
	MaxChunkBytes int64 `mapstructure:"max_chunk_bytes"`
	// MaxChunkEvents bounds the rrweb events of one chunk; a chunk over it is
	// refused (OTLP partial success, with a message naming the limit).
	MaxChunkEvents int `mapstructure:"max_chunk_events"`
	// MaxClockSkew: chunk, marker and summary times later than now plus this
	// are clamped to the receive time, so a client clock in the future cannot
	// put rows into far-future TTL partitions. Times before 1971 are clamped too.
	MaxClockSkew time.Duration `mapstructure:"max_clock_skew"`
	// AckTimeout bounds how long a request waits for its rows to be in
	// ClickHouse; past it the request gets 503 + Retry-After (the rows may
	// still land; the retry collapses with them).
	AckTimeout time.Duration `mapstructure:"ack_timeout"`

	// RateLimits are token buckets answering 429 + Retry-After.
	RateLimits RateLimitsConfig `mapstructure:"rate_limits"`
	// IngestKeys, when not empty, are required on every request (header
	// X-SessionReplay-Key or query parameter key, for sendBeacon).
	IngestKeys []IngestKey `mapstructure:"ingest_keys"`

	Privacy  privacy.Config `mapstructure:"privacy"`
	Rules    []rules.Rule   `mapstructure:"rules"`
	Sessions SessionsConfig `mapstructure:"sessions"`
	Batch    BatchConfig    `mapstructure:"batch"`
}

// ProtocolsConfig are the OTLP servers.
type ProtocolsConfig struct {
	GRPC configoptional.Optional[configgrpc.ServerConfig] `mapstructure:"grpc"`
	HTTP configoptional.Optional[confighttp.ServerConfig] `mapstructure:"http"`
}

// httpServer is the effective OTLP/HTTP server config.
func (c *Config) httpServer() *confighttp.ServerConfig {
	if c.Protocols.HTTP.HasValue() {
		return c.Protocols.HTTP.Get()
	}
	return &c.ServerConfig
}

// RateLimitsConfig: per replay session (chunks/s, keyed by session.id; on by
// default) and per client (requests/s, keyed by the remote IP address; off by
// default, since behind a proxy all clients share its address).
type RateLimitsConfig struct {
	PerSession RateLimit `mapstructure:"per_session"`
	PerClient  RateLimit `mapstructure:"per_client"`
}

// RateLimit is a token bucket: Rate tokens per second, at most Burst saved.
// Rate 0 disables the limit.
type RateLimit struct {
	Rate  float64 `mapstructure:"rate"`
	Burst int     `mapstructure:"burst"`
}

// IngestKey is a public (browser) key: it names the one service.name its
// requests may carry and, optionally, the page origins allowed to use it.
type IngestKey struct {
	Key     string   `mapstructure:"key"`
	Service string   `mapstructure:"service"`
	Origins []string `mapstructure:"origins"`
}

// ClickHouseConfig locates the database and shapes the schema.
type ClickHouseConfig struct {
	// Endpoint is a clickhouse-go DSN, e.g. clickhouse://127.0.0.1:9000/sessionreplay.
	Endpoint string `mapstructure:"endpoint"`
	// Cluster renders ON CLUSTER DDL (create_schema) for clusters with Keeper.
	Cluster string `mapstructure:"cluster"`
	// BufferTTL keeps every chunk this long unless a rule retains its session.
	BufferTTL time.Duration `mapstructure:"buffer_ttl"`
	// RetentionTTL keeps retained sessions and metadata this long.
	RetentionTTL time.Duration `mapstructure:"retention_ttl"`
	// Timeout bounds connecting and the receiver's own queries.
	Timeout time.Duration `mapstructure:"timeout"`
}

// SessionsConfig tunes the session rules and the receiver's caches.
type SessionsConfig struct {
	// IdleTimeout: a session that received nothing for this long is judged
	// by the session rules, from what is stored, by any replica.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// MaxSessions bounds the sessions whose tabs' privacy state is kept in
	// memory (the oldest is forgotten first).
	MaxSessions int `mapstructure:"max_sessions"`
	// DecisionCacheTTL is how long "not retained" is believed before
	// ClickHouse is asked again (other replicas may have decided).
	DecisionCacheTTL time.Duration `mapstructure:"decision_cache_ttl"`
	// PendingTraceTTL is how long a span rule match whose trace has no known
	// session yet waits (stored in pending_matches) for a session link.
	PendingTraceTTL time.Duration `mapstructure:"pending_trace_ttl"`
	// MaxPendingTraces bounds the matches (and idle sessions) one sweep
	// handles; the rest wait for the next sweep.
	MaxPendingTraces int `mapstructure:"max_pending_traces"`
}

// BatchConfig is the group commit into ClickHouse (store.Batcher).
type BatchConfig struct {
	MaxBytes      int           `mapstructure:"max_bytes"`
	MaxDelay      time.Duration `mapstructure:"max_delay"`
	MaxQueueBytes int           `mapstructure:"max_queue_bytes"`
	// Writers is the number of group-commit writers (concurrent INSERTs).
	// One is the default: while its INSERT runs, the next batch collects
	// everything that arrives, so a busy receiver makes bigger inserts and
	// fewer parts. More writers help when ClickHouse is far away or one
	// INSERT can stall.
	Writers int `mapstructure:"writers"`
}

var _ confmap.Validator = (*Config)(nil)

// Validate reports every problem, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	if c.Protocols.HTTP.HasValue() && c.ServerConfig.NetAddr.Endpoint != DefaultEndpoint {
		errs = append(errs, fmt.Errorf("endpoint %q and protocols.http: %w", c.ServerConfig.NetAddr.Endpoint, ErrHTTPConfiguredTwice))
	}
	if c.ClickHouse.Endpoint == "" {
		errs = append(errs, fmt.Errorf("clickhouse.endpoint: %w", ErrMissingEndpoint))
	} else if _, err := clickhouse.ParseDSN(c.ClickHouse.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("clickhouse.endpoint: %w: %v", ErrBadEndpoint, err))
	}
	if c.ClickHouse.BufferTTL < time.Hour {
		errs = append(errs, fmt.Errorf("clickhouse.buffer_ttl %s: %w", c.ClickHouse.BufferTTL, ErrBadTTL))
	}
	if c.ClickHouse.RetentionTTL < time.Hour {
		errs = append(errs, fmt.Errorf("clickhouse.retention_ttl %s: %w", c.ClickHouse.RetentionTTL, ErrBadTTL))
	}
	for name, d := range map[string]time.Duration{
		"clickhouse.timeout":          c.ClickHouse.Timeout,
		"sessions.idle_timeout":       c.Sessions.IdleTimeout,
		"sessions.decision_cache_ttl": c.Sessions.DecisionCacheTTL,
		"sessions.pending_trace_ttl":  c.Sessions.PendingTraceTTL,
		"batch.max_delay":             c.Batch.MaxDelay,
		"ack_timeout":                 c.AckTimeout,
		"max_clock_skew":              c.MaxClockSkew,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %s: %w", name, d, ErrBadDuration))
		}
	}
	for name, n := range map[string]int64{
		"max_chunk_bytes":             c.MaxChunkBytes,
		"sessions.max_sessions":       int64(c.Sessions.MaxSessions),
		"sessions.max_pending_traces": int64(c.Sessions.MaxPendingTraces),
		"batch.max_bytes":             int64(c.Batch.MaxBytes),
		"batch.max_queue_bytes":       int64(c.Batch.MaxQueueBytes),
		"batch.writers":               int64(c.Batch.Writers),
		"max_chunk_events":            int64(c.MaxChunkEvents),
	} {
		if n <= 0 {
			errs = append(errs, fmt.Errorf("%s %d: %w", name, n, ErrBadSize))
		}
	}
	for i, s := range c.Privacy.MaskSelectors {
		if _, err := privacy.ParseSelector(s); err != nil {
			errs = append(errs, fmt.Errorf("privacy.mask_selectors[%d]: %w: %v", i, ErrBadSelector, err))
		}
	}
	if k := string(c.Privacy.SplitPartsKey); k != "" {
		if _, err := sealed.ParseKey(k); err != nil {
			errs = append(errs, fmt.Errorf("privacy.split_parts_key: %w", err))
		}
	}
	if err := privacy.ValidatePlaceholder(c.Privacy.MaskPlaceholder); err != nil {
		errs = append(errs, fmt.Errorf("privacy.mask_placeholder %q: %w", c.Privacy.MaskPlaceholder, err))
	}
	for name, rl := range map[string]RateLimit{"rate_limits.per_session": c.RateLimits.PerSession, "rate_limits.per_client": c.RateLimits.PerClient} {
		if rl.Rate < 0 || (rl.Rate > 0 && rl.Burst < 1) {
			errs = append(errs, fmt.Errorf("%s {rate: %g, burst: %d}: %w (rate >= 0, burst >= 1 when rate > 0)", name, rl.Rate, rl.Burst, ErrBadRateLimit))
		}
	}
	seenKeys := map[string]bool{}
	for i, k := range c.IngestKeys {
		switch {
		case k.Key == "" || k.Service == "":
			errs = append(errs, fmt.Errorf("ingest_keys[%d]: %w: key and service are required", i, ErrBadIngestKey))
		case seenKeys[k.Key]:
			errs = append(errs, fmt.Errorf("ingest_keys[%d]: %w: duplicate key", i, ErrBadIngestKey))
		}
		seenKeys[k.Key] = true
	}
	if err := rules.Validate(c.Rules); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c *Config) schemaOptions(database string) store.SchemaOptions {
	o := store.DefaultSchemaOptions()
	o.Database = database
	o.Cluster = c.ClickHouse.Cluster
	o.BufferTTL = c.ClickHouse.BufferTTL
	o.RetentionTTL = c.ClickHouse.RetentionTTL
	return o
}
