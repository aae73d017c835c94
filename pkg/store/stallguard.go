package store

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// writeStall bounds how long one write to ClickHouse may block.
const writeStall = 30 * time.Second

// guardWrites makes the native connections of opts stallGuards. It keeps
// clickhouse-go's own dialing: TCP with the dial timeout, TLS when set.
func guardWrites(opts *clickhouse.Options) {
	if opts.Protocol != clickhouse.Native || opts.DialContext != nil {
		return
	}
	tlsConf, timeout := opts.TLS, opts.DialTimeout
	opts.DialContext = func(ctx context.Context, addr string) (net.Conn, error) {
		d := &net.Dialer{Timeout: timeout}
		var conn net.Conn
		var err error
		if tlsConf != nil {
			conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
		} else {
			conn, err = d.DialContext(ctx, "tcp", addr)
		}
		if err != nil {
			return nil, err
		}
		return &stallGuard{Conn: conn, stall: writeStall}, nil
	}
}

// stallGuard bounds every write on a ClickHouse connection: a write that
// cannot progress for stall (a stalled server, or a partition once the
// socket buffer is full) fails instead of blocking its writer for as long
// as TCP retries. clickhouse-go bounds its calls by their context, all but
// a batch's intermediate Flush, which chunk inserts use.
type stallGuard struct {
	net.Conn
	stall time.Duration

	mu       sync.Mutex
	deadline time.Time // the write deadline clickhouse-go set; zero for none
}

func (c *stallGuard) SetDeadline(t time.Time) error {
	c.remember(t)
	return c.Conn.SetDeadline(t)
}

func (c *stallGuard) SetWriteDeadline(t time.Time) error {
	c.remember(t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *stallGuard) remember(t time.Time) {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
}

// Write applies the earlier of the caller's deadline and now + stall.
func (c *stallGuard) Write(b []byte) (int, error) {
	c.mu.Lock()
	set := c.deadline
	c.mu.Unlock()
	if limit := time.Now().Add(c.stall); set.IsZero() || limit.Before(set) {
		if err := c.Conn.SetWriteDeadline(limit); err != nil {
			return 0, err
		}
		defer c.Conn.SetWriteDeadline(set) //nolint:errcheck // restoring; the write's own error matters
	}
	return c.Conn.Write(b)
}

// SyscallConn lets clickhouse-go check pooled connections for a closed peer
// (it does so only on a syscall.Conn).
func (c *stallGuard) SyscallConn() (syscall.RawConn, error) {
	inner := c.Conn
	if t, ok := inner.(*tls.Conn); ok {
		inner = t.NetConn()
	}
	if s, ok := inner.(syscall.Conn); ok {
		return s.SyscallConn()
	}
	return nil, errors.New("store: connection has no file descriptor")
}
