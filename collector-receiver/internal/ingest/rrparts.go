package ingest

import (
	"sync"
	"time"
)

// memParts keeps the parts of split rr-web events (formats.Parts) in
// memory: they may arrive in different requests.
type memParts struct {
	mu    sync.Mutex
	parts map[rrKey]*rrPartial
}

const maxRRParts = 10000

type rrKey struct {
	session string
	event   int64
}

type rrPartial struct {
	parts   map[int64][]byte
	total   int64
	created time.Time
}

func newMemParts() *memParts { return &memParts{parts: map[rrKey]*rrPartial{}} }

// Part stores one part of a split rr-web event; it returns the whole
// event once every part has arrived.
func (m *memParts) Part(session string, event, part, total int64, body []byte) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := rrKey{session, event}
	p := m.parts[k]
	if p == nil {
		if len(m.parts) >= maxRRParts {
			for k2, p2 := range m.parts {
				if time.Since(p2.created) > 5*time.Minute {
					delete(m.parts, k2)
				}
			}
		}
		p = &rrPartial{parts: map[int64][]byte{}, total: total, created: time.Now()}
		m.parts[k] = p
	}
	p.parts[part] = append([]byte(nil), body...)
	if int64(len(p.parts)) < p.total {
		return nil
	}
	delete(m.parts, k)
	// parts are numbered 0..n-1 or 1..n; join in order
	min := int64(1 << 62)
	for n := range p.parts {
		if n < min {
			min = n
		}
	}
	var out []byte
	for n := min; n < min+p.total; n++ {
		out = append(out, p.parts[n]...)
	}
	return out
}
