// Package sessionreplayreceiver is the OpenTelemetry Collector receiver of
// the session replay product: an OTLP/HTTP endpoint (/v1/logs, /v1/traces)
// that stores rrweb replay chunks, session summaries, timeline markers and
// trace links in ClickHouse, applies targeting/retention rules, and passes
// traces and logs on to the rest of the pipeline.
//
// This package holds the configuration, the factory, the receiver's
// lifecycle and its transports (OTLP/HTTP, OTLP/gRPC) with their limits,
// ingest keys and status codes, and the ClickHouse store of split rr-web
// parts (splitparts.go) it hands to decoding. What a request becomes is
// internal/ingest's; which sessions are kept is internal/retention's.
package sessionreplayreceiver

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/collector-receiver/internal/ingest"
	"github.com/seed/sessionreplay/collector-receiver/internal/metadata"
	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/pkg/store"
)

// DefaultEndpoint is the standard OTLP/HTTP port.
const DefaultEndpoint = "localhost:4318"

// DefaultGRPCEndpoint is the standard OTLP/gRPC port (protocols.grpc).
const DefaultGRPCEndpoint = "localhost:4317"

// Wire format names (DESIGN.md); the replay formats are in internal/formats,
// the other records are read by internal/ingest.
const (
	EventNameChunk   = formats.EventNameChunk
	AttrSeq          = formats.AttrSeq
	AttrStart        = formats.AttrStart
	AttrEnd          = formats.AttrEnd
	AttrEventName    = ingest.AttrEventName
	AttrSessionID    = formats.AttrSessionID
	AttrFullSnapshot = ingest.AttrFullSnapshot
	AttrUserAgent    = ingest.AttrUserAgent
	AttrUserID       = ingest.AttrUserID
	AttrServiceName  = ingest.AttrServiceName
)

// str reads attributes the way every format does.
var str = formats.Str

// NewFactory creates the factory of the sessionreplay receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
		receiver.WithTraces(createTraces, metadata.TracesStability),
	)
}

func createDefaultConfig() component.Config {
	srv := confighttp.NewDefaultServerConfig()
	srv.NetAddr.Endpoint = DefaultEndpoint
	srv.MaxRequestBodySize = 20 << 20
	bc := store.DefaultBatcherConfig()
	grpcSrv := configgrpc.NewDefaultServerConfig()
	grpcSrv.NetAddr.Endpoint = DefaultGRPCEndpoint
	grpcSrv.MaxRecvMsgSizeMiB = 20
	return &Config{
		ServerConfig: srv,
		Protocols:    ProtocolsConfig{GRPC: configoptional.Default(grpcSrv), HTTP: configoptional.Default(srv)},
		ClickHouse: ClickHouseConfig{
			Endpoint:     store.DefaultDSN,
			BufferTTL:    24 * time.Hour,
			RetentionTTL: 30 * 24 * time.Hour,
			Timeout:      10 * time.Second,
		},
		MaxChunkBytes:  64 << 20,
		MaxChunkEvents: 50000,
		MaxClockSkew:   time.Hour,
		AckTimeout:     5 * time.Second,
		RateLimits: RateLimitsConfig{
			PerSession: RateLimit{Rate: 5, Burst: 50},
			// Off by default: behind a load balancer or ingress every browser
			// has the proxy's address. Turn it on where the collector sees
			// browsers' own addresses.
			PerClient: RateLimit{Rate: 0, Burst: 400},
		},
		Privacy: privacy.Config{MaskInputs: true, MaskPlaceholder: privacy.DefaultPlaceholder},
		Sessions: SessionsConfig{
			IdleTimeout:      30 * time.Minute,
			MaxSessions:      100000,
			DecisionCacheTTL: 30 * time.Second,
			PendingTraceTTL:  5 * time.Minute,
			MaxPendingTraces: 10000,
		},
		Batch: BatchConfig{MaxBytes: 4 << 20, MaxDelay: bc.MaxDelay, MaxQueueBytes: bc.MaxQueueBytes, Writers: 1},
	}
}

// One receiver (one HTTP server) serves both the logs and the traces
// pipelines of a configuration: instances are shared by *Config.
var (
	sharedMu  sync.Mutex
	instances = map[*Config]*srReceiver{}
)

func shared(cfg *Config, set receiver.Settings) (*srReceiver, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if r, ok := instances[cfg]; ok {
		r.refs++
		return r, nil
	}
	r, err := newReceiver(cfg, set)
	if err != nil {
		return nil, err
	}
	r.refs = 1
	r.release = func() {
		sharedMu.Lock()
		delete(instances, cfg)
		sharedMu.Unlock()
	}
	instances[cfg] = r
	return r, nil
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	r, err := shared(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	r.nextLogs = next
	return r, nil
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	r, err := shared(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	r.nextTraces = next
	return r, nil
}
