package sealed_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/seed/sessionreplay/collector-receiver/internal/sealed"
)

func TestSealedValueOpensOnlyForItsRowUnderItsKey(t *testing.T) {
	key, err := sealed.ParseKey(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := sealed.New(key)
	b, _ := sealed.New(key) // another replica, same key
	other, _ := sealed.Random()
	value := []byte(`{"type":2,"data":{"node":{"attributes":{"value":"hunter2"`)
	s := a.Seal(value, []byte("s1/w/7/0"))
	if bytes.Contains(s, []byte("hunter2")) {
		t.Fatal("the sealed value holds the plain text")
	}
	if got, err := b.Open(s, []byte("s1/w/7/0")); err != nil || !bytes.Equal(got, value) {
		t.Fatalf("open under the same key: %q, %v", got, err)
	}
	if _, err := b.Open(s, []byte("s1/w/7/1")); !errors.Is(err, sealed.ErrOpen) {
		t.Errorf("opened for another row: %v", err)
	}
	if _, err := other.Open(s, []byte("s1/w/7/0")); !errors.Is(err, sealed.ErrOpen) {
		t.Errorf("opened under another key: %v", err)
	}
	s[len(s)-1] ^= 1
	if _, err := b.Open(s, []byte("s1/w/7/0")); !errors.Is(err, sealed.ErrOpen) {
		t.Errorf("opened an altered value: %v", err)
	}
}

func TestParseKeyReadsHexAndBase64Of32Bytes(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 32)
	for _, s := range []string{strings.Repeat("07", 32), base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw)} {
		if k, err := sealed.ParseKey(s); err != nil || !bytes.Equal(k, raw) {
			t.Errorf("%s: %x, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "secret", strings.Repeat("07", 16), base64.StdEncoding.EncodeToString(raw[:16])} {
		if _, err := sealed.ParseKey(s); !errors.Is(err, sealed.ErrKey) {
			t.Errorf("%q accepted: %v", s, err)
		}
	}
}
