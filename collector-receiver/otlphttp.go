// OTLP/HTTP: requests read and answered as the otlp receiver does
// (protobuf or JSON, OTLP Status bodies, Retry-After); the handling itself
// is exportLogs/exportTraces, shared with OTLP/gRPC (grpc.go).

package sessionreplayreceiver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const (
	pbContentType   = "application/x-protobuf"
	jsonContentType = "application/json"
)

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
