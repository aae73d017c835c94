package sessionreplayreceiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

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

// ---- HTTP ----

const (
	pbContentType   = "application/x-protobuf"
	jsonContentType = "application/json"
)

type httpError struct {
	code       int
	retryAfter int
	msg        string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, a ...any) *httpError {
	return &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, a...)}
}

func contentType(req *http.Request) (string, bool) {
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil {
		return "", false
	}
	switch mt {
	case pbContentType, jsonContentType:
		return mt, true
	}
	return "", false
}

// readRequest checks the method, the ingest key, the per-client rate limit
// and the content type, then reads the (decompressed, size-limited) body.
func (r *srReceiver) readRequest(w http.ResponseWriter, req *http.Request) (string, []byte, *IngestKey, bool) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeStatus(w, jsonContentType, &httpError{code: http.StatusMethodNotAllowed, msg: req.Method + " not allowed, use POST"})
		return "", nil, nil, false
	}
	ct, ok := contentType(req)
	errCT := ct
	if !ok {
		errCT = jsonContentType
	}
	key, herr := r.authenticate(req)
	if herr == nil {
		herr = r.checkClient(req)
	}
	if herr != nil {
		writeStatus(w, errCT, herr)
		return "", nil, nil, false
	}
	if !ok {
		writeStatus(w, jsonContentType, &httpError{code: http.StatusUnsupportedMediaType,
			msg: fmt.Sprintf("unsupported Content-Type %q, want %s or %s", clipID(req.Header.Get("Content-Type")), pbContentType, jsonContentType)})
		return "", nil, nil, false
	}
	body, err := readBody(req)
	_ = req.Body.Close()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeStatus(w, ct, &httpError{code: http.StatusRequestEntityTooLarge,
				msg: fmt.Sprintf("request body (after decompression) over max_request_body_size (%d bytes)", mbe.Limit)})
			return "", nil, nil, false
		}
		writeStatus(w, ct, badRequest("reading request body: %v", err))
		return "", nil, nil, false
	}
	if ct == jsonContentType && bytes.Contains(body, []byte(`"instrumentationLibrary`)) {
		// OTLP/JSON before 0.17 (old browser SDKs): rename to scope*.
		body = bytes.ReplaceAll(body, []byte(`"instrumentationLibrarySpans"`), []byte(`"scopeSpans"`))
		body = bytes.ReplaceAll(body, []byte(`"instrumentationLibraryLogs"`), []byte(`"scopeLogs"`))
		body = bytes.ReplaceAll(body, []byte(`"instrumentationLibrary"`), []byte(`"scope"`))
	}
	return ct, body, key, true
}

// bodyPool recycles request body buffers: a replay request is often close
// to a megabyte, and fresh buffers of that size cost page faults and GC work.
var bodyPool sync.Pool

// maxPooledBody keeps unusually large buffers out of the pool.
const maxPooledBody = 8 << 20

// maxPresizedBody bounds the buffer allocated from Content-Length before
// the body arrives; larger bodies grow as they are read.
const maxPresizedBody = 2 << 20

// readBody reads the whole request body into a pooled buffer sized from
// Content-Length when the client sent one (the body limit still applies:
// req.Body is confighttp's limited reader).
func readBody(req *http.Request) ([]byte, error) {
	var buf []byte
	if p, ok := bodyPool.Get().(*[]byte); ok {
		buf = (*p)[:0]
	}
	// Content-Length is the client's claim: trust it only up to a typical
	// replay request, so a client cannot reserve memory it never sends.
	if n := req.ContentLength; n > 0 && n <= maxPresizedBody && int64(cap(buf)) < n+1 {
		buf = make([]byte, 0, n+1) // +1: room to see EOF without growing
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := req.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// releaseBody returns a body buffer once nothing refers to it.
func releaseBody(b []byte) {
	if cap(b) <= maxPooledBody {
		bodyPool.Put(&b)
	}
}

// otlpRequest and otlpResponse are the pdata export messages of both signals.
type otlpRequest interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

type otlpResponse interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

// decodeRequest unmarshals an OTLP body in its content type and gives the
// body buffer back to the pool (pdata copies what it keeps).
func decodeRequest(ct string, body []byte, msg otlpRequest) error {
	defer releaseBody(body)
	if ct == pbContentType {
		return msg.UnmarshalProto(body)
	}
	return msg.UnmarshalJSON(body)
}

func encodeResponse(ct string, msg otlpResponse) ([]byte, error) {
	if ct == pbContentType {
		return msg.MarshalProto()
	}
	return msg.MarshalJSON()
}

type userAgentKey struct{}

// withUserAgent keeps the request's User-Agent header for exportLogs.
func withUserAgent(ctx context.Context, header string) context.Context {
	return context.WithValue(ctx, userAgentKey{}, header)
}

// browserUserAgent is the request's User-Agent when it names a browser
// (every browser's starts with Mozilla/; collectors and SDK clients in
// other languages name themselves).
func browserUserAgent(ctx context.Context) string {
	ua, _ := ctx.Value(userAgentKey{}).(string)
	if !strings.HasPrefix(ua, "Mozilla/") || len(ua) > 1024 {
		return ""
	}
	return ua
}

func (r *srReceiver) handleLogs(w http.ResponseWriter, req *http.Request) {
	ct, body, key, ok := r.readRequest(w, req)
	if !ok {
		return
	}
	ereq := plogotlp.NewExportRequest()
	if err := decodeRequest(ct, body, ereq); err != nil {
		writeStatus(w, ct, badRequest("malformed OTLP logs request (%s): %v", ct, err))
		return
	}
	resp, herr := r.exportLogs(withUserAgent(req.Context(), req.UserAgent()), key, ereq.Logs())
	if herr != nil {
		writeStatus(w, ct, herr)
		return
	}
	out, err := encodeResponse(ct, resp)
	writeBody(w, ct, http.StatusOK, out, err)
}

// exportLogs is the logs handler of both OTLP transports, once the request
// is authenticated and decoded: the ingest key's service, storing (within
// ack_timeout), the next consumer, the partial-success response.
func (r *srReceiver) exportLogs(ctx context.Context, key *IngestKey, ld plog.Logs) (plogotlp.ExportResponse, *httpError) {
	resp := plogotlp.NewExportResponse()
	if herr := checkResources(key, ld.ResourceLogs().Len(), func(i int) pcommon.Resource { return ld.ResourceLogs().At(i).Resource() }); herr != nil {
		return resp, herr
	}
	actx, cancel := context.WithTimeout(ctx, r.cfg.AckTimeout)
	res, err := r.ingest.ConsumeLogs(actx, ld, browserUserAgent(ctx))
	cancel()
	if err != nil {
		return resp, ingestError(err)
	}
	if r.nextLogs != nil && res.Forward.LogRecordCount() > 0 {
		if err := r.nextLogs.ConsumeLogs(ctx, res.Forward); err != nil {
			return resp, consumerError(err)
		}
	}
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(strings.ToValidUTF8(res.Message, "\uFFFD"))
	}
	return resp, nil
}

func (r *srReceiver) handleTraces(w http.ResponseWriter, req *http.Request) {
	ct, body, key, ok := r.readRequest(w, req)
	if !ok {
		return
	}
	ereq := ptraceotlp.NewExportRequest()
	if err := decodeRequest(ct, body, ereq); err != nil {
		writeStatus(w, ct, badRequest("malformed OTLP traces request (%s): %v", ct, err))
		return
	}
	resp, herr := r.exportTraces(req.Context(), key, ereq.Traces())
	if herr != nil {
		writeStatus(w, ct, herr)
		return
	}
	out, err := encodeResponse(ct, resp)
	writeBody(w, ct, http.StatusOK, out, err)
}

// exportTraces is the traces handler of both OTLP transports.
func (r *srReceiver) exportTraces(ctx context.Context, key *IngestKey, td ptrace.Traces) (ptraceotlp.ExportResponse, *httpError) {
	resp := ptraceotlp.NewExportResponse()
	if herr := checkResources(key, td.ResourceSpans().Len(), func(i int) pcommon.Resource { return td.ResourceSpans().At(i).Resource() }); herr != nil {
		return resp, herr
	}
	actx, cancel := context.WithTimeout(ctx, r.cfg.AckTimeout)
	err := r.ingest.ConsumeTraces(actx, td)
	cancel()
	if err != nil {
		return resp, ingestError(err)
	}
	if r.nextTraces != nil && td.SpanCount() > 0 {
		if err := r.nextTraces.ConsumeTraces(ctx, td); err != nil {
			return resp, consumerError(err)
		}
	}
	return resp, nil
}

func consumerError(err error) *httpError {
	if consumererror.IsPermanent(err) {
		return &httpError{code: http.StatusBadRequest, msg: "next consumer refused the data: " + err.Error()}
	}
	return &httpError{code: http.StatusServiceUnavailable, retryAfter: 1, msg: "next consumer: " + err.Error()}
}

// ingestError is the answer to a request decoding refused as a whole: the
// per-session limit's own answer, else a storage failure.
func ingestError(err error) *httpError {
	var herr *httpError
	if errors.As(err, &herr) {
		return herr
	}
	return storeError(err)
}

// storeError maps a write failure to a retryable status.
func storeError(err error) *httpError {
	switch {
	case errors.Is(err, store.ErrQueueFull):
		return &httpError{code: http.StatusServiceUnavailable, retryAfter: 1, msg: "sessionreplay: write queue full, retry later"}
	case errors.Is(err, store.ErrClosed):
		return &httpError{code: http.StatusServiceUnavailable, retryAfter: 5, msg: "sessionreplay: shutting down, retry later"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &httpError{code: http.StatusServiceUnavailable, retryAfter: 2, msg: "sessionreplay: write not confirmed within ack_timeout (ClickHouse slow or unavailable), retry"}
	}
	return &httpError{code: http.StatusServiceUnavailable, retryAfter: 2, msg: "sessionreplay: ClickHouse unavailable, retry later: " + err.Error()}
}

func writeStatus(w http.ResponseWriter, ct string, e *httpError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(e.retryAfter))
	}
	// Messages quote client input: keep them valid UTF-8, or the Status
	// cannot be marshalled (found by FuzzLogsRequest: 500 instead of 400).
	st := &spb.Status{Code: grpcCode(e.code), Message: strings.ToValidUTF8(e.msg, "\uFFFD")}
	var out []byte
	var err error
	if ct == pbContentType {
		out, err = proto.Marshal(st)
	} else {
		ct = jsonContentType
		out, err = protojson.Marshal(st)
	}
	writeBody(w, ct, e.code, out, err)
}

func grpcCode(httpCode int) int32 {
	switch httpCode {
	case http.StatusBadRequest:
		return 3 // InvalidArgument
	case http.StatusRequestEntityTooLarge:
		return 8 // ResourceExhausted
	case http.StatusServiceUnavailable:
		return 14 // Unavailable
	case http.StatusUnauthorized:
		return 16 // Unauthenticated
	case http.StatusForbidden:
		return 7 // PermissionDenied
	case http.StatusTooManyRequests:
		return 8 // ResourceExhausted
	case http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		return 12 // Unimplemented
	}
	return 13
}

func writeBody(w http.ResponseWriter, ct string, code int, body []byte, err error) {
	if err != nil {
		code, ct, body = http.StatusInternalServerError, jsonContentType, []byte(`{"code":13,"message":"failed to marshal response"}`)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// confighttpErrorHandler renders errors of confighttp's own layers
// (decompression, auth) as OTLP Status messages.
func confighttpErrorHandler() confighttp.ToServerOption {
	return confighttp.WithErrorHandler(func(w http.ResponseWriter, req *http.Request, msg string, code int) {
		ct, ok := contentType(req)
		if !ok {
			ct = jsonContentType
		}
		writeStatus(w, ct, &httpError{code: code, msg: msg})
	})
}
