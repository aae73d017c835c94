package sessionreplayreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/seed/sessionreplay/collector-receiver/internal/ingest"
	"github.com/seed/sessionreplay/collector-receiver/internal/metadata"
	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/retention"
	"github.com/seed/sessionreplay/collector-receiver/internal/rules"
	"github.com/seed/sessionreplay/pkg/store"
)

type srReceiver struct {
	cfg        *Config
	set        receiver.Settings
	logger     *zap.Logger
	nextLogs   consumer.Logs
	nextTraces consumer.Traces
	tb         *metadata.TelemetryBuilder
	masker     *privacy.Masker
	rules      *rules.Set
	perSession *limiter
	perClient  *limiter
	parts      storedParts // split rr-web events; its store is set by Start

	refs    int
	release func()

	mu         sync.Mutex // start/stop
	started    bool
	stopped    bool
	server     *http.Server
	grpcServer *grpc.Server
	serverWG   sync.WaitGroup

	conn     driver.Conn
	db       string
	writer   *store.Writer
	reader   *store.Reader
	batchers []*store.Batcher
	next     atomic.Uint64
	engine   *retention.Engine
	ingest   *ingest.Ingester
}

func newReceiver(cfg *Config, set receiver.Settings) (*srReceiver, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	m, err := privacy.New(cfg.Privacy)
	if err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	rs, err := rules.Compile(cfg.Rules, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	box, err := partsBox(cfg.Privacy.SplitPartsKey)
	if err != nil {
		return nil, err
	}
	return &srReceiver{cfg: cfg, set: set, logger: set.Logger, tb: tb, masker: m, rules: rs,
		perSession: newLimiter(cfg.RateLimits.PerSession), perClient: newLimiter(cfg.RateLimits.PerClient),
		parts: storedParts{box: box, timeout: cfg.ClickHouse.Timeout, logger: set.Logger, warned: new(atomic.Bool)}}, nil
}

// Start connects to ClickHouse (creating the schema when asked), starts the
// group-commit writers, the retention engine (internal/retention), decoding
// (internal/ingest) and the OTLP servers. It runs once for both pipelines.
func (r *srReceiver) Start(ctx context.Context, host component.Host) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return nil
	}
	r.started = true
	cctx, cancel := context.WithTimeout(ctx, r.cfg.ClickHouse.Timeout)
	defer cancel()
	conn, db, err := store.Open(cctx, r.cfg.ClickHouse.Endpoint)
	if err != nil {
		return fmt.Errorf("sessionreplay: clickhouse.endpoint: %w", err)
	}
	r.conn, r.db = conn, db
	if r.cfg.CreateSchema {
		applied, err := store.Migrate(cctx, conn, r.cfg.schemaOptions(db))
		if err != nil {
			conn.Close()
			return fmt.Errorf("sessionreplay: create_schema: %w", err)
		}
		if len(applied) > 0 {
			r.logger.Info("ClickHouse schema migrated", zap.String("database", db), zap.Any("versions", applied))
		}
	}
	r.writer = store.NewWriter(conn, db)
	r.reader = store.NewReader(conn, db)
	r.parts.writer, r.parts.reader = r.writer, r.reader
	for i := 0; i < r.cfg.Batch.Writers; i++ {
		r.batchers = append(r.batchers, r.newBatcher())
	}
	r.engine = r.newEngine()
	r.engine.Start()
	r.ingest = r.newIngester()
	r.ingest.Start()

	mux := http.NewServeMux()
	mux.HandleFunc("/v1/logs", r.handleLogs)
	mux.HandleFunc("/v1/traces", r.handleTraces)
	httpCfg := r.cfg.httpServer()
	srv, err := httpCfg.ToServer(ctx, host.GetExtensions(), r.set.TelemetrySettings, mux,
		confighttpErrorHandler())
	if err != nil {
		return fmt.Errorf("sessionreplay: http server: %w", err)
	}
	ln, err := httpCfg.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("sessionreplay: endpoint %s: %w", httpCfg.NetAddr.Endpoint, err)
	}
	if err := r.startGRPC(ctx, host); err != nil {
		_ = ln.Close()
		return err
	}
	r.server = srv
	r.logger.Info("sessionreplay receiver listening", zap.String("endpoint", ln.Addr().String()), zap.String("database", db))
	r.serverWG.Add(1)
	go func() {
		defer r.serverWG.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	return nil
}

// newEngine wires the retention engine to the store and the writers.
func (r *srReceiver) newEngine() *retention.Engine {
	cfg := r.cfg.Sessions
	return retention.NewEngine(retention.EngineConfig{
		Sweep: retention.Config{IdleTimeout: cfg.IdleTimeout, PendingTTL: cfg.PendingTraceTTL,
			QueryTimeout: r.cfg.ClickHouse.Timeout, Batch: cfg.MaxPendingTraces},
		DecisionCacheTTL: cfg.DecisionCacheTTL, MaxNegative: 4 * cfg.MaxSessions,
		CopyAgainAfter: 2*r.cfg.Batch.MaxDelay + 2*time.Second,
	}, retention.Deps{Store: r.reader, Rules: r.rules,
		Write: func(ctx context.Context, b *store.Batch) error { return r.add(ctx, b, 64*b.Len()) },
		Copy:  r.writer.CopyToRetained,
		Retained: func(rule string) {
			r.tb.ReceiverSessionreplaySessionsRetained.Add(context.Background(), 1, metric.WithAttributes(attribute.String("rule", rule)))
		},
		Logger: r.logger})
}

// newIngester wires decoding to the receiver's masker, rules, retention
// engine, per-session limit and writers.
func (r *srReceiver) newIngester() *ingest.Ingester {
	return ingest.New(ingest.Config{MaxChunkBytes: r.cfg.MaxChunkBytes, MaxChunkEvents: r.cfg.MaxChunkEvents,
		MaxClockSkew: r.cfg.MaxClockSkew, ForwardReplayChunks: r.cfg.ForwardReplayChunks, MaxSessions: r.cfg.Sessions.MaxSessions,
		IdleTimeout: r.cfg.Sessions.IdleTimeout, IdleInterval: r.engine.Interval()},
		ingest.Deps{Masker: r.masker, Rules: r.rules, Decisions: r.engine, Write: r.add, AdmitSessions: r.admitSessions,
			Telemetry: r.tb, Parts: r.parts})
}

func (r *srReceiver) newBatcher() *store.Batcher {
	return store.NewBatcher(r.writer, store.BatcherConfig{
		MaxBytes:      r.cfg.Batch.MaxBytes,
		MaxDelay:      r.cfg.Batch.MaxDelay,
		MaxQueueBytes: r.cfg.Batch.MaxQueueBytes / r.cfg.Batch.Writers,
		OnFlush: func(rows, bytes int, took time.Duration, err error) {
			r.tb.ReceiverSessionreplayBatchLatency.Record(context.Background(), float64(took.Microseconds())/1000)
			if err != nil {
				r.logger.Warn("ClickHouse batch write failed", zap.Int("rows", rows), zap.Error(err))
			}
		},
	})
}

// add hands rows to one of the group-commit writers (round robin): several
// INSERTs run at once, each batch still collecting many requests.
func (r *srReceiver) add(ctx context.Context, b *store.Batch, bytes int) error {
	i := r.next.Add(1) % uint64(len(r.batchers))
	return r.batchers[i].Add(ctx, b, bytes)
}

// Shutdown stops the server once every pipeline has shut its instance down.
func (r *srReceiver) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refs--
	if r.refs > 0 || r.stopped {
		return nil
	}
	r.stopped = true
	if r.release != nil {
		r.release()
	}
	var errs []error
	if r.grpcServer != nil {
		r.grpcServer.GracefulStop() // lets the exports in flight finish
	}
	if r.server != nil {
		errs = append(errs, r.server.Shutdown(ctx))
		r.serverWG.Wait()
	}
	if r.ingest != nil {
		r.ingest.Stop()
	}
	if r.engine != nil {
		r.engine.Stop(ctx)
	}
	for _, b := range r.batchers {
		errs = append(errs, b.Close(ctx))
	}
	if r.conn != nil {
		errs = append(errs, r.conn.Close())
	}
	r.tb.Shutdown()
	return errors.Join(errs...)
}
