// The export handlers both transports share, and the status model they
// answer with: an httpError carries the HTTP code, Retry-After and the
// message; OTLP/gRPC maps it to its code and RetryInfo (grpc.go).

package sessionreplayreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/seed/sessionreplay/pkg/store"
)

// httpError is a refused request: its HTTP status, the Retry-After seconds
// of a retryable one, and the message of the OTLP Status body.
type httpError struct {
	code       int
	retryAfter int
	msg        string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, a ...any) *httpError {
	return &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, a...)}
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
