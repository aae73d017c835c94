// Package demoapp is a small shop used by the demo and the end-to-end test: a
// web front (pages that load the recorder) and two backend services
// instrumented with the OpenTelemetry Go SDK. The front proxies /api to the
// "shop-api" service, which calls the "payments" service; W3C traceparent and
// baggage (with the browser's session.id) travel along, and payments fails on
// POST /charge so a checkout produces a backend error span in the page's trace.
package demoapp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Config says where the shop listens and where its telemetry goes.
type Config struct {
	// Addr is the web front (pages + /api proxy), e.g. 127.0.0.1:8080.
	Addr string
	// OTLPEndpoint is the collector's OTLP/HTTP base URL for the backend's
	// spans and the pages' recorder, e.g. http://127.0.0.1:4318.
	OTLPEndpoint string
	// RecorderDir holds the recorder's built bundles (recorder/dist).
	RecorderDir string
	// RecorderScript is the bundle the pages load, relative to RecorderDir.
	RecorderScript string
	// RecorderOptions are extra data-* attributes for the recorder's script tag.
	RecorderOptions map[string]string
}

// App is a running shop.
type App struct {
	URL       string
	servers   []*http.Server
	providers []*sdktrace.TracerProvider
}

var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Start starts the front and both services on loopback.
func Start(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.RecorderScript == "" {
		cfg.RecorderScript = "sessionreplay-full.min.js"
	}
	app := &App{}
	fail := func(err error) (*App, error) {
		app.Close(context.Background())
		return nil, err
	}

	payments, err := app.service(ctx, cfg, "payments", paymentsHandler())
	if err != nil {
		return fail(err)
	}
	api, err := app.service(ctx, cfg, "shop-api", apiHandler(payments))
	if err != nil {
		return fail(err)
	}
	front, err := frontHandler(cfg, api)
	if err != nil {
		return fail(err)
	}
	addr, err := app.serve(cfg.Addr, front)
	if err != nil {
		return fail(err)
	}
	app.URL = "http://" + addr
	return app, nil
}

// service starts one backend service with its own tracer provider (its own
// service.name) on a free loopback port and returns its base URL.
func (a *App) service(ctx context.Context, cfg Config, name string, h func(trace.Tracer, *http.Client) http.Handler) (string, error) {
	res, err := sdkresource.Merge(sdkresource.Default(), sdkresource.NewSchemaless(
		attribute.String("service.name", name), attribute.String("deployment.environment.name", "demo")))
	if err != nil {
		return "", err
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.OTLPEndpoint != "" {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.OTLPEndpoint+"/v1/traces"))
		if err != nil {
			return "", err
		}
		opts = append(opts, sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(200*time.Millisecond)))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	a.providers = append(a.providers, tp)
	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagator))}
	handler := otelhttp.NewHandler(h(tp.Tracer(name), client), name,
		otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }))
	addr, err := a.serve("127.0.0.1:0", handler)
	if err != nil {
		return "", err
	}
	return "http://" + addr, nil
}

func (a *App) serve(addr string, h http.Handler) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	a.servers = append(a.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Printf("demoapp: %v\n", err)
		}
	}()
	return l.Addr().String(), nil
}

// Close stops the servers and flushes the services' spans.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	for _, s := range a.servers {
		errs = append(errs, s.Shutdown(ctx))
	}
	for _, tp := range a.providers {
		errs = append(errs, tp.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// ForceFlush exports the spans the services have ended so far.
func (a *App) ForceFlush(ctx context.Context) error {
	var errs []error
	for _, tp := range a.providers {
		errs = append(errs, tp.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

func apiHandler(payments string) func(trace.Tracer, *http.Client) http.Handler {
	return func(_ trace.Tracer, client *http.Client) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /api/products", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `[{"id":1,"name":"Observability mug","price":12},{"id":2,"name":"Trace t-shirt","price":25}]`)
		})
		mux.HandleFunc("POST /api/checkout", func(w http.ResponseWriter, r *http.Request) {
			// shop-api copies the browser's session.id from baggage onto its
			// span, as DESIGN.md asks of services; payments below does not.
			if id := baggage.FromContext(r.Context()).Member("session.id").Value(); id != "" {
				trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("session.id", id))
			}
			req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, payments+"/charge", nil)
			resp, err := client.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			resp.Body.Close()
			if resp.StatusCode >= 400 {
				span := trace.SpanFromContext(r.Context())
				span.SetStatus(codes.Error, "payment failed")
				http.Error(w, `{"error":"payment failed"}`, http.StatusBadGateway)
				return
			}
			fmt.Fprint(w, `{"ok":true}`)
		})
		return mux
	}
}

func paymentsHandler() func(trace.Tracer, *http.Client) http.Handler {
	return func(_ trace.Tracer, _ *http.Client) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /charge", func(w http.ResponseWriter, r *http.Request) {
			// The failing route: the span gets status ERROR and an exception
			// event, the way an instrumented service reports a failure. It
			// does not copy session.id: the receiver finds the session through
			// the trace id the browser's spans linked to it.
			span := trace.SpanFromContext(r.Context())
			err := errors.New("card declined by issuer")
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			http.Error(w, err.Error(), http.StatusPaymentRequired)
		})
		return mux
	}
}

func frontHandler(cfg Config, api string) (http.Handler, error) {
	target, err := url.Parse(api)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", httputil.NewSingleHostReverseProxy(target))
	if cfg.RecorderDir != "" {
		mux.Handle("/recorder/", http.StripPrefix("/recorder/", http.FileServer(http.Dir(cfg.RecorderDir))))
	}
	for path, page := range pages {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if err := renderPage(w, cfg, page); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		})
	}
	return mux, nil
}
