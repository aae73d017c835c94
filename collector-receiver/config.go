package sessionreplayreceiver

import (
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/confmap"

	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/rules"
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
	ErrUnknownRuleKind  = rules.ErrUnknownRuleKind
	ErrBadCondition     = rules.ErrBadCondition
	ErrRuleName         = rules.ErrRuleName
	ErrRuleKind         = rules.ErrRuleKind
	ErrBadRegex         = rules.ErrBadRegex
	ErrSampleRatio      = rules.ErrSampleRatio
	ErrEmptySessionRule = rules.ErrEmptySession
)

// Config of the sessionreplay receiver.
type Config struct {
	// ServerConfig is the OTLP/HTTP server: endpoint, tls, cors, auth,
	// max_request_body_size, compression_algorithms, ...
	confighttp.ServerConfig `mapstructure:",squash"`

	// ClickHouse is where replay data goes.
	ClickHouse ClickHouseConfig `mapstructure:"clickhouse"`
	// CreateSchema applies the owned migrations (store.Migrate) on start.
	CreateSchema bool `mapstructure:"create_schema"`
	// ForwardReplayChunks also passes replay chunk log records to the next
	// consumers of the logs pipeline (default false: they are only stored).
	ForwardReplayChunks bool `mapstructure:"forward_replay_chunks"`
	// MaxChunkBytes bounds one decompressed chunk.
	MaxChunkBytes int64 `mapstructure:"max_chunk_bytes"`

	Privacy  privacy.Config `mapstructure:"privacy"`
	Rules    []rules.Rule   `mapstructure:"rules"`
	Sessions SessionsConfig `mapstructure:"sessions"`
	Batch    BatchConfig    `mapstructure:"batch"`
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

// SessionsConfig tunes the per-session memory of the receiver.
type SessionsConfig struct {
	// IdleTimeout: a session without data for this long is evaluated by the
	// session rules and forgotten.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// MaxSessions bounds the sessions kept in memory (oldest evaluated first).
	MaxSessions int `mapstructure:"max_sessions"`
	// DecisionCacheTTL is how long "not retained" is believed before
	// ClickHouse is asked again (other replicas may have decided).
	DecisionCacheTTL time.Duration `mapstructure:"decision_cache_ttl"`
	// PendingTraceTTL is how long a span rule match whose trace has no known
	// session yet waits for a session link.
	PendingTraceTTL time.Duration `mapstructure:"pending_trace_ttl"`
	// MaxPendingTraces bounds those waiting matches.
	MaxPendingTraces int `mapstructure:"max_pending_traces"`
}

// BatchConfig is the group commit into ClickHouse (store.Batcher).
type BatchConfig struct {
	MaxBytes      int           `mapstructure:"max_bytes"`
	MaxDelay      time.Duration `mapstructure:"max_delay"`
	MaxQueueBytes int           `mapstructure:"max_queue_bytes"`
	// Writers is the number of group-commit writers (concurrent INSERTs).
	Writers int `mapstructure:"writers"`
}

var _ confmap.Validator = (*Config)(nil)

// Validate reports every problem, each naming its field.
func (c *Config) Validate() error {
	var errs []error
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
