package demoapp

import (
	"fmt"
	"html/template"
	"io"
	"regexp"
	"sort"
)

type page struct {
	Title string
	Body  template.HTML
}

// pages of the shop; "/{$}" is the home page only.
var pages = map[string]page{
	"/{$}": {Title: "Home", Body: `
<h1>Observability shop</h1>
<p>Mugs and t-shirts for people who read traces for fun.</p>
<ul id="products"></ul>
<p><a id="to-pricing" href="/pricing">See pricing</a></p>
<script>
fetch('/api/products').then(r => r.json()).then(ps => {
  document.getElementById('products').innerHTML = ps.map(p => '<li>' + p.name + ' — ' + p.price + ' €</li>').join('');
});
</script>`},
	"/pricing": {Title: "Pricing", Body: `
<h1>Pricing</h1>
<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Free</td><td>0 €</td></tr><tr><td>Pro</td><td>20 €</td></tr></table>
<p><a id="to-checkout" href="/checkout">Buy Pro</a> · <a id="to-signup" href="/signup">Sign up free</a></p>`},
	"/checkout": {Title: "Checkout", Body: `
<h1>Checkout</h1>
<form id="checkout" onsubmit="return false">
  <label>Name <input id="name" name="name" autocomplete="off"></label>
  <label>Email <input id="email" name="email" type="email" autocomplete="off"></label>
  <label>Card number <input id="card" name="card" autocomplete="off"></label>
  <label>Password <input id="password" name="password" type="password" autocomplete="off"></label>
  <label>Note <textarea id="note" name="note"></textarea></label>
  <button id="pay" type="button">Pay 20 €</button>
</form>
<p><span id="coupon" class="coupon" title="Coupons are coming soon">Apply coupon</span></p>
<p id="status" class="status"></p>
<p><a id="to-home" href="/">Back to the shop</a></p>
<script>
document.getElementById('pay').addEventListener('click', async () => {
  const status = document.getElementById('status');
  status.textContent = 'Paying…';
  const r = await fetch('/api/checkout', { method: 'POST' });
  status.textContent = r.ok ? 'Paid, thank you!' : 'Payment failed (' + r.status + ')';
  status.className = r.ok ? 'status ok' : 'status error';
  if (!r.ok) console.error('checkout failed: HTTP ' + r.status);
});
// #coupon looks clickable and does nothing (a dead click, on purpose).
</script>`},
	"/signup": {Title: "Sign up", Body: `
<h1>Sign up</h1>
<form onsubmit="return false"><label>Email <input id="signup-email" type="email"></label></form>
<p><a id="to-complete" href="/signup/complete">Create account</a></p>`},
	"/signup/complete": {Title: "Welcome", Body: `<h1>Welcome aboard</h1><p>Your account is ready.</p><p><a href="/">Home</a></p>`},
}

// Paths lists the shop's pages (for tests and the demo banner).
func Paths() []string {
	var out []string
	for p := range pages {
		if p == "/{$}" {
			p = "/"
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

var layout = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Page.Title}} · Observability shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 16px/1.5 sans-serif; margin: 0; background: #f6f7fb; color: #1f2430; }
  header { background: #2b3a67; color: white; padding: 12px 24px; }
  header a { color: white; margin-right: 16px; text-decoration: none; }
  main { padding: 24px; max-width: 720px; }
  label { display: block; margin: 8px 0; }
  input, textarea { display: block; width: 320px; padding: 6px; font: inherit; }
  button { margin-top: 12px; padding: 8px 20px; font: inherit; background: #2b3a67; color: white; border: 0; }
  table { border-collapse: collapse; } td, th { border: 1px solid #ccd; padding: 4px 12px; }
  .status.error { color: #b00020; font-weight: bold; } .status.ok { color: #0a7d32; }
  .coupon { color: #2b3a67; text-decoration: underline; cursor: pointer; }
</style>
{{if .Script}}<script src="/recorder/{{.Script}}"{{range .Options}} {{.}}{{end}}></script>{{end}}
</head><body>
<header><a href="/">Shop</a><a href="/pricing">Pricing</a><a href="/checkout">Checkout</a><a href="/signup">Sign up</a></header>
<main>{{.Page.Body}}</main>
</body></html>`))

func renderPage(w io.Writer, cfg Config, p page) error {
	opts := map[string]string{"service-name": "shop-web"}
	if cfg.OTLPEndpoint != "" {
		opts["endpoint"] = cfg.OTLPEndpoint
	}
	for k, v := range cfg.RecorderOptions {
		opts[k] = v
	}
	script := ""
	if cfg.RecorderDir != "" {
		script = cfg.RecorderScript
	}
	attrs, err := dataAttrs(opts)
	if err != nil {
		return err
	}
	return layout.Execute(w, struct {
		Page    page
		Script  string
		Options []template.HTMLAttr
	}{p, script, attrs})
}

// dataAttrNameRE is what a recorder option may be named: html/template
// refuses attribute names that come from data (it writes `data-ZgotmplZ`
// instead), so the names are checked here and the values escaped.
var dataAttrNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// dataAttrs renders the recorder's options as data-* attributes, sorted by name.
func dataAttrs(opts map[string]string) ([]template.HTMLAttr, error) {
	names := make([]string, 0, len(opts))
	for k := range opts {
		if !dataAttrNameRE.MatchString(k) {
			return nil, fmt.Errorf("recorder option %q: want lower-case letters, digits and dashes", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]template.HTMLAttr, len(names))
	for i, k := range names {
		out[i] = template.HTMLAttr(`data-` + k + `="` + template.HTMLEscapeString(opts[k]) + `"`)
	}
	return out, nil
}
