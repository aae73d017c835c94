// Package sealed encrypts what the receiver must store before it can mask
// it: the parts of a split rr-web event are fragments of JSON the privacy
// masker cannot read, so they reach ClickHouse sealed (AES-256-GCM), under a
// key ClickHouse never sees, and are opened only by a receiver holding it.
// Each sealed value is bound to its row (the associated data), so a value
// moved to another row does not open.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// KeyBytes is the length of a key: AES-256.
const KeyBytes = 32

var (
	// ErrKey is a configured key that is not 32 bytes in hex or base64.
	ErrKey = errors.New("want 32 bytes, as 64 hex digits or base64")
	// ErrOpen is a value sealed under another key, for another row, or
	// altered.
	ErrOpen = errors.New("sealed value does not open with this key")
)

// Box seals and opens values under one key.
type Box struct{ aead cipher.AEAD }

// ParseKey reads a configured key: 64 hex digits or base64 (standard or URL
// alphabet, padded or not) of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	if k, err := hex.DecodeString(s); err == nil && len(k) == KeyBytes {
		return k, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeyBytes {
			return k, nil
		}
	}
	return nil, ErrKey
}

// New returns a box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeyBytes {
		return nil, ErrKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Random returns a box under a fresh key that only this process holds.
func Random() (*Box, error) {
	key := make([]byte, KeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("random key: %w", err)
	}
	return New(key)
}

// Seal returns nonce || ciphertext of value, bound to row.
func (b *Box) Seal(value, row []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(value)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on Linux (getrandom)
	}
	return b.aead.Seal(nonce, nonce, value, row)
}

// Open returns the value sealed for row.
func (b *Box) Open(sealed, row []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	v, err := b.aead.Open(nil, sealed[:n], sealed[n:], row)
	if err != nil {
		return nil, ErrOpen
	}
	return v, nil
}
