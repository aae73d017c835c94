//go:build e2e

package sdks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// captured is one request an SDK sent, as it reached the receiver's door.
type captured struct {
	SDK             string
	Path            string // /v1/logs or /v1/traces
	ContentType     string
	ContentEncoding string
	Body            []byte
	Status          int
	Response        []byte
	Time            time.Time
}

// recorder is a loopback proxy in front of the collector: the pages send to
// /<sdk>/v1/..., it forwards to the collector's /v1/... and keeps every POST
// body and the collector's answer. CORS preflights go through to the
// collector, whose own CORS answers the browser. A request the page aborts
// (it navigated away) is still forwarded to its end once its body has
// arrived, so what was recorded and what was stored never disagree.
type recorder struct {
	collector string
	client    *http.Client
	mu        sync.Mutex
	requests  []captured
}

func newRecorder(collector string) *recorder {
	return &recorder{collector: collector, client: &http.Client{Timeout: 30 * time.Second}}
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	sdk, rest, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	if !ok {
		http.NotFound(w, req)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	target := r.collector + "/" + rest
	if req.URL.RawQuery != "" {
		target += "?" + req.URL.RawQuery
	}
	// not the browser's context: its cancellation must not cut the export short
	out, err := http.NewRequestWithContext(context.Background(), req.Method, target, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = req.Header.Clone()
	start := time.Now()
	resp, err := r.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if req.Method == http.MethodPost {
		r.mu.Lock()
		r.requests = append(r.requests, captured{SDK: sdk, Path: "/" + rest, ContentType: req.Header.Get("Content-Type"),
			ContentEncoding: req.Header.Get("Content-Encoding"), Body: body, Status: resp.StatusCode, Response: answer, Time: start})
		r.mu.Unlock()
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// of returns the requests one SDK sent, in the order they were answered.
func (r *recorder) of(sdk string) []captured {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []captured
	for _, c := range r.requests {
		if c.SDK == sdk {
			out = append(out, c)
		}
	}
	return out
}

// quiet waits until no request has been answered for d (the SDKs have sent
// what they had), at most max.
func (r *recorder) quiet(d, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		last := time.Time{}
		if n := len(r.requests); n > 0 {
			last = r.requests[n-1].Time
		}
		r.mu.Unlock()
		if time.Since(last) > d {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
