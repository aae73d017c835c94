package store

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrQueueFull means the batcher holds as much as it may; the caller should
// refuse the data with a retryable error (HTTP 503 + Retry-After).
var ErrQueueFull = errors.New("store: write queue full")

// ErrClosed means the batcher no longer accepts rows.
var ErrClosed = errors.New("store: batcher closed")

// BatcherConfig bounds a batch by size and time, and the queue by bytes.
type BatcherConfig struct {
	// MaxBytes flushes a batch once its payload reaches this size.
	MaxBytes int
	// MaxDelay flushes a batch this long after its first row arrived.
	MaxDelay time.Duration
	// MaxQueueBytes caps the bytes waiting (batch being written + next batch).
	MaxQueueBytes int
	// OnFlush, if set, is told about each write (for self-metrics).
	OnFlush func(rows, bytes int, took time.Duration, err error)
}

// DefaultBatcherConfig suits a browser-facing ingest path.
func DefaultBatcherConfig() BatcherConfig {
	return BatcherConfig{MaxBytes: 8 << 20, MaxDelay: 200 * time.Millisecond, MaxQueueBytes: 64 << 20}
}

// Batcher is a group-commit writer: callers add rows and wait until the batch
// holding them is in ClickHouse. Rows from concurrent callers share one INSERT
// per table, and nothing is acknowledged before it is stored, so a ClickHouse
// outage turns into retryable errors for the callers rather than lost data.
type Batcher struct {
	w   *Writer
	cfg BatcherConfig

	mu      sync.Mutex
	next    *pending
	queued  int // bytes in next + the batch being written
	closed  bool
	kick    chan struct{}
	quit    chan struct{}
	stopped chan struct{}
}

type pending struct {
	batch   Batch
	bytes   int
	first   time.Time
	waiters []chan error
}

// NewBatcher starts the flush loop; Close stops it.
func NewBatcher(w *Writer, cfg BatcherConfig) *Batcher {
	def := DefaultBatcherConfig()
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = def.MaxBytes
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = def.MaxDelay
	}
	if cfg.MaxQueueBytes <= 0 {
		cfg.MaxQueueBytes = def.MaxQueueBytes
	}
	b := &Batcher{w: w, cfg: cfg, kick: make(chan struct{}, 1), quit: make(chan struct{}), stopped: make(chan struct{})}
	go b.loop()
	return b
}

// Add queues rows of size bytes and waits until they are written.
func (b *Batcher) Add(ctx context.Context, rows *Batch, bytes int) error {
	done := make(chan error, 1)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	if b.queued > 0 && b.queued+bytes > b.cfg.MaxQueueBytes {
		b.mu.Unlock()
		return ErrQueueFull
	}
	if b.next == nil {
		b.next = &pending{first: time.Now()}
	}
	b.next.batch.Append(rows)
	b.next.bytes += bytes
	b.next.waiters = append(b.next.waiters, done)
	b.queued += bytes
	full := b.next.bytes >= b.cfg.MaxBytes
	b.mu.Unlock()
	if full {
		b.poke()
	} else {
		time.AfterFunc(b.cfg.MaxDelay, b.poke)
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// The rows may still be written; the caller treats them as not
		// acknowledged and its retry collapses with them in ClickHouse.
		return ctx.Err()
	}
}

func (b *Batcher) poke() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *Batcher) loop() {
	defer close(b.stopped)
	for {
		select {
		case <-b.kick:
		case <-b.quit:
		}
		for {
			b.mu.Lock()
			p := b.next
			ready := p != nil && (p.bytes >= b.cfg.MaxBytes || time.Since(p.first) >= b.cfg.MaxDelay || b.closed)
			if ready {
				b.next = nil
			}
			closed := b.closed
			b.mu.Unlock()
			if !ready {
				if closed {
					return
				}
				break
			}
			b.flush(p)
		}
	}
}

func (b *Batcher) flush(p *pending) {
	start := time.Now()
	// Writes use their own deadline: a caller giving up must not cancel the
	// insert that other callers' rows ride on.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	err := b.w.Write(ctx, &p.batch)
	cancel()
	if b.cfg.OnFlush != nil {
		b.cfg.OnFlush(p.batch.Len(), p.bytes, time.Since(start), err)
	}
	b.mu.Lock()
	b.queued -= p.bytes
	b.mu.Unlock()
	for _, w := range p.waiters {
		w <- err
	}
}

// Close writes what is queued and stops the loop; later Adds get ErrClosed.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	close(b.quit)
	select {
	case <-b.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
