package privacy

import (
	"encoding/json"
	"testing"

	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
)

// FuzzMask: masking arbitrary rrweb events (snapshots, mutations, inputs)
// never panics and leaves valid JSON; card scrubbing never panics.
func FuzzMask(f *testing.F) {
	f.Add([]byte(`[{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"input","attributes":{"type":"password","value":"x"},"childNodes":[]},{"type":2,"id":3,"tagName":"div","attributes":{"data-sensitive":""},"childNodes":[{"type":3,"id":4,"textContent":"t"}]}]}}},{"type":3,"timestamp":2,"data":{"source":5,"text":"4111 1111 1111 1111","id":2}}]`))
	f.Add([]byte(`[{"type":3,"timestamp":2,"data":{"source":0,"adds":[{"parentId":1,"node":{"type":2,"id":9,"tagName":"input","attributes":{"name":"cvv","value":"123"}}}],"attributes":[{"id":9,"attributes":{"type":"password","value":"y"}}],"texts":[{"id":4,"value":"z"}]}}]`))
	f.Add([]byte(`[{"type":2,"timestamp":1,"data":{"node":{"type":2,"tagName":7,"attributes":[],"childNodes":{}}}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := rrweb.Parse(data); err != nil {
			return
		}
		for _, cfg := range []Config{{MaskInputs: false}, {MaskInputs: true, DropAttributes: []string{"title"}, MaskSelectors: []string{"[data-private]"}}} {
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := rrweb.Parse(data)
			m.Apply(c, &State{})
			out, err := c.Encode()
			if err != nil {
				t.Fatalf("masking edits: %v", err)
			}
			if !json.Valid(out) {
				t.Fatalf("invalid JSON after masking: %q", out)
			}
			if again, err := rrweb.Parse(out); err != nil || len(again.Events) != len(c.Events) {
				t.Fatalf("masked chunk lost events: %v %q", err, out)
			}
			c.Release()
		}
		_ = ScrubCardsString(string(data))
	})
}
