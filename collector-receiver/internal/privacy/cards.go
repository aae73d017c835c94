package privacy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"

	"github.com/seed/sessionreplay/collector-receiver/internal/jsontape"
	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
)

// MaskCards records edits that mask every credit-card-like number inside
// the JSON strings of a chunk: 13 to 19 digits, optionally grouped by single
// spaces or dashes, passing the Luhn check. Digits become '*', so lengths
// and the JSON stay valid. Numbers outside strings (timestamps, ids) are
// left alone. It returns how many numbers it found.
func MaskCards(chunk *rrweb.Chunk) int {
	tp := &chunk.Tape
	n := 0
	for i := range tp.Tokens {
		t := &tp.Tokens[i]
		if t.Kind != jsontape.String || t.End-t.Start < 15 { // 13 digits and the quotes
			continue
		}
		start := int(t.Start) + 1
		s := tp.Data[start : t.End-1]
		if t.Escaped && escapesCardByte(s) {
			// digits or separators may be written as \u escapes: look at the
			// decoded text and rewrite the whole string when it holds a card
			if text, ok := tp.Str(i); ok && hasDigitRun(text) {
				b := []byte(text)
				if found := scrubRaw(b); found > 0 {
					quoted, _ := json.Marshal(string(b))
					chunk.Replace(i, quoted)
					n += found
				}
			}
			continue
		}
		escEnd := -1 // where the last \n, \t, ... escape ended: a word boundary
		for j := 0; j < len(s); j++ {
			for j+8 <= len(s) {
				if m := digitOrEscape(binary.LittleEndian.Uint64(s[j:])); m != 0 {
					j += bits.TrailingZeros64(m) >> 3
					break
				}
				j += 8
			}
			if j >= len(s) {
				break
			}
			switch c := s[j]; {
			case c == '\\':
				j++ // skip the escaped byte
				if j < len(s) && s[j] != 'u' {
					escEnd = j + 1
				}
			case c >= '0' && c <= '9':
				last, card := cardAt(s, j, j == escEnd)
				if card {
					masked := bytes.Clone(s[j : last+1])
					maskDigits(masked)
					chunk.Edit(start+j, start+last+1, masked)
					n++
				}
				j = last
			}
		}
	}
	return n
}

// escapesCardByte reports whether a raw JSON string writes a digit, a space
// or a dash as a \u escape (\u0030-\u0039, \u0020, \u002d): only then can
// a card number hide from the byte scan. (Go's encoder writes < > & as
// \u003c... : those need no decoding.)
func escapesCardByte(s []byte) bool {
	for {
		i := bytes.Index(s, []byte(`\u00`))
		if i < 0 || i+6 > len(s) {
			return false
		}
		hi, lo := s[i+4], s[i+5]
		if (hi == '3' && lo >= '0' && lo <= '9') || (hi == '2' && (lo == '0' || lo == 'd' || lo == 'D')) {
			// a \u escape, unless its backslash is itself escaped
			if n := backslashesBefore(s, i); n%2 == 0 {
				return true
			}
		}
		s = s[i+4:]
	}
}

// backslashesBefore counts the backslashes right before s[i].
func backslashesBefore(s []byte, i int) int {
	n := 0
	for i > 0 && s[i-1] == '\\' {
		n++
		i--
	}
	return n
}

const (
	ones  = 0x0101010101010101
	low7  = 0x7f7f7f7f7f7f7f7f
	highs = 0x8080808080808080
)

// digitOrEscape flags (high bit of each byte) the ASCII digits and
// backslashes of w: where the scan of a string must look closer. The lowest
// flag is exact (a borrow may set flags above it).
func digitOrEscape(w uint64) uint64 {
	s := w ^ (ones * '\\')
	x := w & low7
	digit := (ones*(127+':') - x) & ^w & (x + ones*(127-'/')) // a byte strictly between '/' and ':'
	return ((s-ones)&^s | digit) & highs
}

// ScrubCardsString is ScrubCards for plain text (not JSON).
func ScrubCardsString(s string) string {
	if !hasDigitRun(s) {
		return s
	}
	b := []byte(s)
	if scrubRaw(b) == 0 {
		return s
	}
	return string(b)
}

// scrubRaw is ScrubCards over text that is entirely string content.
func scrubRaw(b []byte) int {
	n := 0
	for i := 0; i < len(b); i++ {
		if b[i] < '0' || b[i] > '9' {
			continue
		}
		last, card := cardAt(b, i, false)
		if card {
			maskDigits(b[i : last+1])
			n++
		}
		i = last
	}
	return n
}

// cardAt looks at the digit run starting at b[i] and reports whether it is
// a card number (13 to 19 digits passing Luhn, not part of a longer word;
// boundary says the byte before i ends a JSON escape such as \n, so it does
// not glue). It returns the index of the run's last byte, for the caller's
// loop.
func cardAt(b []byte, i int, boundary bool) (last int, card bool) {
	// a candidate must not continue a longer run of digits/letters
	if i > 0 && !boundary && isAlnum(b[i-1]) {
		for i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '9' {
			i++
		}
		return i, false
	}
	end, digits := run(b, i)
	card = digits >= 13 && digits <= 19 && (end >= len(b) || !isAlnum(b[end])) && luhn(b[i:end])
	return end - 1, card
}

func maskDigits(b []byte) {
	for k := range b {
		if b[k] >= '0' && b[k] <= '9' {
			b[k] = '*'
		}
	}
}

func hasDigitRun(s string) bool {
	c := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			c++
			if c >= 13 {
				return true
			}
		} else if s[i] != ' ' && s[i] != '-' {
			c = 0
		}
	}
	return false
}

// run returns the end of a digit run starting at i (single ' ' or '-'
// separators allowed between digits) and its digit count.
func run(b []byte, i int) (end, digits int) {
	end = i
	for end < len(b) {
		c := b[end]
		if c >= '0' && c <= '9' {
			digits++
			end++
			continue
		}
		if (c == ' ' || c == '-') && end+1 < len(b) && b[end+1] >= '0' && b[end+1] <= '9' {
			end++
			continue
		}
		break
	}
	return end, digits
}

func isAlnum(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func luhn(b []byte) bool {
	sum, double := 0, false
	for k := len(b) - 1; k >= 0; k-- {
		c := b[k]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
