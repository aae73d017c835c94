package jsontape

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed/sessionreplay/pkg/fixtures"
)

// cases are documents whose validity encoding/json decides; the tape must
// agree with it on every one.
var cases = []string{
	`{}`, `[]`, ` [ ] `, `{"a":1}`, `{"a":[1,2,{"b":null}],"c":"d"}`, `"x"`, `0`, `-0.5e+3`, `true`, `false`, `null`,
	`"\u00e9\n\t\"\\\/"`, `[1,-1,0.0,1e5,1E-5]`, "[\"\xff\"]", `{"a":{"b":{"c":[[[]]]}}}`,
	``, ` `, `{`, `[`, `[1,]`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{1:2}`, `[01]`, `[1.]`, `[.5]`, `[1e]`, `[-]`, `[+1]`,
	`"abc`, `"\x"`, `"\u12"`, "\"a\x01b\"", `tru`, `nul`, `[true false]`, `{"a":1 "b":2}`, `[1]]`, `[1] x`, `{]`, `[}`,
	`"0123456789abcdef0123456789abcdef"`, `"0123456789abcdef0123456789abc\"def"`, "\"0123456789abcdef\x1f\"",
}

func TestParseAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range cases {
		var tp Tape
		err := tp.Parse([]byte(c))
		if want := json.Valid([]byte(c)); (err == nil) != want {
			t.Errorf("%q: tape error %v, encoding/json valid %v", c, err, want)
		}
	}
}

func TestTokens(t *testing.T) {
	var tp Tape
	doc := `{"type":3, "data":{"source":5,"text":"a\"b","id":7.0},"k":"v","k":"w","n":[1,{"x":2}]}`
	if err := tp.Parse([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	data := tp.Member(0, "data")
	if tp.Kind(data) != Object || string(tp.Raw(data)) != `{"source":5,"text":"a\"b","id":7.0}` {
		t.Fatalf("data: %q", tp.Raw(data))
	}
	if s, ok := tp.Str(tp.Member(data, "text")); !ok || s != `a"b` || tp.RuneCount(tp.Member(data, "text")) != 3 {
		t.Errorf("text %q %v", s, ok)
	}
	if id, ok := tp.Int(tp.Member(data, "id")); !ok || id != 7 {
		t.Errorf("id %d %v", id, ok)
	}
	if v, _ := tp.Str(tp.Member(0, "k")); v != "w" {
		t.Errorf("repeated key: %q, want the last one", v)
	}
	if tp.Member(0, "missing") != -1 || tp.Member(tp.Member(0, "missing"), "x") != -1 {
		t.Error("missing member")
	}
	arr := tp.Member(0, "n")
	var got []string
	for e := arr + 1; e < tp.Next(arr); e = tp.Next(e) {
		got = append(got, string(tp.Raw(e)))
	}
	if strings.Join(got, "|") != `1|{"x":2}` {
		t.Errorf("elements %v", got)
	}
	if tp.Next(0) != len(tp.Tokens) {
		t.Errorf("root Next %d of %d tokens", tp.Next(0), len(tp.Tokens))
	}
}

func TestDepthLimit(t *testing.T) {
	var tp Tape
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if err := tp.Parse([]byte(deep)); err == nil {
		t.Error("nesting over MaxDepth accepted")
	}
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if err := tp.Parse([]byte(ok)); err != nil {
		t.Errorf("nesting of MaxDepth refused: %v", err)
	}
}

func TestRealRecordings(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtures.Dir(t), "rrweb", "*.json"))
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	var tp Tape
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := tp.Parse(b); (err == nil) != json.Valid(b) {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

// FuzzParse: the tape accepts exactly what encoding/json accepts, and its
// tokens nest (every value lies inside its parent, Next moves forward).
func FuzzParse(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tp Tape
		err := tp.Parse(b)
		if (err == nil) != json.Valid(b) {
			t.Fatalf("tape error %v, encoding/json valid %v", err, json.Valid(b))
		}
		if err != nil {
			return
		}
		for i, tok := range tp.Tokens {
			if tok.Start < 0 || tok.End <= tok.Start || int(tok.End) > len(b) || int(tok.Next) <= i || int(tok.Next) > len(tp.Tokens) {
				t.Fatalf("token %d %+v", i, tok)
			}
			if !json.Valid(tp.Raw(i)) {
				t.Fatalf("token %d is not a JSON value: %q", i, tp.Raw(i))
			}
		}
	})
}

// BenchmarkParse compares the tape with encoding/json's validator (which
// json.Unmarshal runs before decoding) on a real recording.
func BenchmarkParse(b *testing.B) {
	for _, f := range []string{"smartx-90s.events.json", "byterat-css-inline.events.json", "commandbar-session.events.json", "rrweb-player-demo-demoit.events.json"} {
		data := fixtures.Read(b, "rrweb", f)
		name := strings.TrimSuffix(f, ".events.json")
		b.Run(name+"/tape", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var tp Tape
			for b.Loop() {
				if err := tp.Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/encoding_json_valid", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if !json.Valid(data) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
