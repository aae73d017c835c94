//go:build e2e

package sdks

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// pageServer serves the test shop of every SDK: /<sdk>/ (home), /<sdk>/pricing,
// /<sdk>/checkout (a form, "Pay", and the same-origin iframe /<sdk>/frame),
// each page loading /static/<sdk>.js (the SDK's bundle, built by build.mjs into
// bundles) configured with the collector's address for that SDK; /api/ goes
// to the demo shop's backend (shop-api -> payments, OTel Go SDK), whose
// checkout fails.
func pageServer(bundles, shopURL string, endpoint func(sdk string) string) (http.Handler, error) {
	shop, err := url.Parse(shopURL)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", httputil.NewSingleHostReverseProxy(shop))
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir(bundles))))
	for _, sdk := range []string{"hyperdx", "faro", "otel"} {
		for path, body := range pageBodies {
			mux.HandleFunc("GET /"+sdk+path, func(w http.ResponseWriter, _ *http.Request) {
				cfg, _ := json.Marshal(map[string]string{"endpoint": endpoint(sdk), "service": "shop-" + sdk})
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_ = pageTemplate.Execute(w, map[string]any{"SDK": sdk, "Config": template.JS(cfg), "Body": template.HTML(strings.ReplaceAll(body, "{sdk}", sdk))})
			})
		}
	}
	return mux, nil
}

// pageTemplate: static styles, no animation, no web fonts, so a replay and
// the live page render the same pixels.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Shop ({{.SDK}})</title>
<style>
  * { animation: none !important; transition: none !important; caret-color: transparent; }
  body { font: 16px/1.4 sans-serif; margin: 0; background: #f7f7f2; color: #222; }
  header { background: #2d4a7a; color: #fff; padding: 12px 24px; }
  main { padding: 16px 24px; }
  a.button, button { display: inline-block; padding: 8px 16px; background: #e0e6f0; border: 1px solid #8aa; color: #123; text-decoration: none; font: inherit; }
  label { display: block; margin: 8px 0 2px; }
  input { font: inherit; padding: 4px; width: 320px; border: 1px solid #888; background: #fff; }
  .status { margin: 12px 0; min-height: 1.4em; }
  .status.error { color: #b00020; font-weight: bold; }
  iframe { border: 1px solid #888; width: 420px; height: 110px; margin-top: 12px; background: #fff; }
</style>
<script>window.SDK_TEST = {{.Config}};</script>
<script src="/static/{{.SDK}}.js"></script>
</head><body>{{.Body}}</body></html>`))

// pageBodies are the pages' bodies ({sdk} is the SDK's name).
var pageBodies = map[string]string{
	"/{$}": `<header><h1>Shop</h1></header><main>
<p>Mugs and t-shirts for people who read traces.</p>
<a class="button" id="to-pricing" href="/{sdk}/pricing">Pricing</a></main>`,
	"/pricing": `<header><h1>Pricing</h1></header><main>
<p>Observability mug: 12 EUR. Trace t-shirt: 25 EUR.</p>
<a class="button" id="to-checkout" href="/{sdk}/checkout">Checkout</a></main>`,
	"/checkout": `<header><h1>Checkout</h1></header><main>
<form onsubmit="return false">
<label for="email">E-mail</label><input id="email" name="email" type="email" autocomplete="off">
<label for="card">Card number</label><input id="card" name="card" type="text" autocomplete="off">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="off">
</form>
<p><button id="pay" type="button">Pay</button> <a class="button" id="to-home" href="/{sdk}/">Home</a></p>
<div id="status" class="status"></div>
<iframe id="help" src="/{sdk}/frame" title="help"></iframe></main>`,
	"/frame": `<main><p>Need help with your order?</p><button id="frame-ok" type="button">Got it</button></main>`,
}
