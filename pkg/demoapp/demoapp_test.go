package demoapp_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/seed/sessionreplay/pkg/demoapp"
)

// TestCheckoutFailsInTheBackendWithTheBrowsersTraceAndBaggage checks the shop's
// contract with the end-to-end test: the page's trace and baggage reach the
// payments service, whose span fails.
func TestCheckoutFailsInTheBackendWithTheBrowsersTraceAndBaggage(t *testing.T) {
	var mu sync.Mutex
	var spans []string
	collector := http.NewServeMux()
	collector.HandleFunc("/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			t.Errorf("bad OTLP from demo app: %v", err)
		}
		rss := req.Traces().ResourceSpans()
		mu.Lock()
		for i := 0; i < rss.Len(); i++ {
			svc, _ := rss.At(i).Resource().Attributes().Get("service.name")
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				for k := 0; k < sss.At(j).Spans().Len(); k++ {
					s := sss.At(j).Spans().At(k)
					session, _ := s.Attributes().Get("session.id")
					spans = append(spans, svc.Str()+" "+s.Name()+" "+s.TraceID().String()+" "+s.Status().Code().String()+" session="+session.Str())
				}
			}
		}
		mu.Unlock()
	})
	sink := &http.Server{Handler: collector}
	l := listen(t)
	go sink.Serve(l)
	defer sink.Close()

	ctx := context.Background()
	app, err := demoapp.Start(ctx, demoapp.Config{OTLPEndpoint: "http://" + l.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)

	page, err := http.Get(app.URL + "/checkout")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(html), `type="password"`) {
		t.Fatalf("checkout page has no password field:\n%s", html)
	}

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/checkout", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	req.Header.Set("baggage", "session.id=s-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("checkout status %d, want 502", resp.StatusCode)
	}
	if err := app.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{
		"shop-api POST /api/checkout " + traceID + " Error session=s-123", // baggage reached the API
		"payments POST /charge " + traceID + " Error session=",            // the failing backend span
	} {
		found := false
		for _, s := range spans {
			found = found || s == want
		}
		if !found {
			t.Errorf("no %q among exported spans %q", want, spans)
		}
	}
}

// TestPagesConfigureTheRecorderThroughDataAttributes checks the recorder tag
// of every page: its options arrive as data-* attributes the recorder reads
// (html/template once rendered them as data-ZgotmplZ, and every demo session
// was stored with the recorder's default service name), values escaped.
func TestPagesConfigureTheRecorderThroughDataAttributes(t *testing.T) {
	ctx := context.Background()
	app, err := demoapp.Start(ctx, demoapp.Config{OTLPEndpoint: "http://127.0.0.1:4318", RecorderDir: t.TempDir(),
		RecorderScript: "sessionreplay.min.js", RecorderOptions: map[string]string{"user-id": `"><script>alert(1)</script>`}})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	for _, path := range demoapp.Paths() {
		resp, err := http.Get(app.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		html, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := `<script src="/recorder/sessionreplay.min.js" data-endpoint="http://127.0.0.1:4318" data-service-name="shop-web" data-user-id="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"></script>`
		if !strings.Contains(string(html), want) {
			t.Errorf("%s: recorder tag is not\n%s\nin:\n%s", path, want, html)
		}
	}
}
