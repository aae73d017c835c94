package rrweb

import (
	"bytes"
	"compress/gzip"
	"strconv"
	"strings"
	"testing"

	"github.com/seed/sessionreplay/pkg/fixtures"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	return fixtures.Read(t, "rrweb", name)
}

func TestDecodeBodyGzipAndJSON(t *testing.T) {
	raw := fixture(t, "input.events.json")
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(raw)
	w.Close()
	for name, body := range map[string][]byte{"gzip": buf.Bytes(), "json": raw} {
		enc := name
		out, err := DecodeBody(body, enc, 1<<20)
		if err != nil || !bytes.Equal(out, raw) {
			t.Fatalf("%s: %v", name, err)
		}
		c, err := Parse(out)
		if err != nil || len(c.Events) != 11 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := DecodeBody(buf.Bytes(), "gzip", 100); err == nil {
		t.Error("gzip bomb limit not enforced")
	}
	if _, err := DecodeBody(raw, "gzip", 1<<20); err == nil {
		t.Error("encoding gzip on plain JSON accepted")
	}
	for _, bad := range []string{`{"type":1}`, `[1,2`, `not json`, `[{"type":"x"}]`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestSummarizeRealRecordings(t *testing.T) {
	cases := []struct {
		file               string
		events             int
		minClicks, urls    int
		fullSnapshot, meta bool
	}{
		{"smartx-90s.events.json", 947, 1, 1, true, true},
		{"smartx-2h.events.json", 821, 0, 1, true, true},
		{"legacy-2018-checkout-demo.events.json", 231, 1, 0, true, false},
		{"steel-codesandbox.events.json", 84, 1, 1, true, true},
		{"input.events.json", 11, 0, 1, true, true},
	}
	for _, c := range cases {
		ch, err := Parse(fixture(t, c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		s := Summarize(ch)
		if s.Events != c.events || s.Clicks < c.minClicks || len(s.URLs) != c.urls || s.FullSnapshot != c.fullSnapshot || (s.PageViews > 0) != c.meta {
			t.Errorf("%s: %+v", c.file, s)
		}
		if s.Start == 0 || s.End < s.Start {
			t.Errorf("%s: start %d end %d", c.file, s.Start, s.End)
		}
		if c.file == "smartx-2h.events.json" && s.End-s.Start < 100*60*1000 {
			t.Errorf("smartx-2h lasts %d ms", s.End-s.Start)
		}
		if c.file == "input.events.json" && s.Inputs == 0 {
			t.Errorf("input: no inputs counted")
		}
		if c.file == "smartx-90s.events.json" && (s.ActiveMs <= 0 || s.ActiveMs > s.End-s.Start) {
			t.Errorf("active ms %d of %d", s.ActiveMs, s.End-s.Start)
		}
		clicks := 0
		for _, m := range s.Markers {
			if m.Kind == "click" {
				clicks++
			}
		}
		if clicks != s.Clicks {
			t.Errorf("%s: %d click markers, %d clicks", c.file, clicks, s.Clicks)
		}
	}
}

func TestRageClicks(t *testing.T) {
	mk := func(ts int64, x, y int) string {
		return `{"type":3,"timestamp":` + itoa(ts) + `,"data":{"source":2,"type":2,"id":5,"x":` + itoa(int64(x)) + `,"y":` + itoa(int64(y)) + `}}`
	}
	burst := []string{mk(1000, 100, 100), mk(1200, 105, 98), mk(1400, 110, 102), mk(1600, 104, 100), // one rage click (4 clicks)
		mk(5000, 100, 100), mk(5300, 400, 400), mk(5600, 100, 100), // spread out: none
		mk(9000, 10, 10), mk(9900, 12, 12), mk(10800, 14, 14)} // >1s from first: none
	ch, err := Parse([]byte("[" + strings.Join(burst, ",") + "]"))
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(ch)
	if s.RageClicks != 1 || s.Clicks != 10 {
		t.Fatalf("rage %d clicks %d", s.RageClicks, s.Clicks)
	}
}

func TestEncodeKeepsUnchangedBytes(t *testing.T) {
	raw := fixture(t, "input.events.json")
	c, _ := Parse(raw)
	out, _ := c.Encode()
	if &out[0] != &raw[0] {
		t.Error("unchanged chunk was copied")
	}
	c.Replace(c.Events[3].Data, []byte(`{"x":1}`))
	out, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(out)
	if err != nil || len(again.Events) != len(c.Events) || string(again.Tape.Raw(again.Events[3].Data)) != `{"x":1}` {
		t.Fatalf("edited: %v %s", err, out)
	}
	if !bytes.Equal(raw, fixture(t, "input.events.json")) {
		t.Error("the original bytes were modified")
	}
}

func TestRemoveMembers(t *testing.T) {
	cases := []struct{ in, drop, want string }{
		{`{"a":1,"b":2,"c":3}`, "b", `{"a":1,"c":3}`},
		{`{"a":1,"b":2,"c":3}`, "a", `{"b":2,"c":3}`},
		{`{"a":1,"b":2,"c":3}`, "c", `{"a":1,"b":2}`},
		{`{"a":1,"b":2,"c":3}`, "bc", `{"a":1}`},
		{`{"a":1,"b":2,"c":3}`, "ab", `{"c":3}`},
		{`{"a":1,"b":2,"c":3}`, "ac", `{"b":2}`},
		{`{"a":1,"b":2,"c":3}`, "abc", `{}`},
		{`{ "a" : 1 , "b" : [2] }`, "a", `{ "b" : [2] }`},
		{`{ "a" : 1 , "b" : [2] }`, "b", `{ "a" : 1 }`},
		{`{"a":1}`, "", `{"a":1}`},
	}
	for _, tc := range cases {
		c, err := Parse([]byte(`[{"type":1,"data":` + tc.in + `}]`))
		if err != nil {
			t.Fatal(err)
		}
		c.RemoveMembers(c.Events[0].Data, func(k int) bool {
			key, _ := c.Tape.Str(k)
			return strings.Contains(tc.drop, key)
		})
		out, err := c.Encode()
		if want := `[{"type":1,"data":` + tc.want + `}]`; err != nil || string(out) != want {
			t.Errorf("%s drop %q: %s, want %s (%v)", tc.in, tc.drop, out, want, err)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
