package store

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// A peer that stops reading (a stalled server) makes a write fail after
// the stall bound instead of blocking; a caller's earlier deadline wins.
func TestStallGuardBoundsWrites(t *testing.T) {
	client, server := net.Pipe() // synchronous: a write waits for a read
	defer server.Close()
	g := &stallGuard{Conn: client, stall: 100 * time.Millisecond}
	start := time.Now()
	_, err := g.Write([]byte("block"))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a peer that never reads: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("write blocked %v", took)
	}

	g.stall = time.Hour
	if err := g.SetDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Write([]byte("block")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("caller's deadline ignored: %v", err)
	}

	// a reading peer: writes go through
	if err := g.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 16)
		_, _ = server.Read(buf)
	}()
	if _, err := g.Write([]byte("ok")); err != nil {
		t.Fatalf("write to a reading peer: %v", err)
	}
}
