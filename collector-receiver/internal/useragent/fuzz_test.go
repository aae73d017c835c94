package useragent

import (
	"testing"
	"unicode/utf8"
)

// FuzzParse: any user agent string parses without panicking, twice the same,
// into valid UTF-8 when the input is.
func FuzzParse(f *testing.F) {
	f.Add("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
	f.Add("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1")
	f.Add("Chrome/")
	f.Add("Firefox/\xff\xfe")
	f.Add("")
	f.Fuzz(func(t *testing.T, ua string) {
		a, b := Parse(ua), Parse(ua)
		if a != b {
			t.Fatalf("not deterministic: %+v %+v", a, b)
		}
		if utf8.ValidString(ua) {
			for _, s := range []string{a.Device, a.OS, a.Browser, a.Version} {
				if !utf8.ValidString(s) {
					t.Fatalf("invalid UTF-8 out of valid input: %q", s)
				}
			}
		}
	})
}
