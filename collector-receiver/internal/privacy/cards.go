package privacy

// ScrubCards masks, in place, every credit-card-like number inside the JSON
// strings of b: 13 to 19 digits, optionally grouped by single spaces or
// dashes, passing the Luhn check. Digits become '*', so the length and the
// JSON stay valid. Numbers outside strings (timestamps, ids) are left alone.
// It returns how many numbers were masked.
func ScrubCards(b []byte) int {
	n := 0
	inStr := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inStr {
			if c == '"' {
				inStr = true
			}
			continue
		}
		switch {
		case c == '\\':
			i++ // skip the escaped byte
		case c == '"':
			inStr = false
		case c >= '0' && c <= '9':
			var masked bool
			i, masked = scrubAt(b, i)
			if masked {
				n++
			}
		}
	}
	return n
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
		var masked bool
		i, masked = scrubAt(b, i)
		if masked {
			n++
		}
	}
	return n
}

// scrubAt looks at the digit run starting at b[i]: when it is a card number
// (13 to 19 digits passing Luhn, not part of a longer word) its digits become
// '*'. It returns the index of the run's last byte, for the caller's loop.
func scrubAt(b []byte, i int) (last int, masked bool) {
	// a candidate must not continue a longer run of digits/letters
	if i > 0 && isAlnum(b[i-1]) {
		for i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '9' {
			i++
		}
		return i, false
	}
	end, digits := run(b, i)
	if digits >= 13 && digits <= 19 && (end >= len(b) || !isAlnum(b[end])) && luhn(b[i:end]) {
		for k := i; k < end; k++ {
			if b[k] >= '0' && b[k] <= '9' {
				b[k] = '*'
			}
		}
		masked = true
	}
	return end - 1, masked
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
