package rrweb

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"testing"
)

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

var seedChunk = []byte(`[{"type":4,"timestamp":1700000000000,"data":{"href":"https://shop.example/","width":1200,"height":800}},{"type":3,"timestamp":1700000000100,"data":{"source":2,"type":2,"id":5,"x":10,"y":20}},{"type":3,"timestamp":1700000000200,"data":{"source":5,"text":"abc","isChecked":false,"id":7}},{"type":5,"timestamp":1700000000300,"data":{"tag":"checkout","payload":{"a":1}}}]`)

// FuzzDecodeChunk: a chunk body, gzip or JSON, through decode, parse,
// summary and re-encoding. Never panics; what is produced is valid JSON.
func FuzzDecodeChunk(f *testing.F) {
	f.Add(seedChunk)
	f.Add(gzipped(seedChunk))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"type":2,"timestamp":1,"data":{"node":{"type":0,"childNodes":[]}}}]`))
	f.Add([]byte(`[{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"BUTTON","attributes":{"id":"p","class":"a b","aria-label":"x"},"childNodes":[{"type":3,"id":3,"textContent":"Pay"}]}]}}},` +
		`{"type":3,"timestamp":5,"data":{"source":0,"texts":[{"id":3,"value":"\u00e9"}],"attributes":[{"id":2,"attributes":{"class":null}}],"removes":[{"parentId":1,"id":2}],"adds":[{"parentId":1,"node":{"type":2,"id":4,"tagName":"a","attributes":{},"childNodes":[]}}]}},` +
		`{"type":3,"timestamp":9,"data":{"source":2,"type":2,"id":2,"x":1,"y":1}},{"type":6,"timestamp":9,"data":{"plugin":"rrweb/console@1","payload":{"level":"error","payload":["\"x\"",1]}}}]`))
	f.Add(gzipped([]byte(`[{"type":"x"}]`)))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Fuzz(func(t *testing.T, body []byte) {
		data, err := DecodeBody(body, "", 1<<20)
		if err != nil {
			return
		}
		if len(data) > 1<<20 {
			t.Fatalf("decoded %d bytes over the limit", len(data))
		}
		c, err := Parse(data)
		if err != nil {
			return
		}
		defer c.Release()
		_ = Summarize(c)
		// the same chunk twice as the chunks of one tab: the node index and
		// the waiting clicks carry over; labels stay bounded
		w := &Window{}
		for seq := range 2 {
			for _, m := range append(SummarizeWindow(c, w, uint64(seq)).Markers, w.Pending()...) {
				if len([]rune(m.Name)) > MaxLabel && m.Kind != "custom" && m.Kind != "navigation" {
					t.Fatalf("marker name over %d characters: %q", MaxLabel, m.Name)
				}
				if m.Kind != "custom" && m.Detail != "" && !json.Valid([]byte(m.Detail)) {
					t.Fatalf("marker detail is not JSON: %q", m.Detail)
				}
			}
		}
		out, err := c.Encode()
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("unedited chunk changed: %v %q", err, out)
		}
		// rewrite every event: drop its timestamp, replace its data
		for _, ev := range c.Events {
			c.RemoveMembers(ev.Obj, func(k int) bool { return c.Tape.KeyIs(k, "timestamp") })
			if ev.Data >= 0 {
				c.Replace(ev.Data, []byte(`{"masked":"***"}`))
			}
		}
		out, err = c.Encode()
		if err != nil || !json.Valid(out) {
			t.Fatalf("edited chunk: %v %q", err, out)
		}
		again, err := Parse(out)
		if err != nil || len(again.Events) != len(c.Events) {
			t.Fatalf("edited chunk does not parse back: %v %q", err, out)
		}
	})
}

// FuzzParseEvent: one rr-web.* record body (one rrweb event).
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"type":3,"timestamp":1700000000100,"data":{"source":2,"type":2,"id":5,"x":10,"y":20}}`))
	f.Add([]byte(`{"type":4,"timestamp":1,"data":{"href":"https://a/"},"id":"x","sessionId":"s"}`))
	f.Add([]byte(`{"type":2,"data":{"node":`))
	f.Add([]byte(`{"type":1e400}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := ParseEvent(raw)
		if err != nil {
			return
		}
		c, err := Parse(Join([][]byte{raw, raw}))
		if err != nil || len(c.Events) != 2 || c.Events[0].Type != ev.Type || c.Events[1].Timestamp != ev.Timestamp {
			t.Fatalf("joined event: %v", err)
		}
		_ = Summarize(c)
	})
}

// FuzzGunzip: gzip request/chunk bodies never inflate past the limit.
func FuzzGunzip(f *testing.F) {
	f.Add(gzipped(seedChunk))
	f.Add(gzipped(make([]byte, 1<<16)))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := Gunzip(b, 4096)
		if err == nil && len(out) > 4096 {
			t.Fatalf("%d bytes over the 4096 limit", len(out))
		}
	})
}
