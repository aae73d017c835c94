package sessionreplayreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// OTLP/gRPC (protocols.grpc): the collector's otlp and load_balancing
// exporters and agents forward over gRPC. The services below only translate:
// metadata in, status out; the handler (exportLogs/exportTraces), the limits
// and the ingest keys are those of OTLP/HTTP.

func (r *srReceiver) startGRPC(ctx context.Context, host component.Host) error {
	if !r.cfg.Protocols.GRPC.HasValue() {
		return nil
	}
	cfg := r.cfg.Protocols.GRPC.Get()
	srv, err := cfg.ToServer(ctx, host.GetExtensions(), r.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("sessionreplay: protocols.grpc: %w", err)
	}
	ln, err := cfg.NetAddr.Listen(ctx)
	if err != nil {
		return fmt.Errorf("sessionreplay: protocols.grpc.endpoint %s: %w", cfg.NetAddr.Endpoint, err)
	}
	plogotlp.RegisterGRPCServer(srv, &logsService{r: r})
	ptraceotlp.RegisterGRPCServer(srv, &tracesService{r: r})
	r.grpcServer = srv
	r.logger.Info("sessionreplay receiver listening (OTLP/gRPC)", zap.String("endpoint", ln.Addr().String()))
	r.serverWG.Add(1)
	go func() {
		defer r.serverWG.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	return nil
}

type logsService struct {
	plogotlp.UnimplementedGRPCServer
	r *srReceiver
}

func (s *logsService) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	key, herr := s.r.admitGRPC(ctx)
	if herr != nil {
		return plogotlp.NewExportResponse(), grpcStatus(herr)
	}
	resp, herr := s.r.exportLogs(ctx, key, req.Logs())
	if herr != nil {
		return resp, grpcStatus(herr)
	}
	return resp, nil
}

type tracesService struct {
	ptraceotlp.UnimplementedGRPCServer
	r *srReceiver
}

func (s *tracesService) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	key, herr := s.r.admitGRPC(ctx)
	if herr != nil {
		return ptraceotlp.NewExportResponse(), grpcStatus(herr)
	}
	resp, herr := s.r.exportTraces(ctx, key, req.Traces())
	if herr != nil {
		return resp, grpcStatus(herr)
	}
	return resp, nil
}

// admitGRPC applies the ingest keys (metadata x-sessionreplay-key, origin)
// and the per-client limit (the peer's address) exactly as for HTTP, by
// reading the call as the request HTTP would have made.
func (r *srReceiver) admitGRPC(ctx context.Context) (*IngestKey, *httpError) {
	req := &http.Request{Header: http.Header{}, URL: &url.URL{}}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		for _, k := range []string{HeaderIngestKey, "Origin"} {
			if v := md.Get(k); len(v) > 0 {
				req.Header.Set(k, v[0])
			}
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		req.RemoteAddr = p.Addr.String()
	}
	key, herr := r.authenticate(req)
	if herr == nil {
		herr = r.checkClient(req)
	}
	return key, herr
}

// grpcStatus is the gRPC form of an HTTP answer: the status code the
// OTLP/HTTP response body carries, and RetryInfo where HTTP sends
// Retry-After (429 and 503), so exporters wait as long.
func grpcStatus(e *httpError) error {
	st := status.New(codes.Code(grpcCode(e.code)), e.msg)
	if e.retryAfter > 0 {
		if withInfo, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(e.retryAfter) * time.Second)}); err == nil {
			st = withInfo
		}
	}
	return st.Err()
}
