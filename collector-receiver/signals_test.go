package sessionreplayreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
)

// signalsPage is a full snapshot of a checkout page: a pay button that
// answers with a DOM change, a coupon span that does nothing, a buy button
// that only sends a request, and a button inside a [data-private] element
// (mask_selectors of the test collector), whose text is masked.
const signalsPage = `{"node":{"type":0,"id":1,"childNodes":[
 {"type":2,"id":2,"tagName":"html","attributes":{},"childNodes":[
  {"type":2,"id":3,"tagName":"body","attributes":{},"childNodes":[
   {"type":2,"id":10,"tagName":"button","attributes":{"id":"pay","class":"btn"},"childNodes":[{"type":3,"id":11,"textContent":"Pay"}]},
   {"type":2,"id":12,"tagName":"span","attributes":{"class":"coupon"},"childNodes":[{"type":3,"id":13,"textContent":"Apply coupon"}]},
   {"type":2,"id":14,"tagName":"button","attributes":{"id":"buy"},"childNodes":[{"type":3,"id":15,"textContent":"Buy"}]},
   {"type":2,"id":16,"tagName":"div","attributes":{"data-private":""},"childNodes":[
    {"type":2,"id":17,"tagName":"button","attributes":{},"childNodes":[{"type":3,"id":18,"textContent":"Secret label"}]}]}
  ]}]}]},"initialOffset":{"left":0,"top":0}}`

func rrClick(ts int64, id int) json.RawMessage {
	return json.RawMessage(rrEvent(3, ts, fmt.Sprintf(`{"source":2,"type":2,"id":%d,"x":10,"y":20}`, id)))
}

func rrMove(ts int64) json.RawMessage {
	return json.RawMessage(rrEvent(3, ts, `{"source":1,"positions":[{"x":1,"y":1,"id":3,"timeOffset":0}]}`))
}

type storedMarker struct{ kind, name, detail string }

func storedMarkers(t *testing.T, c *collector, session string) []storedMarker {
	t.Helper()
	rows, err := c.conn.Query(context.Background(), "SELECT kind, name, detail FROM "+c.db+".session_events FINAL WHERE session_id = $1 ORDER BY ts, kind", session)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []storedMarker
	for rows.Next() {
		var m storedMarker
		if err := rows.Scan(&m.kind, &m.name, &m.detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func ofKind(ms []storedMarker, kind string) []storedMarker {
	var out []storedMarker
	for _, m := range ms {
		if m.kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// One session through the collector binary and the embedded ClickHouse:
// clicks are named by their target, masked text stays masked in the names,
// console errors of rrweb's console plugin and Faro console logs become
// console markers with card numbers scrubbed, and the dead clicks (one
// judged across a chunk boundary, one at the session's end) are markers, a
// summary count and the input of a min_dead_clicks session rule, while a
// click answered only by a request of the session is not dead.
func TestClickTargetsConsoleAndDeadClicksLandInClickHouse(t *testing.T) {
	c := startCollector(t, frustratedRule, "")
	deadClickSession(t, c, c)
}

// The same session through two replicas on one ClickHouse, as a round-robin
// balancer sends it: the first chunk to one, the request that answers a
// click and the chunk that shows another click went unanswered to the
// other. The verdicts come from what is stored, so they are the same.
func TestDeadClicksAcrossReplicas(t *testing.T) {
	a := startCollector(t, frustratedRule, "")
	b := startCollectorOn(t, a.conn, a.db, chembedtest.DSN(a.db), "", frustratedRule, "")
	deadClickSession(t, a, b)
}

const frustratedRule = `    rules:
      - name: frustrated
        session:
          min_dead_clicks: 2`

// deadClickSession sends the first chunk to a and the rest to b.
func deadClickSession(t *testing.T, a, b *collector) {
	c := a
	ctx := context.Background()
	session := "sig-" + c.db
	t0 := time.Now().Add(-time.Minute).UnixMilli()

	chunk0 := []json.RawMessage{
		metaEvent("https://shop.example/checkout", t0),
		json.RawMessage(rrEvent(2, t0+1, signalsPage)),
		rrClick(t0+1000, 11), // on the pay button's text: names the button
		json.RawMessage(rrEvent(3, t0+1200, `{"source":0,"texts":[{"id":11,"value":"Paid"}],"attributes":[],"removes":[],"adds":[]}`)),
		rrClick(t0+3000, 12), // the coupon: nothing answers
		rrMove(t0 + 3500), rrMove(t0 + 4500),
		rrClick(t0+5000, 14), // buy: answered by a request only
		json.RawMessage(rrEvent(6, t0+5500, `{"plugin":"rrweb/console@1","payload":{"level":"error","trace":["at pay (shop.js:1:1)"],"payload":["\"payment failed for card 4111 1111 1111 1111\"","{\"status\":502}"]}}`)),
		rrMove(t0 + 6500),
		rrClick(t0+7000, 17), // the masked button, last event of the chunk
	}
	chunk1 := []json.RawMessage{rrMove(t0 + 7600), rrMove(t0 + 9000)}
	ld := plog.NewLogs()
	addChunk(t, ld, chunkOpts{session: session, window: "w1", seq: 0, events: chunk0, gzip: true, userAgent: chromeUA})
	c.sendLogs(ld, false)

	// the buy button's request, as the page's fetch instrumentation reports it
	td := ptrace.NewTraces()
	addSpan(td, "shop-web", session, pcommon.TraceID([16]byte{9, 9, 9, 1}), pcommon.SpanID([8]byte{9, 1}), "HTTP POST", ptrace.SpanKindClient, false,
		map[string]string{"url.full": "https://shop.example/api/buy", "http.request.method": "POST"})
	sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	sp.SetStartTimestamp(pcommon.Timestamp((t0 + 5300) * 1e6))
	sp.SetEndTimestamp(pcommon.Timestamp((t0 + 5400) * 1e6))
	b.sendTraces(td)

	// the next chunk of the tab, and a console.warn from Faro's console instrumentation
	ld = plog.NewLogs()
	addChunk(t, ld, chunkOpts{session: session, window: "w1", seq: 1, events: chunk1, userAgent: chromeUA})
	rl := ld.ResourceLogs().AppendEmpty()
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("@grafana/faro-web-sdk")
	warn := sl.LogRecords().AppendEmpty()
	warn.SetTimestamp(pcommon.Timestamp((t0 + 8000) * 1e6))
	warn.SetSeverityNumber(plog.SeverityNumberWarn)
	warn.SetSeverityText("WARN")
	warn.Body().SetStr("cart is stale")
	warn.Attributes().PutStr("session.id", session)
	b.sendLogs(ld, true)

	// dead clicks settle when the session goes idle (idle_timeout 2s)
	eventually(t, "the dead clicks and the rule they fire", 30*time.Second, func() bool {
		d, err := c.reader.Decisions(ctx, session)
		return err == nil && len(d) == 1 && d[0].Rule == "frustrated"
	})
	ms := storedMarkers(t, c, session)

	clicks := ofKind(ms, "click")
	var names []string
	for _, m := range clicks {
		names = append(names, m.name)
	}
	if got := strings.Join(names, " | "); got != `button#pay.btn "Pay" | span.coupon "Apply coupon" | button#buy "Buy" | button "****** *****"` {
		t.Errorf("click names: %s", got)
	}
	var d struct {
		ID     int64   `json:"id"`
		X      float64 `json:"x"`
		Target struct {
			Tag     string   `json:"tag"`
			ID      string   `json:"id"`
			Classes []string `json:"classes"`
			Text    string   `json:"text"`
		} `json:"target"`
	}
	if err := json.Unmarshal([]byte(clicks[0].detail), &d); err != nil || d.ID != 11 || d.X != 10 || d.Target.Tag != "button" || d.Target.ID != "pay" ||
		len(d.Target.Classes) != 1 || d.Target.Classes[0] != "btn" || d.Target.Text != "Pay" {
		t.Errorf("click detail %s (%v)", clicks[0].detail, err)
	}

	dead := ofKind(ms, "dead_click")
	if len(dead) != 2 || dead[0].name != `span.coupon "Apply coupon"` || dead[1].name != `button "****** *****"` {
		t.Errorf("dead clicks: %+v", dead)
	}

	console := ofKind(ms, "console")
	if len(console) != 2 || console[0].name != "error" || console[1].name != "warn" {
		t.Fatalf("console markers: %+v", console)
	}
	if !strings.Contains(console[0].detail, `payment failed for card`) || !strings.Contains(console[0].detail, `{\"status\":502}`) ||
		strings.Contains(console[0].detail, "4111") {
		t.Errorf("console error detail: %s", console[0].detail)
	}
	if console[1].detail != `{"level":"warn","message":"cart is stale"}` {
		t.Errorf("Faro console detail: %s", console[1].detail)
	}

	sum, ok, err := c.reader.Session(ctx, session)
	if err != nil || !ok || sum.DeadClicks != 2 || sum.Clicks != 4 {
		t.Errorf("summary dead_clicks %d clicks %d (%v %v)", sum.DeadClicks, sum.Clicks, ok, err)
	}
	for _, m := range ms {
		if strings.Contains(m.name+m.detail, "Secret") || strings.Contains(m.name+m.detail, "4111 1111") {
			t.Errorf("masked text in a marker: %+v", m)
		}
	}
}
