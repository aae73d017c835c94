// Package jsontape validates a JSON document in one pass and records it as a
// flat tape of tokens (byte ranges plus the index just past each value), so
// the receiver can read and rewrite rrweb events without decoding them into
// maps: a member is found by comparing key bytes, a subtree is skipped in one
// step, and an edit is a byte range to replace.
//
// encoding/json validates every value again on each Unmarshal and builds
// maps for the generic case; on replay chunks (large DOM snapshots, long CSS
// strings) that was half of the receiver's CPU.
package jsontape

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// Kind is the JSON type of a token.
type Kind uint8

// Token kinds.
const (
	Invalid Kind = iota
	Object
	Array
	String
	Number
	True
	False
	Null
)

// MaxDepth bounds nesting, as encoding/json does, so walkers that recurse
// over a tape cannot exhaust the stack.
const MaxDepth = 10000

// Token is one value (or object key) of the document.
type Token struct {
	// Start and End delimit the value in the data; strings include their
	// quotes, containers their brackets.
	Start, End int32
	// Next is the index of the first token after this value and everything
	// inside it: the next sibling, or the end of the parent.
	Next int32
	Kind Kind
	// Escaped is set on strings holding a backslash escape.
	Escaped bool
}

// Tape is a parsed document. Object members are stored as a key token (a
// String) followed by the value's tokens; array elements follow each other.
type Tape struct {
	Data   []byte
	Tokens []Token
	stack  []int32
}

// SyntaxError is a malformed document, with the offset where it goes wrong.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.Msg)
}

// Parse validates data as one JSON value (surrounded by optional whitespace)
// and fills the tape. The tape refers to data; data must not change while the
// tape is used. Tokens and internal buffers are reused across calls.
func (t *Tape) Parse(data []byte) error {
	if len(data) >= math.MaxInt32 {
		return &SyntaxError{0, "document over 2 GiB"}
	}
	t.Data = data
	t.Tokens = t.Tokens[:0]
	t.stack = t.stack[:0]
	n := len(data)
	i := skipWS(data, 0)
	needValue := true
	for {
		if needValue {
			if i >= n {
				return &SyntaxError{i, "unexpected end of input"}
			}
			switch c := data[i]; c {
			case '{', '[':
				if len(t.stack) >= MaxDepth {
					return &SyntaxError{i, "nesting deeper than 10000"}
				}
				kind := Object
				if c == '[' {
					kind = Array
				}
				t.stack = append(t.stack, int32(len(t.Tokens)))
				t.Tokens = append(t.Tokens, Token{Start: int32(i), Kind: kind})
				i = skipWS(data, i+1)
				if i < n && ((kind == Object && data[i] == '}') || (kind == Array && data[i] == ']')) {
					t.close(i)
					i++
					needValue = false
					break
				}
				if kind == Object {
					var err error
					if i, err = t.key(i); err != nil {
						return err
					}
				}
				continue
			case '"':
				end, esc, err := scanString(data, i)
				if err != nil {
					return err
				}
				t.Tokens = append(t.Tokens, Token{Start: int32(i), End: int32(end), Next: int32(len(t.Tokens) + 1), Kind: String, Escaped: esc})
				i = end
			case 't':
				if err := t.literal(i, "true", True); err != nil {
					return err
				}
				i += 4
			case 'f':
				if err := t.literal(i, "false", False); err != nil {
					return err
				}
				i += 5
			case 'n':
				if err := t.literal(i, "null", Null); err != nil {
					return err
				}
				i += 4
			default:
				end, err := scanNumber(data, i)
				if err != nil {
					return err
				}
				t.Tokens = append(t.Tokens, Token{Start: int32(i), End: int32(end), Next: int32(len(t.Tokens) + 1), Kind: Number})
				i = end
			}
			needValue = false
		}
		// after a value
		i = skipWS(data, i)
		if len(t.stack) == 0 {
			if i != n {
				return &SyntaxError{i, "data after the top-level value"}
			}
			return nil
		}
		if i >= n {
			return &SyntaxError{i, "unexpected end of input"}
		}
		top := t.Tokens[t.stack[len(t.stack)-1]].Kind
		switch c := data[i]; {
		case c == ',':
			i = skipWS(data, i+1)
			if top == Object {
				var err error
				if i, err = t.key(i); err != nil {
					return err
				}
			}
			needValue = true
		case (c == '}' && top == Object) || (c == ']' && top == Array):
			t.close(i)
			i++
		default:
			if top == Object {
				return &SyntaxError{i, "expected ',' or '}' after an object member"}
			}
			return &SyntaxError{i, "expected ',' or ']' after an array element"}
		}
	}
}

// close ends the innermost container at the bracket at i.
func (t *Tape) close(i int) {
	idx := t.stack[len(t.stack)-1]
	t.stack = t.stack[:len(t.stack)-1]
	t.Tokens[idx].End = int32(i + 1)
	t.Tokens[idx].Next = int32(len(t.Tokens))
}

// key reads `"name" :` at i and returns the offset of the value.
func (t *Tape) key(i int) (int, error) {
	if i >= len(t.Data) || t.Data[i] != '"' {
		return i, &SyntaxError{i, "expected a string object key"}
	}
	end, esc, err := scanString(t.Data, i)
	if err != nil {
		return i, err
	}
	t.Tokens = append(t.Tokens, Token{Start: int32(i), End: int32(end), Next: int32(len(t.Tokens) + 1), Kind: String, Escaped: esc})
	i = skipWS(t.Data, end)
	if i >= len(t.Data) || t.Data[i] != ':' {
		return i, &SyntaxError{i, "expected ':' after an object key"}
	}
	return skipWS(t.Data, i+1), nil
}

func (t *Tape) literal(i int, word string, kind Kind) error {
	if len(t.Data)-i < len(word) || string(t.Data[i:i+len(word)]) != word {
		return &SyntaxError{i, "invalid literal"}
	}
	t.Tokens = append(t.Tokens, Token{Start: int32(i), End: int32(i + len(word)), Next: int32(len(t.Tokens) + 1), Kind: kind})
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special flags (high bit of each byte) the quotes, backslashes and control
// characters of w, the bytes a string scan must stop at. Only the lowest
// flag is exact (a borrow can set flags above it), which is all the scan
// uses: the first byte to look at.
func special(w uint64) uint64 {
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	return ((q-ones)&^q | (b-ones)&^b | (w-ones*0x20)&^w) & highs
}

// scanString validates the string starting at the quote at i and returns the
// offset just past its closing quote.
func scanString(data []byte, i int) (int, bool, error) {
	n := len(data)
	j := i + 1
	escaped := false
	for {
		for j+8 <= n {
			if m := special(binary.LittleEndian.Uint64(data[j:])); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		if j >= n {
			return j, escaped, &SyntaxError{i, "unterminated string"}
		}
		c := data[j]
		switch {
		case c == '"':
			return j + 1, escaped, nil
		case c == '\\':
			escaped = true
			if j+1 >= n {
				return j, escaped, &SyntaxError{j, "unterminated string"}
			}
			switch data[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > n || !isHex(data[j+2]) || !isHex(data[j+3]) || !isHex(data[j+4]) || !isHex(data[j+5]) {
					return j, escaped, &SyntaxError{j, `invalid \u escape`}
				}
				j += 6
			default:
				return j, escaped, &SyntaxError{j, "invalid escape"}
			}
		case c < 0x20:
			return j, escaped, &SyntaxError{j, "control character in string"}
		default:
			j++
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber validates -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at i.
func scanNumber(data []byte, i int) (int, error) {
	n := len(data)
	j := i
	if j < n && data[j] == '-' {
		j++
	}
	switch {
	case j < n && data[j] == '0':
		j++
	case j < n && data[j] >= '1' && data[j] <= '9':
		for j < n && data[j] >= '0' && data[j] <= '9' {
			j++
		}
	default:
		return j, &SyntaxError{j, "invalid value"}
	}
	if j < n && data[j] == '.' {
		j++
		k := j
		for j < n && data[j] >= '0' && data[j] <= '9' {
			j++
		}
		if j == k {
			return j, &SyntaxError{j, "invalid number: no digits after '.'"}
		}
	}
	if j < n && (data[j] == 'e' || data[j] == 'E') {
		j++
		if j < n && (data[j] == '+' || data[j] == '-') {
			j++
		}
		k := j
		for j < n && data[j] >= '0' && data[j] <= '9' {
			j++
		}
		if j == k {
			return j, &SyntaxError{j, "invalid number: no digits in exponent"}
		}
	}
	return j, nil
}

// ---- reading ----

// Raw is the token's bytes in the document.
func (t *Tape) Raw(i int) []byte {
	tok := &t.Tokens[i]
	return t.Data[tok.Start:tok.End]
}

// Kind of token i; Invalid for i < 0, so lookups can be chained.
func (t *Tape) Kind(i int) Kind {
	if i < 0 || i >= len(t.Tokens) {
		return Invalid
	}
	return t.Tokens[i].Kind
}

// Next is the index after token i and its children.
func (t *Tape) Next(i int) int { return int(t.Tokens[i].Next) }

// Member returns the value token of key in object obj (the last one if the
// key repeats, as encoding/json decodes), or -1.
func (t *Tape) Member(obj int, key string) int {
	if t.Kind(obj) != Object {
		return -1
	}
	found := -1
	for k := obj + 1; k < int(t.Tokens[obj].Next); k = int(t.Tokens[k+1].Next) {
		if t.KeyIs(k, key) {
			found = k + 1
		}
	}
	return found
}

// KeyIs reports whether string token k equals s once decoded.
func (t *Tape) KeyIs(k int, s string) bool {
	tok := &t.Tokens[k]
	if !tok.Escaped {
		return string(t.Data[tok.Start+1:tok.End-1]) == s
	}
	v, _ := t.Str(k)
	return v == s
}

// Str decodes a string token; ok is false for other kinds.
func (t *Tape) Str(i int) (string, bool) {
	if t.Kind(i) != String {
		return "", false
	}
	tok := &t.Tokens[i]
	if !tok.Escaped {
		return string(t.Data[tok.Start+1 : tok.End-1]), true
	}
	var s string
	if err := json.Unmarshal(t.Data[tok.Start:tok.End], &s); err != nil {
		return "", false
	}
	return s, true
}

// RuneCount is the number of characters of a string token once decoded
// (an invalid UTF-8 byte counts as one, as it decodes to U+FFFD).
func (t *Tape) RuneCount(i int) int {
	tok := &t.Tokens[i]
	if !tok.Escaped {
		return utf8.RuneCount(t.Data[tok.Start+1 : tok.End-1])
	}
	s, _ := t.Str(i)
	return utf8.RuneCountInString(s)
}

// Int reads a number token that is an integer (1e3 and 5.0 are integers,
// 1.5 is not).
func (t *Tape) Int(i int) (int64, bool) {
	if t.Kind(i) != Number {
		return 0, false
	}
	raw := t.Raw(i)
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

// Float reads a number token.
func (t *Tape) Float(i int) (float64, bool) {
	if t.Kind(i) != Number {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(t.Raw(i)), 64)
	return f, err == nil
}
