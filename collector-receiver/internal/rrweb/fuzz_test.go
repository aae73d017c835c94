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
		events, err := Parse(data)
		if err != nil {
			return
		}
		_ = Summarize(events)
		out, err := Encode(events, data)
		if err != nil || !json.Valid(out) {
			t.Fatalf("encode: %v %q", err, out)
		}
		for i := range events {
			events[i].Changed = true
		}
		out, err = Encode(events, data)
		if err == nil && !json.Valid(out) {
			t.Fatalf("re-encoded invalid JSON: %q", out)
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
		evs := []Event{ev}
		_ = Summarize(evs)
		evs[0].Changed = true
		out, err := Encode(evs, nil)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON: %q", out)
		}
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
