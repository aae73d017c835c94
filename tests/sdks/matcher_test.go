//go:build e2e

package sdks

import (
	"encoding/json"
	"strings"
	"testing"
)

// The comparison the SDK test rests on must itself catch what it is there
// for: an event lost, one out of the SDK's order, one the server invented,
// and a value changed that is not a mask.
func TestMatchStreamsCatchesLostReorderedExtraAndAlteredEvents(t *testing.T) {
	ev := func(s string) json.RawMessage { return json.RawMessage(s) }
	sent := []stream{
		{Key: "page", Events: []json.RawMessage{ev(`{"type":4,"data":{"width":1024},"timestamp":1}`), ev(`{"type":2,"data":{"n":1},"timestamp":2}`),
			ev(`{"type":3,"data":{"source":5,"text":"ada@example.com","id":7},"timestamp":3}`)}},
		{Key: "frame", Events: []json.RawMessage{ev(`{"type":4,"data":{"width":420},"timestamp":2}`), ev(`{"type":2,"data":{"n":2},"timestamp":2}`)}},
	}
	windows := func(raws map[string][]string) map[string][]decoded {
		out := map[string][]decoded{}
		for w, rs := range raws {
			for _, r := range rs {
				d, err := decode(json.RawMessage(r))
				if err != nil {
					t.Fatal(err)
				}
				out[w] = append(out[w], d)
			}
		}
		return out
	}
	faithful := map[string][]string{
		// other key order and number spelling, the typed text masked
		"a": {`{"timestamp":1,"type":4,"data":{"width":1.024e3}}`, `{"type":2,"data":{"n":1},"timestamp":2}`,
			`{"type":3,"data":{"id":7,"source":5,"text":"***************"},"timestamp":3}`},
		"b": {`{"type":4,"data":{"width":420},"timestamp":2}`, `{"type":2,"data":{"n":2},"timestamp":2}`},
	}
	masked := maskedPaths{}
	if problems := matchStreams(sent, windows(faithful), masked); len(problems) != 0 {
		t.Errorf("a faithful replay was refused: %v", problems)
	}
	if masked["type 3 source 5: data.text"] != 1 || len(masked) != 1 {
		t.Errorf("masked paths = %v, want the input event's text once", masked)
	}
	// the masker's fixed-length placeholder is a mask too
	placeholder := map[string][]string{"a": {faithful["a"][0], faithful["a"][1], `{"type":3,"data":{"id":7,"source":5,"text":"******"},"timestamp":3}`}, "b": faithful["b"]}
	if problems := matchStreams(sent, windows(placeholder), maskedPaths{}); len(problems) != 0 {
		t.Errorf("a replay masked with the placeholder was refused: %v", problems)
	}

	for name, c := range map[string]struct {
		replay map[string][]string
		want   string
	}{
		"lost": {map[string][]string{"a": faithful["a"][:2], "b": faithful["b"]}, "2 of its 3 events"},
		"reordered": {map[string][]string{"a": {faithful["a"][1], faithful["a"][0], faithful["a"][2]}, "b": faithful["b"]},
			"events found in order"},
		"extra": {map[string][]string{"a": faithful["a"], "b": append([]string{`{"type":3,"data":{},"timestamp":9}`}, faithful["b"]...)},
			"the replay holds 6 events, the SDK sent 5"},
		"altered": {map[string][]string{"a": {faithful["a"][0], `{"type":2,"data":{"n":9},"timestamp":2}`, faithful["a"][2]}, "b": faithful["b"]},
			".data.n: 1 != 9"},
		"a mask that keeps letters": {map[string][]string{"a": {faithful["a"][0], faithful["a"][1],
			`{"type":3,"data":{"id":7,"source":5,"text":"ada@*******"},"timestamp":3}`}, "b": faithful["b"]}, "data.text"},
	} {
		problems := strings.Join(matchStreams(sent, windows(c.replay), maskedPaths{}), "; ")
		if !strings.Contains(problems, c.want) {
			t.Errorf("%s: problems %q, want one saying %q", name, problems, c.want)
		}
	}
}
