package sessionreplayreceiver

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/confmap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestProtocolsConfiguredLikeTheOTLPReceiver: protocols.grpc and
// protocols.http read like the otlp receiver's; the top-level HTTP keys keep
// working alone; both at once is refused with an error naming the fields.
func TestProtocolsConfiguredLikeTheOTLPReceiver(t *testing.T) {
	load := func(yaml map[string]any) (*Config, error) {
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		if err := confmap.NewFromStringMap(yaml).Unmarshal(cfg); err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
		return cfg, confmap.Validate(cfg)
	}
	cfg, err := load(map[string]any{"protocols": map[string]any{"grpc": map[string]any{"endpoint": "127.0.0.1:14317"}, "http": map[string]any{"endpoint": "127.0.0.1:14318"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Protocols.GRPC.HasValue() || cfg.Protocols.GRPC.Get().NetAddr.Endpoint != "127.0.0.1:14317" || cfg.httpServer().NetAddr.Endpoint != "127.0.0.1:14318" {
		t.Errorf("protocols: grpc %v %+v, http %s", cfg.Protocols.GRPC.HasValue(), cfg.Protocols.GRPC.Get().NetAddr, cfg.httpServer().NetAddr.Endpoint)
	}
	if cfg.Protocols.GRPC.Get().MaxRecvMsgSizeMiB != 20 {
		t.Errorf("grpc default max_recv_msg_size_mib %d, want 20 (as max_request_body_size)", cfg.Protocols.GRPC.Get().MaxRecvMsgSizeMiB)
	}
	cfg, err = load(map[string]any{"endpoint": "127.0.0.1:24318"})
	if err != nil || cfg.Protocols.GRPC.HasValue() || cfg.httpServer().NetAddr.Endpoint != "127.0.0.1:24318" {
		t.Errorf("top-level keys alone: grpc %v, http %s, %v", cfg.Protocols.GRPC.HasValue(), cfg.httpServer().NetAddr.Endpoint, err)
	}
	_, err = load(map[string]any{"endpoint": "127.0.0.1:24318", "protocols": map[string]any{"http": map[string]any{"endpoint": "127.0.0.1:14318"}}})
	if !errors.Is(err, ErrHTTPConfiguredTwice) || !strings.Contains(err.Error(), "protocols.http") || !strings.Contains(err.Error(), "endpoint") {
		t.Errorf("both HTTP configurations: %v", err)
	}
}

// TestGRPCStatusCarriesRetryInfoWhereHTTPSendsRetryAfter: the answers HTTP
// sends as 503/429 + Retry-After become Unavailable/ResourceExhausted with
// RetryInfo of the same delay; refusals stay non-retryable codes.
func TestGRPCStatusCarriesRetryInfoWhereHTTPSendsRetryAfter(t *testing.T) {
	cases := []struct {
		e     *httpError
		code  codes.Code
		delay time.Duration
	}{
		{storeError(errors.New("connection refused")), codes.Unavailable, 2 * time.Second},
		{tooMany("per-session", 3*time.Second), codes.ResourceExhausted, 3 * time.Second},
		{&httpError{code: http.StatusUnauthorized, msg: "missing ingest key"}, codes.Unauthenticated, 0},
		{badRequest("malformed"), codes.InvalidArgument, 0},
	}
	for _, tc := range cases {
		st := status.Convert(grpcStatus(tc.e))
		var delay time.Duration
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				delay = ri.GetRetryDelay().AsDuration()
			}
		}
		if st.Code() != tc.code || delay != tc.delay || st.Message() != tc.e.msg {
			t.Errorf("HTTP %d (Retry-After %d): gRPC %s retry %s %q, want %s retry %s", tc.e.code, tc.e.retryAfter, st.Code(), delay, st.Message(), tc.code, tc.delay)
		}
	}
}
