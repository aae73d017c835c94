package privacy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
	"github.com/seed/sessionreplay/pkg/fixtures"
)

func apply(t *testing.T, cfg Config, chunk string, st *State) string {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rrweb.Parse([]byte(chunk))
	if err != nil {
		t.Fatal(err)
	}
	m.Apply(c, st)
	out, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var check []any
	if err := json.Unmarshal(out, &check); err != nil {
		t.Fatalf("masked chunk is not JSON: %v\n%s", err, out)
	}
	return string(out)
}

const page = `[{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"form","attributes":{"data-user-email":"a@b.c"},"childNodes":[
 {"type":2,"id":3,"tagName":"input","attributes":{"type":"text","value":"typed secret"},"childNodes":[]},
 {"type":2,"id":4,"tagName":"input","attributes":{"type":"password","value":"p@ss"},"childNodes":[]},
 {"type":2,"id":5,"tagName":"textarea","attributes":{"value":"long note"},"childNodes":[{"type":3,"id":6,"textContent":"long note"}]},
 {"type":2,"id":7,"tagName":"select","attributes":{"value":"DE"},"childNodes":[]},
 {"type":2,"id":8,"tagName":"span","attributes":{"class":"a private b"},"childNodes":[{"type":3,"id":9,"textContent":"Jane Doe"}]},
 {"type":2,"id":10,"tagName":"input","attributes":{"type":"submit","value":"Buy"},"childNodes":[]}
]}]}}},
{"type":3,"timestamp":2,"data":{"source":5,"text":"typed secret","isChecked":false,"id":3}},
{"type":3,"timestamp":3,"data":{"source":5,"text":"p@ss","isChecked":false,"id":4}},
{"type":3,"timestamp":4,"data":{"source":0,"texts":[{"id":6,"value":"new note"}],"attributes":[{"id":3,"attributes":{"value":"again secret"}}],"removes":[],"adds":[{"parentId":8,"nextId":null,"node":{"type":3,"id":11,"textContent":"Jane's Card"}}]}}]`

func TestMaskInputsOn(t *testing.T) {
	out := apply(t, Config{MaskInputs: true, MaskSelectors: []string{".private"}, DropAttributes: []string{"data-user-email"}}, page, &State{})
	for _, s := range []string{"typed secret", "p@ss", "long note", "new note", "again secret", "Jane", `"DE"`, "a@b.c", "data-user-email"} {
		if strings.Contains(out, s) {
			t.Errorf("%q survived: %s", s, out)
		}
	}
	if strings.Contains(out, `"************"`) || !strings.Contains(out, `"text":"******"`) || !strings.Contains(out, `"Buy"`) {
		t.Errorf("fixed-length placeholder / submit label: %s", out)
	}
}

func TestPasswordMaskedEvenWithMaskInputsOff(t *testing.T) {
	st := &State{}
	out := apply(t, Config{MaskInputs: false}, page, st)
	if strings.Contains(out, "p@ss") {
		t.Errorf("password survived: %s", out)
	}
	if !strings.Contains(out, "typed secret") {
		t.Errorf("mask_inputs off masked plain text input: %s", out)
	}
	// a later chunk of the same tab: the password field's id is remembered
	out = apply(t, Config{MaskInputs: false}, `[{"type":3,"timestamp":9,"data":{"source":5,"text":"p@ss2","id":4}}]`, st)
	if strings.Contains(out, "p@ss2") {
		t.Errorf("password input in a later chunk survived: %s", out)
	}
}

func TestCardNumbers(t *testing.T) {
	in := `[{"type":3,"timestamp":1700000000000,"data":{"source":5,"text":"4111 1111 1111 1111","id":1}},` +
		`{"type":5,"timestamp":1700000000001,"data":{"tag":"paid","payload":{"note":"card 5555-5555-5555-4444 ok","order":"1234567890123","id":"abc4111111111111111"}}}]`
	out := apply(t, Config{MaskInputs: false}, in, &State{})
	for _, s := range []string{"4111 1111", "5555-5555"} {
		if strings.Contains(out, s) {
			t.Errorf("card %q survived: %s", s, out)
		}
	}
	// not cards: a non-Luhn 13-digit order number, digits glued to letters, JSON numbers
	for _, s := range []string{"1234567890123", "abc4111111111111111", "1700000000000"} {
		if !strings.Contains(out, s) {
			t.Errorf("%q masked but is not a card: %s", s, out)
		}
	}
	if got := ScrubCardsString("pay 4012 8888 8888 1881 now"); got != "pay **** **** **** **** now" {
		t.Errorf("ScrubCardsString: %q", got)
	}
}

func TestRealRecordingsStayValid(t *testing.T) {
	for _, f := range []string{"input.events.json", "bad-textarea.events.json", "legacy-2018-checkout-demo.events.json", "byterat-css-inline.events.json"} {
		raw := fixtures.Read(t, "rrweb", f)
		out := apply(t, Config{MaskInputs: true}, string(raw), &State{})
		masked, err := rrweb.Parse([]byte(out))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		orig, _ := rrweb.Parse(raw)
		if len(masked.Events) != len(orig.Events) {
			t.Errorf("%s: %d events, want %d", f, len(masked.Events), len(orig.Events))
		}
		if f == "bad-textarea.events.json" && strings.Contains(out, "this value is used for replay") {
			t.Errorf("textarea value survived")
		}
		if f == "input.events.json" && strings.Contains(out, `"text":"valueA"`) {
			t.Errorf("typed input survived")
		}
	}
}

func TestSelectors(t *testing.T) {
	for _, bad := range []string{"", "div > p", "a b", "[unclosed"} {
		if _, err := ParseSelector(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	s, err := ParseSelector(`input.card[data-mask="yes"]`)
	if err != nil {
		t.Fatal(err)
	}
	if !s.match("input", mapAttrs{"class": "x card", "data-mask": "yes"}) || s.match("input", mapAttrs{"class": "card"}) {
		t.Error("selector matching")
	}
}

type mapAttrs map[string]string

func (m mapAttrs) Get(name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}

// A recorder may write an attribute value as a JSON number; a typed number
// is as private as typed text. Repeated keys are all masked, whichever one
// a reader would keep.
func TestNumericAndRepeatedValues(t *testing.T) {
	chunk := `[{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[` +
		`{"type":2,"id":2,"tagName":"INPUT","attributes":{"value":12345678,"value":"again","type":"text"},"childNodes":[]}]}}}]`
	out := apply(t, Config{MaskInputs: true}, chunk, &State{})
	for _, s := range []string{"12345678", "again"} {
		if strings.Contains(out, s) {
			t.Errorf("%q survived: %s", s, out)
		}
	}
	if !strings.Contains(out, `"value":"******"`) {
		t.Errorf("numeric value not masked to the placeholder: %s", out)
	}
}

// Inputs that a recorder other than ours (or a proxy) could produce; each
// once got past the tape-based masker.
func TestUnusualButValidInputs(t *testing.T) {
	cases := []struct {
		name   string
		cfg    Config
		chunks []string // one tab, in order
		secret []string
	}{
		{"a dropped name still marks the field a password", Config{DropAttributes: []string{"name"}}, []string{
			`[{"type":3,"timestamp":1,"data":{"source":0,"attributes":[{"id":7,"attributes":{"name":"password","value":"secret1"}}]}}]`,
			`[{"type":3,"timestamp":2,"data":{"source":5,"text":"secret2","id":7}}]`}, []string{"secret1", "secret2", `"name"`}},
		{"repeated text", Config{MaskInputs: true}, []string{
			`[{"type":3,"timestamp":1,"data":{"source":5,"text":"secret1","text":"x","id":1}}]`}, []string{"secret1"}},
		{"repeated data", Config{MaskInputs: true}, []string{
			`[{"type":3,"timestamp":1,"data":{"source":5,"text":"secret1","id":1},"data":{"source":2,"type":2,"id":1}}]`}, []string{"secret1"}},
		{"repeated textContent", Config{MaskSelectors: []string{".private"}}, []string{
			`[{"type":2,"timestamp":1,"data":{"node":{"type":2,"id":1,"tagName":"div","attributes":{"class":"private"},"childNodes":[{"type":3,"id":2,"textContent":"secret1","textContent":"x"}]}}}]`}, []string{"secret1"}},
		{"key case", Config{MaskInputs: false}, []string{
			`[{"type":3,"timestamp":1,"data":{"source":0,"attributes":[{"id":3,"attributes":{"Type":"password","VALUE":"secret1"}}]}}]`,
			`[{"type":3,"timestamp":2,"data":{"Source":5,"text":"secret2","id":3}}]`}, []string{"secret1", "secret2"}},
		{"a textarea named as a secret, mask_inputs off", Config{}, []string{
			`[{"type":2,"timestamp":1,"data":{"node":{"type":2,"id":1,"tagName":"textarea","attributes":{"name":"card-note"},"childNodes":[{"type":3,"id":2,"textContent":"secret1"}]}}}]`,
			`[{"type":3,"timestamp":2,"data":{"source":0,"texts":[{"id":2,"value":"secret2"}],"adds":[{"parentId":1,"node":{"type":3,"id":3,"textContent":"secret3"}}]}}]`},
			[]string{"secret1", "secret2", "secret3"}},
		{"a later text change inside a masked subtree", Config{MaskSelectors: []string{"[data-private]"}}, []string{
			`[{"type":2,"timestamp":1,"data":{"node":{"type":2,"id":1,"tagName":"div","attributes":{"data-private":""},"childNodes":[{"type":3,"id":2,"textContent":"secret1"}]}}}]`,
			`[{"type":3,"timestamp":2,"data":{"source":0,"texts":[{"id":2,"value":"secret2"}]}}]`}, []string{"secret1", "secret2"}},
		{"card digits as escapes", Config{}, []string{
			`[{"type":5,"timestamp":1,"data":{"tag":"t","payload":"card \u0034111\u00201111 1111 1111"}}]`}, []string{`\u0034111`, "1111 1111"}},
	}
	for _, tc := range cases {
		st := &State{}
		for _, chunk := range tc.chunks {
			out := apply(t, tc.cfg, chunk, st)
			for _, s := range tc.secret {
				if strings.Contains(out, s) {
					t.Errorf("%s: %q survived: %s", tc.name, s, out)
				}
			}
		}
	}
}

// TestFixedLengthPlaceholder: every masked value and typed text becomes the
// same placeholder, so neither the value nor its length is stored; masked
// page text keeps its whitespace (the layout), one '*' per character.
func TestFixedLengthPlaceholder(t *testing.T) {
	chunk := `[{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[
 {"type":2,"id":2,"tagName":"input","attributes":{"type":"text","value":"a"},"childNodes":[]},
 {"type":2,"id":3,"tagName":"input","attributes":{"type":"email","value":"a.very.long.address@example.com"},"childNodes":[]},
 {"type":2,"id":4,"tagName":"input","attributes":{"type":"text","value":"*****"},"childNodes":[]},
 {"type":2,"id":5,"tagName":"textarea","attributes":{"value":"note"},"childNodes":[{"type":3,"id":6,"textContent":"line one\nline two"}]},
 {"type":2,"id":7,"tagName":"div","attributes":{"data-private":"","title":"Jane"},"childNodes":[{"type":3,"id":8,"textContent":"Jane Doe"}]},
 {"type":2,"id":9,"tagName":"input","attributes":{"type":"text","value":""},"childNodes":[]}]}}},
{"type":3,"timestamp":2,"data":{"source":5,"text":"x","id":2}},
{"type":3,"timestamp":3,"data":{"source":5,"text":"typed for a long while","id":3}},
{"type":3,"timestamp":4,"data":{"source":0,"texts":[{"id":6,"value":"more"}],"attributes":[{"id":2,"attributes":{"value":"again"}}]}}]`
	out := apply(t, Config{MaskInputs: true, MaskSelectors: []string{"[data-private]"}}, chunk, &State{})
	if n := strings.Count(out, `"******"`); n != 10 {
		t.Errorf("%d placeholders, want 10 (5 values, 2 typed texts, textarea text and its change, a masked title): %s", n, out)
	}
	for _, s := range []string{"a.very", `"*****"`, "line", "typed", "more", "again", "Jane"} {
		if strings.Contains(out, s) {
			t.Errorf("%q survived: %s", s, out)
		}
	}
	if !strings.Contains(out, `"textContent":"**** ***"`) || !strings.Contains(out, `"value":""`) {
		t.Errorf("masked text keeps its layout, an empty value stays empty: %s", out)
	}
	// a placeholder of one's own
	out = apply(t, Config{MaskInputs: true, MaskPlaceholder: "[masked]"}, chunk, &State{})
	if strings.Contains(out, `"******"`) || strings.Count(out, `"[masked]"`) != 9 {
		t.Errorf("custom placeholder: %s", out)
	}
	for _, bad := range []string{" ", `a"b`, `a\b`, "a\nb", "\x7f", strings.Repeat("*", 65), "\xff"} {
		if _, err := New(Config{MaskPlaceholder: bad}); !errors.Is(err, ErrBadPlaceholder) {
			t.Errorf("placeholder %q: %v, want ErrBadPlaceholder", bad, err)
		}
	}
}

// BenchmarkApply: all of the server's masking of a chunk, as internal/ingest's decodeChunk
// runs it (parse, input masking, card numbers), over real recordings and a
// generated SVG chart page (coordinates with long decimal parts).
func BenchmarkApply(b *testing.B) {
	m, err := New(Config{MaskInputs: true})
	if err != nil {
		b.Fatal(err)
	}
	chunks := map[string][]byte{"svg-chart": svgChartChunk(400)}
	for _, f := range []string{"smartx-90s.events.json", "commandbar-session.events.json", "byterat-css-inline.events.json"} {
		chunks[strings.TrimSuffix(f, ".events.json")] = fixtures.Read(b, "rrweb", f)
	}
	for _, name := range []string{"smartx-90s", "commandbar-session", "byterat-css-inline", "svg-chart"} {
		data := chunks[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				c, err := rrweb.Parse(data)
				if err != nil {
					b.Fatal(err)
				}
				maskChunk(m, c, &State{})
				c.Release()
			}
		})
	}
}

// maskChunk is the masking step of internal/ingest's decodeChunk.
func maskChunk(m *Masker, c *rrweb.Chunk, st *State) {
	m.Apply(c, st)
}

// svgChartChunk is a full snapshot of a page with n SVG chart elements whose
// coordinates are floats printed as a charting library prints them
// (45.963171592376895): about one in ten of their decimal parts passes Luhn.
func svgChartChunk(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`[{"type":4,"timestamp":1,"data":{"href":"http://127.0.0.1/chart","width":1280,"height":720}},`)
	sb.WriteString(`{"type":2,"timestamp":2,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"svg","isSVG":true,"attributes":{"viewBox":"0 0 1280 720"},"childNodes":[`)
	x := 0.1
	next := func() string { // deterministic floats with 13-15 digit decimal parts
		x = x*1.6180339887498949 + 0.7071067811865476
		if x > 1000 {
			x /= 997
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		id := 3 + i*2
		fmt.Fprintf(&sb, `{"type":2,"id":%d,"tagName":"path","isSVG":true,"attributes":{"d":"M%s,%sL%s,%sL%s,%s","fill":"none","stroke-width":"1.5"},"childNodes":[]},`, id, next(), next(), next(), next(), next(), next())
		fmt.Fprintf(&sb, `{"type":2,"id":%d,"tagName":"rect","isSVG":true,"attributes":{"x":"%s","y":"%s","width":"%s","height":"%s"},"childNodes":[{"type":3,"id":%d,"textContent":"Sessions per day %d"}]}`, id+1, next(), next(), next(), next(), 100000+i, i)
	}
	sb.WriteString(`]}]}}}]`)
	return []byte(sb.String())
}

// TestPageValuesKeptInMutations: with mask_inputs on, a later value change
// is masked on form fields and on elements the masker has not seen, but not
// on elements whose value the page sets and shows (a progress bar's level,
// a submit button's label): a replay must not draw those differently.
func TestPageValuesKeptInMutations(t *testing.T) {
	st := &State{}
	apply(t, Config{MaskInputs: true}, `[{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[
 {"type":2,"id":2,"tagName":"progress","attributes":{"value":"0.25","max":"1"},"childNodes":[]},
 {"type":2,"id":3,"tagName":"input","attributes":{"type":"submit","value":"Pay"},"childNodes":[]},
 {"type":2,"id":4,"tagName":"input","attributes":{"type":"text"},"childNodes":[]},
 {"type":2,"id":5,"tagName":"li","attributes":{"value":"3"},"childNodes":[]}]}}}]`, st)
	out := apply(t, Config{MaskInputs: true}, `[{"type":3,"timestamp":2,"data":{"source":0,"texts":[],"removes":[],"adds":[],"attributes":[
 {"id":2,"attributes":{"value":"0.75"}},{"id":3,"attributes":{"value":"Paying..."}},{"id":5,"attributes":{"value":"4"}},
 {"id":4,"attributes":{"value":"typed-1"}},{"id":99,"attributes":{"value":"typed-2"}}]}}]`, st)
	for _, kept := range []string{`"0.75"`, `"Paying..."`, `"4"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("page value %s was masked: %s", kept, out)
		}
	}
	for _, secret := range []string{"typed-1", "typed-2"} {
		if strings.Contains(out, secret) {
			t.Errorf("%s survived: %s", secret, out)
		}
	}
}

// TestTypedTextMaskedWithoutTheTabsSnapshot: a receiver replica that did not
// see the tab's full snapshot (it went to another replica behind the
// balancer, or this one restarted) cannot tell a password field from a
// search box, so it masks typed text even with mask_inputs off; once it has
// a snapshot, plain fields keep their text again.
func TestTypedTextMaskedWithoutTheTabsSnapshot(t *testing.T) {
	later := `[{"type":3,"timestamp":9,"data":{"source":5,"text":"p@ss2","id":4}},{"type":3,"timestamp":10,"data":{"source":5,"text":"search words","id":3}}]`
	out := apply(t, Config{MaskInputs: false}, later, &State{})
	if strings.Contains(out, "p@ss2") || strings.Contains(out, "search words") {
		t.Errorf("typed text kept by a state that never saw the snapshot: %s", out)
	}
	st := &State{}
	_ = apply(t, Config{MaskInputs: false}, page, st)
	out = apply(t, Config{MaskInputs: false}, later, st)
	if strings.Contains(out, "p@ss2") || !strings.Contains(out, "search words") {
		t.Errorf("after the snapshot: want the password masked and plain text kept: %s", out)
	}
}
