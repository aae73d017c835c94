package privacy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"

	"github.com/seed/sessionreplay/collector-receiver/internal/jsontape"
	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
)

// sourceLog is rrweb 1's console plugin, an incremental source (11) with a
// payload of console arguments.
const sourceLog = 11

// cardsIn masks the card numbers in every string (keys included) of the
// value at tok: a custom event's or a plugin's payload.
func (w *walker) cardsIn(tok int) {
	if w.tp.Kind(tok) == jsontape.Invalid {
		return
	}
	for i := tok; i < w.tp.Next(tok); i++ {
		if w.tp.Tokens[i].Kind == jsontape.String {
			w.n += maskCardsInString(w.c, i)
		}
	}
}

// cards masks the card numbers in the text or value at tok: a string, or a
// number (a recorder may write a typed value as one).
func (w *walker) cards(tok int) {
	switch w.tp.Kind(tok) {
	case jsontape.String:
		w.n += maskCardsInString(w.c, tok)
	case jsontape.Number:
		raw := w.tp.Raw(tok)
		if len(raw) < 13 || !hasDigitRun(string(raw)) {
			return
		}
		b := bytes.Clone(raw)
		if scrubRaw(b) > 0 {
			w.c.Replace(tok, append(append([]byte{'"'}, b...), '"'))
			w.n++
		}
	}
}

// maskCardsInString records edits that mask every card number in string
// token i of the chunk (see cardsAt): its digits become '*', so separators
// and the JSON stay valid. It returns how many numbers it found.
func maskCardsInString(chunk *rrweb.Chunk, i int) int {
	tp := &chunk.Tape
	t := &tp.Tokens[i]
	if t.End-t.Start < 15 { // 13 digits and the quotes
		return 0
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
				return found
			}
		}
		return 0
	}
	n := 0
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
			if j+4 < len(s) && s[j] == 'u' {
				// \uXXXX: its hex digits are no text; the character it
				// writes glues like the same character unescaped
				r, _ := strconv.ParseUint(string(s[j+1:j+5]), 16, 32)
				j += 4
				if r >= 0x80 || !isWord(byte(r)) {
					escEnd = j + 1
				}
			} else if j < len(s) {
				escEnd = j + 1
			}
		case c >= '0' && c <= '9':
			j = cardsAt(s, j, j == escEnd, func(from, to int) {
				masked := bytes.Clone(s[from:to])
				maskDigits(masked)
				chunk.Edit(start+from, start+to, masked)
				n++
			})
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

// ScrubCardsString masks the card numbers of plain text (not JSON), by the
// rule of the chunks: timeline marker details.
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

// scrubRaw masks the card numbers of text that is entirely string content.
func scrubRaw(b []byte) int {
	n := 0
	for i := 0; i < len(b); i++ {
		if b[i] < '0' || b[i] > '9' {
			continue
		}
		i = cardsAt(b, i, false, func(from, to int) {
			maskDigits(b[from:to])
			n++
		})
	}
	return n
}

// cardsAt looks at the digit run starting at b[i] (digits, single spaces or
// dashes between groups) and calls mask with the byte range of every card
// number in it: 13 to 19 digits passing Luhn and standing alone. Not one: a
// run glued to a word (letters, digits, '_': an identifier such as
// abc4111111111111111), the decimal part of a number (45.963171592376895, a
// coordinate) or its integer part (4111111111111111.5). A run of groups
// holds cards made of consecutive groups, the longest from each group on:
// two cards one space apart, a card after a short number ("order 42 4111
// 1111 1111 1111"). Such a card starts with a group of 4 or more digits, and
// only its last group may be shorter, as cards are written (4-4-4-4, 4-6-5,
// 4-4-4-4-3); "+49 30 1234 5678 9012" is no card.
// boundary says the byte before i ends a JSON escape such as \n, so it does
// not glue. cardsAt returns the index of the run's last byte, for the
// caller's loop.
func cardsAt(b []byte, i int, boundary bool, mask func(from, to int)) (last int) {
	if i > 0 && !boundary && (isWord(b[i-1]) || (b[i-1] == '.' && i > 1 && isDigit(b[i-2]))) {
		// skip the glued digits only: a card after a separator still counts
		for i+1 < len(b) && isDigit(b[i+1]) {
			i++
		}
		return i
	}
	end, digits := run(b, i)
	gluedRight := end < len(b) && (isWord(b[end]) || (b[end] == '.' && end+1 < len(b) && isDigit(b[end+1])))
	if digits < 13 {
		return end - 1
	}
	if end-i == digits { // one group, the common case
		if digits <= 19 && !gluedRight && luhn(b[i:end]) {
			mask(i, end)
		}
		return end - 1
	}
	// the groups of the run, and cards made of consecutive groups
	var groups [][2]int
	for g := i; g < end; {
		e := g
		for e < end && isDigit(b[e]) {
			e++
		}
		groups = append(groups, [2]int{g, e})
		g = e + 1
	}
	for g := 0; g < len(groups); g++ {
		if groups[g][1]-groups[g][0] < 4 {
			continue
		}
		best, n := -1, 0
		for h := g; h < len(groups); h++ {
			if h > g && groups[h-1][1]-groups[h-1][0] < 4 {
				break // only a card's last group is short
			}
			if n += groups[h][1] - groups[h][0]; n > 19 {
				break
			}
			if n >= 13 && (h < len(groups)-1 || !gluedRight) && luhn(b[groups[g][0]:groups[h][1]]) {
				best = h
			}
		}
		if best >= 0 {
			mask(groups[g][0], groups[best][1])
			g = best
		}
	}
	return end - 1
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isWord: bytes that glue a digit run into an identifier or a longer number.
// Other bytes (punctuation, spaces, non-ASCII such as a no-break space) are
// boundaries: "card:4111..." and "№4111..." are cards.
func isWord(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
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
