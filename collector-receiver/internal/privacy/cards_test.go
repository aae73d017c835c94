package privacy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
)

// TestDigitOrEscape checks the word-at-a-time test against a byte loop, for
// every byte value in every position.
func TestDigitOrEscape(t *testing.T) {
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			var b [8]byte
			for i := range b {
				b[i] = 'a'
			}
			b[pos] = byte(c)
			want := c == '\\' || (c >= '0' && c <= '9')
			if got := digitOrEscape(binary.LittleEndian.Uint64(b[:])) != 0; got != want {
				t.Fatalf("byte %#x at %d: %v, want %v", c, pos, got, want)
			}
		}
	}
}

// An escaped character before a card is read as the character it writes:
// a euro sign or a no-break space is a boundary, an escaped letter glues.
func TestCardsAfterEscapedCharacters(t *testing.T) {
	in := []byte(`[{"type":5,"timestamp":1,"data":{"tag":"t","payload":["\u20ac4111111111111111","\u00a05555555555554444","\ud83d\ude004012888888881881","\u0041378282246310005"]}}]`)
	out, n := maskCards(t, in)
	if n != 3 || strings.Contains(string(out), "4111") || strings.Contains(string(out), "5555") || strings.Contains(string(out), "4012") ||
		!strings.Contains(string(out), `\u0041378282246310005`) {
		t.Fatalf("%d: %s", n, out)
	}
}

func TestCardsInPayloads(t *testing.T) {
	in := []byte(`[{"type":5,"timestamp":1700000000000,"data":{"tag":"t","payload":{"text":"card 4111 1111 1111 1111, long text without digits to cross words","n":4111111111111111,"e":"\n4111111111111111"}}}]`)
	orig := string(in)
	out, n := maskCards(t, in)
	if string(in) != orig {
		t.Fatal("input modified")
	}
	if n != 2 || strings.Contains(string(out), "4111 1111") || !strings.Contains(string(out), `"n":4111111111111111`) || !strings.Contains(string(out), `\n****************`) {
		t.Fatalf("%d: %s", n, out)
	}
}

// scrubReference is the plain byte-by-byte form of ScrubCards, the oracle
// for its word-at-a-time scan.
func scrubReference(b []byte) []byte {
	b = append([]byte(nil), b...)
	inStr := false
	escEnd := -1
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case !inStr:
			inStr = c == '"'
		case c == '\\':
			i++
			if i < len(b) && b[i] != 'u' {
				escEnd = i + 1
			}
		case c == '"':
			inStr = false
		case c >= '0' && c <= '9':
			i = cardsAt(b, i, i == escEnd, func(from, to int) { maskDigits(b[from:to]) })
		}
	}
	return b
}

// maskCards masks a chunk body with mask_inputs off (only card numbers
// and always-secret fields), or fails the test when it is not a chunk.
func maskCards(t testing.TB, b []byte) ([]byte, int) {
	t.Helper()
	out, n, ok := tryMaskCards(b)
	if !ok {
		t.Fatalf("not a chunk: %s", b)
	}
	return out, n
}

// cardsOnly is a masker with mask_inputs off.
var cardsOnly, _ = New(Config{})

func tryMaskCards(b []byte) ([]byte, int, bool) {
	c, err := rrweb.Parse(b)
	if err != nil {
		return nil, 0, false
	}
	defer c.Release()
	n := cardsOnly.Apply(c, &State{}).MaskedValues
	out, err := c.Encode()
	return out, n, err == nil
}

// FuzzMaskCards: in a payload, where every string is people's text, the
// tape-based scan masks exactly what the byte-by-byte reference masks, on
// any JSON value and any text.
func FuzzMaskCards(f *testing.F) {
	f.Add([]byte(`{"a":"4111 1111 1111 1111","b":"x\"4111111111111111"}`), "")
	f.Add([]byte(`"5555-5555-5555-4444"`), "pay 4012888888881881 now")
	f.Add([]byte(`["\\", "4012888888881881", 45.963171592376895, "45.963171592376895"]`), "\n4111111111111111")
	f.Add([]byte(`{"d":"M1.4111111111111111,2L4111111111111111.5","id":"abc_4111111111111111"}`), "card:4111-1111-1111-1111.")
	f.Fuzz(func(t *testing.T, b []byte, text string) {
		// arbitrary JSON, and arbitrary text made into a string, as payloads
		var quoted bytes.Buffer
		enc := json.NewEncoder(&quoted)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(text)
		for _, payload := range [][]byte{b, bytes.TrimSpace(quoted.Bytes())} {
			doc := []byte(`[{"type":5,"data":{"tag":"x","payload":` + string(payload) + `}}]`)
			out, _, ok := tryMaskCards(doc)
			if !ok {
				continue
			}
			if bytes.Contains(doc, []byte(`\u`)) {
				// strings with \u escapes are checked decoded, unlike the
				// byte-level reference: the result must still be a chunk
				if again, err := rrweb.Parse(out); err != nil {
					t.Fatalf("card masking made an invalid chunk: %v %q", err, out)
				} else {
					again.Release()
				}
				continue
			}
			if want := scrubReference(doc); string(out) != string(want) {
				t.Fatalf("masked    %q\nreference %q", out, want)
			}
		}
	})
}

// TestCardRule: what stands alone as a card number, and what is part of
// something else (the rule of cardsAt, on plain text).
func TestCardRule(t *testing.T) {
	cases := []struct{ in, want string }{
		{"4111 1111 1111 1111", "**** **** **** ****"},
		{"4111-1111-1111-1111", "****-****-****-****"},
		{"card:4111111111111111", "card:****************"},
		{"card 5555555555554444.", "card ****************."},
		{"(4012888888881881)", "(****************)"},
		{"1.5-4111111111111111", "1.5-****************"},
		{"x1 4111 1111 1111 1111", "x1 **** **** **** ****"}, // glued digits skipped, the card after them counts
		{"no.4111111111111111", "no.****************"},       // a dot after a word is no decimal point
		{"4111111111111111,5555555555554444", "****************,****************"},
		{"\u00a04111111111111111", "\u00a0****************"},                       // no-break space
		{"4111111111111111 5555555555554444", "**************** ****************"}, // two cards, one space apart
		{"order 42 4111 1111 1111 1111", "order 42 **** **** **** ****"},           // a card after a short number
		{"4111 1111 1111 1111 378282246310005", "**** **** **** **** ***************"},
		{"4111 1111 1111 1111 123", "**** **** **** **** 123"},
		{"+49 30 1234 5678 9012", "+49 30 1234 5678 9012"}, // a phone number: no group run of card length
		// not cards
		{"45.963171592376895", "45.963171592376895"},   // decimal part passes Luhn
		{"283.66666666666663", "283.66666666666663"},   // likewise
		{"4111111111111111.5", "4111111111111111.5"},   // integer part of a decimal
		{"abc4111111111111111", "abc4111111111111111"}, // inside an identifier
		{"_4111111111111111", "_4111111111111111"},
		{"4111111111111111_x", "4111111111111111_x"},
		{"4111111111111111px", "4111111111111111px"},
		{"41111111111111110000", "41111111111111110000"},         // 20 digits: a longer number
		{"1234567890123456", "1234567890123456"},                 // fails Luhn
		{"4111  1111 1111 1111", "4111  1111 1111 1111"},         // double space: two runs, neither long enough
		{"12.5 4111111111111111000", "12.5 4111111111111111000"}, // a 19+ digit group is one longer number
		{"411111111111", "411111111111"},                         // 12 digits
	}
	for _, tc := range cases {
		if got := ScrubCardsString(tc.in); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
	if !luhn([]byte("963171592376895")) || !luhn([]byte("66666666666663")) {
		t.Fatal("the decimal parts above should pass Luhn, or the cases prove nothing")
	}
}

// luhnID is a 16-digit id that passes Luhn, as one in ten ids does.
const luhnID = "1234567890123403"

// TestCardsMaskedWhereTextLives: with mask_inputs off, card numbers are
// masked in text nodes, typed text, values and the attributes that carry
// user text, custom events, console and network payloads.
func TestCardsMaskedWhereTextLives(t *testing.T) {
	chunk := `[{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"body","attributes":{},"childNodes":[
 {"type":3,"id":3,"textContent":"Pay with 4111 1111 1111 1111 today"},
 {"type":2,"id":4,"tagName":"input","attributes":{"type":"text","value":"c 5555-5555-5555-4444","placeholder":"e.g. 4012888888881881","title":"4111111111111111","aria-label":"card:4111111111111111"},"childNodes":[]},
 {"type":2,"id":5,"tagName":"img","attributes":{"alt":"card 4012 8888 8888 1881"},"childNodes":[]},
 {"type":2,"id":6,"tagName":"textarea","attributes":{},"childNodes":[{"type":3,"id":7,"textContent":"first line\n4111111111111111"}]},
 {"type":5,"id":8,"textContent":" 5555555555554444 "}
]}]}}},
{"type":3,"timestamp":2,"data":{"source":5,"text":"\t4111 1111 1111 1111","isChecked":false,"id":4}},
{"type":3,"timestamp":3,"data":{"source":5,"text":"second line\n5555-5555-5555-4444","isChecked":false,"id":6}},
{"type":3,"timestamp":4,"data":{"source":0,"texts":[{"id":3,"value":"now 4012888888881881"}],"attributes":[{"id":4,"attributes":{"value":"4111111111111111"}}],"removes":[],
 "adds":[{"parentId":2,"nextId":null,"node":{"type":3,"id":9,"textContent":"added 5555555555554444"}}]}},
{"type":5,"timestamp":5,"data":{"tag":"checkout","payload":{"card":"4111111111111111"}}},
{"type":6,"timestamp":6,"data":{"plugin":"rrweb/network@1","payload":{"requests":[{"url":"/api","responseBody":"{\"projectId\":\"` + luhnID + `\"}"}]}}},
{"type":6,"timestamp":7,"data":{"plugin":"rrweb/console@1","payload":{"level":"log","payload":["\"4012888888881881\""]}}},
{"type":3,"timestamp":8,"data":{"source":11,"level":"log","payload":["4111 1111 1111 1111"]}}]`
	out := apply(t, Config{}, chunk, &State{})
	for _, card := range []string{"4111", "5555", "4012", luhnID} {
		if strings.Contains(out, card) {
			t.Errorf("card %s survived: %s", card, out)
		}
	}
	for _, kept := range []string{"Pay with **** **** **** **** today", `first line\n****************`, "second line", `"now ****************"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("%q missing (only the digits are masked): %s", kept, out)
		}
	}
}

// lyingCoordinates are values an SVG charting library writes whose digit
// runs pass Luhn: decimal parts (45.963171592376895), and for the worst
// case integers that would be cards in text.
const lyingCoordinates = `[{"type":4,"timestamp":1,"data":{"href":"http://127.0.0.1/orders/4111111111111111","width":1280,"height":720}},
{"type":2,"timestamp":2,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"html","attributes":{},"childNodes":[
 {"type":2,"id":3,"tagName":"style","attributes":{"_cssText":".a{z-index:4111111111111111}"},"childNodes":[{"type":3,"id":4,"textContent":".b{z-index: 4012888888881881 }","isStyle":true}]},
 {"type":2,"id":5,"tagName":"svg","isSVG":true,"attributes":{"viewBox":"0 0 4111111111111111 45.963171592376895","width":"45.963171592376895","height":"283.66666666666663"},"childNodes":[
  {"type":2,"id":6,"tagName":"path","isSVG":true,"attributes":{"d":"M45.963171592376895,283.66666666666663L1.414213562370006,4111111111111111","transform":"translate(120.08333333330006, 4111111111111111)"},"childNodes":[]},
  {"type":2,"id":7,"tagName":"line","isSVG":true,"attributes":{"x1":"45.963171592376895","x2":"4111111111111111","y1":"1.414213562370014","y2":"0","style":"stroke-width: 4111111111111111"},"childNodes":[]},
  {"type":2,"id":8,"tagName":"rect","isSVG":true,"attributes":{"x":"45.963171592376895","y":"283.66666666666663","rx":"4111111111111111","width":"120.08333333330014","height":"1.414213562370022"},"childNodes":[]},
  {"type":2,"id":9,"tagName":"polyline","isSVG":true,"attributes":{"points":"45.963171592376895,4111111111111111 4012888888881881,1"},"childNodes":[]},
  {"type":2,"id":10,"tagName":"circle","isSVG":true,"attributes":{"cx":"45.963171592376895","cy":"4111111111111111","r":"4012888888881881"},"childNodes":[]},
  {"type":2,"id":11,"tagName":"text","isSVG":true,"attributes":{"x":"4111111111111111"},"childNodes":[{"type":3,"id":12,"textContent":"45.963171592376895"}]}
 ]},
 {"type":2,"id":13,"tagName":"a","attributes":{"href":"/orders/4111111111111111","src":"/img/4111111111111111.png","data-id":"4111111111111111","id":"x"},"childNodes":[]},
 {"type":2,"id":14,"tagName":"script","attributes":{},"childNodes":[{"type":3,"id":15,"textContent":"var n = 4111111111111111;"}]}
]}]}}},
{"type":3,"timestamp":3,"data":{"source":0,"texts":[{"id":4,"value":".b{z-index: 4111111111111111 }"},{"id":12,"value":"283.66666666666663"}],
 "attributes":[{"id":6,"attributes":{"d":"M4111111111111111,45.963171592376895","style":{"z-index":"4111111111111111"}}}],"removes":[],
 "adds":[{"parentId":3,"nextId":null,"node":{"type":3,"id":16,"textContent":".c{z-index: 4111111111111111 }"}}]}},
{"type":3,"timestamp":4,"data":{"source":8,"id":3,"adds":[{"rule":".d{z-index: 4111111111111111 }","index":0}]}},
{"type":3,"timestamp":5,"data":{"source":13,"id":3,"index":[0],"set":{"property":"z-index","value":"4111111111111111"}}}]`

// TestGeometryAndStylingNeverRewritten: SVG coordinates, styles, CSS, code
// and URLs come back byte for byte, whatever the configuration, even where
// a digit run would be a card number in text.
func TestGeometryAndStylingNeverRewritten(t *testing.T) {
	for _, cfg := range []Config{{}, {MaskInputs: true}} {
		if out := apply(t, cfg, lyingCoordinates, &State{}); out != lyingCoordinates {
			t.Errorf("mask_inputs %v rewrote geometry or styling:\n%s", cfg.MaskInputs, out)
		}
	}
	if out := apply(t, Config{MaskInputs: true}, string(svgChartChunk(400)), &State{}); out != string(svgChartChunk(400)) {
		t.Errorf("the generated chart page was rewritten")
	}
}
