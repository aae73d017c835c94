//go:build e2e

package sdks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
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

// recorder is a loopback reverse proxy in front of the collector: the pages
// send to /<sdk>/v1/..., it forwards to the collector's /v1/... and keeps
// every request body and the collector's answer. CORS preflights go through
// to the collector, whose own CORS answers the browser.
type recorder struct {
	mu       sync.Mutex
	requests []captured
	proxy    *httputil.ReverseProxy
}

func newRecorder(collector string) *recorder {
	target, _ := url.Parse(collector)
	r := &recorder{proxy: httputil.NewSingleHostReverseProxy(target)}
	r.proxy.ModifyResponse = func(resp *http.Response) error {
		c, ok := resp.Request.Context().Value(captureKey{}).(*captured)
		if !ok {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		c.Status, c.Response = resp.StatusCode, body
		r.mu.Lock()
		r.requests = append(r.requests, *c)
		r.mu.Unlock()
		return nil
	}
	return r
}

type captureKey struct{}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	sdk, rest, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	if !ok {
		http.NotFound(w, req)
		return
	}
	req.URL.Path = "/" + rest
	if req.Method == http.MethodPost {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		c := &captured{SDK: sdk, Path: req.URL.Path, ContentType: req.Header.Get("Content-Type"),
			ContentEncoding: req.Header.Get("Content-Encoding"), Body: body, Time: time.Now()}
		req = req.WithContext(contextWith(req, c))
	}
	r.proxy.ServeHTTP(w, req)
}

// of returns the requests one SDK sent, in the order they arrived.
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

// quiet waits until no request has arrived for d (the SDKs have sent what
// they had), at most max.
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

// contextWith carries c to ModifyResponse, and outlives the browser's side
// of the request: a page that navigates away aborts its pending exports,
// but what reached the door still reaches the collector and is recorded, so
// the record and the store never disagree.
func contextWith(req *http.Request, c *captured) context.Context {
	return context.WithValue(context.WithoutCancel(req.Context()), captureKey{}, c)
}
