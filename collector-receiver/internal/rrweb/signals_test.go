package rrweb

import (
	"encoding/json"
	"strings"
	"testing"
)

// shop is a full snapshot of a small page: a pay button with text, a
// "coupon" span that does nothing, and a masked span.
const shop = `{"type":2,"timestamp":1000,"data":{"node":{"type":0,"id":1,"childNodes":[
 {"type":2,"id":2,"tagName":"HTML","attributes":{},"childNodes":[
  {"type":2,"id":3,"tagName":"body","attributes":{},"childNodes":[
   {"type":2,"id":10,"tagName":"button","attributes":{"id":"pay","class":"btn  primary"},"childNodes":[{"type":3,"id":11,"textContent":"  Pay\n now "}]},
   {"type":2,"id":12,"tagName":"span","attributes":{"class":"coupon"},"childNodes":[{"type":3,"id":13,"textContent":"Apply coupon"}]},
   {"type":2,"id":14,"tagName":"input","attributes":{"type":"text"},"childNodes":[]},
   {"type":2,"id":15,"tagName":"div","attributes":{"class":"card"},"childNodes":[{"type":3,"id":16,"textContent":"4111 1111 1111 1111"}]},
   {"type":2,"id":17,"tagName":"style","attributes":{},"childNodes":[{"type":3,"id":18,"textContent":".x{}","isStyle":true}]}
  ]}]}]}}}`

func clickAt(t int64, id int) string {
	return `{"type":3,"timestamp":` + itoa(t) + `,"data":{"source":2,"type":2,"id":` + itoa(int64(id)) + `,"x":5,"y":6}}`
}

func mutationAt(t int64, body string) string {
	return `{"type":3,"timestamp":` + itoa(t) + `,"data":{"source":0,` + body + `}}`
}

func moveAt(t int64) string {
	return `{"type":3,"timestamp":` + itoa(t) + `,"data":{"source":1,"positions":[{"x":1,"y":1,"id":3,"timeOffset":0}]}}`
}

func chunkOf(t *testing.T, events ...string) *Chunk {
	t.Helper()
	c, err := Parse([]byte("[" + strings.Join(events, ",") + "]"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Release)
	return c
}

func markers(s Stats, kind string) []Marker {
	var out []Marker
	for _, m := range s.Markers {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

func TestClickNamesItsTargetFromTheSnapshot(t *testing.T) {
	s := Summarize(chunkOf(t, shop, clickAt(2000, 10), clickAt(2100, 11), clickAt(2200, 99)))
	cl := markers(s, "click")
	if len(cl) != 3 {
		t.Fatalf("clicks %+v", cl)
	}
	if cl[0].Name != `button#pay.btn.primary "Pay now"` {
		t.Errorf("name %q", cl[0].Name)
	}
	if cl[1].Name != cl[0].Name {
		t.Errorf("a click on the text node names its element: %q", cl[1].Name)
	}
	if cl[2].Name != "click" || strings.Contains(cl[2].Detail, "target") {
		t.Errorf("unknown node: %q %s", cl[2].Name, cl[2].Detail)
	}
	var d struct {
		ID     int64   `json:"id"`
		X      float64 `json:"x"`
		Y      float64 `json:"y"`
		Target Target  `json:"target"`
	}
	if err := json.Unmarshal([]byte(cl[0].Detail), &d); err != nil {
		t.Fatal(err, cl[0].Detail)
	}
	if d.ID != 10 || d.X != 5 || d.Y != 6 || d.Target.Tag != "button" || d.Target.ID != "pay" || strings.Join(d.Target.Classes, ",") != "btn,primary" || d.Target.Text != "Pay now" {
		t.Errorf("detail %s", cl[0].Detail)
	}
}

func TestClickNamesFollowMutationsAcrossChunks(t *testing.T) {
	w := &Window{}
	SummarizeWindow(chunkOf(t, shop), w, 0)
	s := SummarizeWindow(chunkOf(t,
		mutationAt(3000, `"texts":[{"id":11,"value":"Paying…"}],"attributes":[{"id":10,"attributes":{"class":"btn busy"}}],"removes":[],"adds":[
		 {"parentId":3,"nextId":null,"node":{"type":2,"id":20,"tagName":"a","attributes":{"id":"help"},"childNodes":[{"type":3,"id":21,"textContent":"Help"}]}}]`),
		clickAt(3500, 10), clickAt(3600, 20)), w, 1)
	cl := markers(s, "click")
	if len(cl) != 2 || cl[0].Name != `button#pay.btn.busy "Paying…"` || cl[1].Name != `a#help "Help"` {
		t.Fatalf("clicks %+v", cl)
	}
	if cl[0].Seq != 1 {
		t.Errorf("seq %d", cl[0].Seq)
	}
	long := strings.Repeat("x", 200)
	s = SummarizeWindow(chunkOf(t, mutationAt(4000, `"texts":[{"id":21,"value":"`+long+`"}],"attributes":[{"id":20,"attributes":{"id":"`+long+`"}}]`), clickAt(4100, 20)), w, 2)
	if n := markers(s, "click")[0].Name; len([]rune(n)) != MaxLabel || !strings.HasSuffix(n, "…") {
		t.Errorf("label not truncated to %d: %q", MaxLabel, n)
	}
}

func TestClickLabelShowsTextAsStoredAfterMasking(t *testing.T) {
	c := chunkOf(t, shop, clickAt(2000, 15))
	// what the masker does to the text node (a card number, masked)
	tok := -1
	for k := range c.Tape.Tokens {
		if c.Tape.Kind(k) == 3 && string(c.Tape.Raw(k)) == `"4111 1111 1111 1111"` {
			tok = k
		}
	}
	c.Replace(tok, []byte(`"**** **** **** ****"`))
	s := Summarize(c)
	if n := markers(s, "click")[0].Name; n != `div.card "**** **** **** ****"` {
		t.Errorf("masked text leaked into the label: %q", n)
	}
}

func TestDeadClickWithinAChunk(t *testing.T) {
	s := Summarize(chunkOf(t, shop,
		clickAt(2000, 12), moveAt(2500), moveAt(3100), // nothing answers the coupon
		clickAt(4000, 10), mutationAt(4300, `"texts":[{"id":11,"value":"Paid"}]`), // the button answers
		clickAt(5000, 14), moveAt(6500), // a field: focusing is an answer
	))
	if len(s.DeadClicks) != 1 || s.DeadClicks[0].Name != `span.coupon "Apply coupon"` || s.DeadClicks[0].Time != 2000 || s.DeadClicks[0].Kind != "dead_click" {
		t.Fatalf("dead clicks %+v", s.DeadClicks)
	}
}

func TestDeadClickNearTheEndOfAChunkWaitsForTheNext(t *testing.T) {
	w := &Window{}
	s := SummarizeWindow(chunkOf(t, shop, clickAt(2000, 12), clickAt(2100, 10)), w, 0)
	if len(s.DeadClicks) != 0 || len(w.pending) != 2 {
		t.Fatalf("judged too early: %+v pending %d", s.DeadClicks, len(w.pending))
	}
	// the next chunk: the pay button's mutation answers its click, the coupon's bound passes
	s = SummarizeWindow(chunkOf(t, mutationAt(2500, `"texts":[{"id":11,"value":"Paid"}]`), moveAt(3500)), w, 1)
	_ = s
	// 2500 answers both (the coupon click at 2000 too: within its bound)
	if len(s.DeadClicks) != 0 || len(w.pending) != 0 {
		t.Fatalf("answered clicks judged dead: %+v", s.DeadClicks)
	}
	SummarizeWindow(chunkOf(t, clickAt(5000, 12)), w, 2)
	s = SummarizeWindow(chunkOf(t, moveAt(5200), moveAt(6200)), w, 3)
	if len(s.DeadClicks) != 1 || s.DeadClicks[0].Seq != 2 || s.DeadClicks[0].Name != `span.coupon "Apply coupon"` {
		t.Fatalf("dead click of the previous chunk: %+v", s.DeadClicks)
	}
	SummarizeWindow(chunkOf(t, clickAt(7000, 12)), w, 4)
	if p := w.Pending(); len(p) != 1 || p[0].Time != 7000 || len(w.pending) != 0 {
		t.Fatalf("pending %+v", p)
	}
}

func TestConsoleMarkersFromThePluginAndTheCustomEvent(t *testing.T) {
	s := Summarize(chunkOf(t,
		`{"type":6,"timestamp":1000,"data":{"plugin":"rrweb/console@1","payload":{"level":"error","trace":["at x (a.js:1:1)"],"payload":["\"checkout failed:\"","{\"status\":502}"]}}}`,
		`{"type":6,"timestamp":1100,"data":{"plugin":"rrweb/sequential-id@1","payload":{"id":1}}}`,
		`{"type":5,"timestamp":1200,"data":{"tag":"console","payload":{"level":"warn","message":"slow"}}}`,
	))
	cm := markers(s, "console")
	if len(cm) != 2 || cm[0].Name != "error" || cm[1].Name != "warn" {
		t.Fatalf("console %+v", s.Markers)
	}
	var d consoleDetail
	if err := json.Unmarshal([]byte(cm[0].Detail), &d); err != nil || d.Level != "error" || d.Message != `checkout failed: {"status":502}` {
		t.Errorf("detail %s %v", cm[0].Detail, err)
	}
	if len(markers(s, "custom")) != 0 {
		t.Errorf("console custom event also a custom marker")
	}
}

// A page larger than the index: nodes past MaxIndexedNodes are left out,
// except those a click of the same chunk lands on, which are always named.
func TestClickInTheSameChunkAsItsSnapshotResolvesPastTheIndexBound(t *testing.T) {
	var kids []string
	n := MaxIndexedNodes + 500
	for i := 0; i < n; i++ {
		id := 100 + 2*i
		kids = append(kids, `{"type":2,"id":`+itoa(int64(id))+`,"tagName":"li","attributes":{},"childNodes":[{"type":3,"id":`+itoa(int64(id+1))+`,"textContent":"item `+itoa(int64(i))+`"}]}`)
	}
	snap := `{"type":2,"timestamp":1000,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"ul","attributes":{},"childNodes":[` + strings.Join(kids, ",") + `]}]}}}`
	last := 100 + 2*(n-1)
	w := &Window{}
	s := SummarizeWindow(chunkOf(t, snap, clickAt(2000, last)), w, 0)
	if name := markers(s, "click")[0].Name; name != `li "item `+itoa(int64(n-1))+`"` {
		t.Errorf("clicked node past the bound: %q", name)
	}
	s = SummarizeWindow(chunkOf(t, clickAt(3000, last-2), clickAt(3100, 100)), w, 1)
	if cl := markers(s, "click"); cl[0].Name != "click" || cl[1].Name != `li "item 0"` {
		t.Errorf("past the bound, a node no click of its chunk targets is not indexed: %q, %q", cl[0].Name, cl[1].Name)
	}
	if w.Nodes() > MaxIndexedNodes+2 {
		t.Errorf("index holds %d nodes, bound %d", w.Nodes(), MaxIndexedNodes)
	}
}

// An icon button is named by its aria-label; a textarea's text (its value)
// never names it.
func TestClickLabelsFromAriaLabelAndNeverFromAFieldsValue(t *testing.T) {
	snap := `{"type":2,"timestamp":1000,"data":{"node":{"type":0,"id":1,"childNodes":[
	 {"type":2,"id":2,"tagName":"button","attributes":{"class":"icon","aria-label":"Close cart","title":"x"},"childNodes":[{"type":2,"id":3,"tagName":"svg","attributes":{},"childNodes":[]}]},
	 {"type":2,"id":4,"tagName":"textarea","attributes":{"id":"note"},"childNodes":[{"type":3,"id":5,"textContent":"typed by a person"}]}]}}}`
	s := Summarize(chunkOf(t, snap, clickAt(2000, 2), clickAt(2100, 4)))
	cl := markers(s, "click")
	if cl[0].Name != `button.icon "Close cart"` || cl[1].Name != `textarea#note` {
		t.Errorf("labels %q, %q", cl[0].Name, cl[1].Name)
	}
}
