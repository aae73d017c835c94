package privacy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
	"github.com/seed/sessionreplay/pkg/fixtures"
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

func TestMaskCards(t *testing.T) {
	in := []byte(`[{"type":5,"timestamp":1700000000000,"data":{"tag":"t","payload":{"text":"card 4111 1111 1111 1111, long text without digits to cross words","n":4111111111111111,"e":"\n4111111111111111"}}}]`)
	orig := string(in)
	c, err := rrweb.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	n := MaskCards(c)
	out, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
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
			last, card := cardAt(b, i, i == escEnd)
			if card {
				maskDigits(b[i : last+1])
			}
			i = last
		}
	}
	return b
}

// maskCards masks the cards of a chunk body, or reports that it is not one.
func maskCards(b []byte) ([]byte, bool) {
	c, err := rrweb.Parse(b)
	if err != nil {
		return nil, false
	}
	defer c.Release()
	MaskCards(c)
	out, err := c.Encode()
	return out, err == nil
}

// FuzzMaskCards: on any chunk, the tape-based scan masks exactly what the
// byte-by-byte reference masks.
func FuzzMaskCards(f *testing.F) {
	f.Add([]byte(`[{"type":1,"data":{"a":"4111 1111 1111 1111","b":"x\"4111111111111111"}}]`), "")
	f.Add([]byte(`[{"type":1,"data":"5555-5555-5555-4444"}]`), "pay 4012888888881881 now")
	f.Add([]byte(`[{"type":1,"data":["\\", "4012888888881881"],"n":4012888888881881}]`), "\n4111111111111111")
	f.Fuzz(func(t *testing.T, b []byte, text string) {
		// arbitrary bytes, and arbitrary text made into a chunk
		var quoted bytes.Buffer
		enc := json.NewEncoder(&quoted)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(text)
		for _, doc := range [][]byte{b, []byte(`[{"type":5,"data":{"tag":"x","payload":` + strings.TrimSpace(quoted.String()) + `}}]`)} {
			out, ok := maskCards(doc)
			if !ok {
				continue
			}
			if bytes.Contains(doc, []byte(`\u`)) {
				// strings with \u escapes are checked decoded, unlike the
				// byte-level reference: the result must still be a chunk
				if again, err := rrweb.Parse(out); err != nil {
					t.Fatalf("MaskCards made an invalid chunk: %v %q", err, out)
				} else {
					again.Release()
				}
				continue
			}
			if want := scrubReference(doc); string(out) != string(want) {
				t.Fatalf("MaskCards %q\nreference %q", out, want)
			}
		}
	})
}

func BenchmarkMaskCards(b *testing.B) {
	data := fixtures.Read(b, "rrweb", "smartx-90s.events.json")
	c, err := rrweb.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("tape", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			MaskCards(c)
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			scrubReference(data)
		}
	})
}
