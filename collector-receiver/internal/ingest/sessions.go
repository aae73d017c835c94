package ingest

import (
	"sync"
	"time"

	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/useragent"
)

// maxUACache bounds the parsed user agents kept.
const maxUACache = 10000

// sessState is the privacy state of a session's tabs (which nodes are
// masked inputs) and their click target names, kept while the session sends.
type sessState struct {
	mu       sync.Mutex // guards windows and signals
	lastSeen time.Time
	windows  map[string]*privacy.State
	signals  sessionSignals // click target names (signals.go)
}

// touch returns the state of a session, creating it if needed.
func (g *Ingester) touch(id string, now time.Time) *sessState {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.sessions[id]
	if st == nil {
		if len(g.sessions) >= g.cfg.MaxSessions {
			g.evictOldestLocked()
		}
		st = &sessState{windows: map[string]*privacy.State{}}
		g.sessions[id] = st
	}
	st.lastSeen = now
	return st
}

func (g *Ingester) evictOldestLocked() {
	var oldest string
	var t time.Time
	for id, s := range g.sessions {
		if oldest == "" || s.lastSeen.Before(t) {
			oldest, t = id, s.lastSeen
		}
	}
	if oldest != "" {
		delete(g.sessions, oldest)
	}
}

// privacyState is the tab's masking state; st.mu is held.
func (st *sessState) privacyState(window string) *privacy.State {
	ps := st.windows[window]
	if ps == nil {
		ps = &privacy.State{}
		st.windows[window] = ps
	}
	return ps
}

func (g *Ingester) userAgent(ua string) useragent.Info {
	if ua == "" {
		return useragent.Info{}
	}
	g.mu.Lock()
	info, ok := g.uaCache[ua]
	g.mu.Unlock()
	if ok {
		return info
	}
	info = useragent.Parse(ua)
	g.mu.Lock()
	if len(g.uaCache) >= maxUACache {
		clear(g.uaCache)
	}
	g.uaCache[ua] = info
	g.mu.Unlock()
	return info
}

// idleLoop forgets the cached state (privacy, click target names) of
// sessions that went idle; the retention sweeper judges them from
// ClickHouse.
func (g *Ingester) idleLoop() {
	defer g.wg.Done()
	t := time.NewTicker(g.cfg.IdleInterval)
	defer t.Stop()
	for {
		select {
		case <-g.quit:
			return
		case <-t.C:
		}
		now := time.Now()
		g.mu.Lock()
		for id, st := range g.sessions {
			if now.Sub(st.lastSeen) >= g.cfg.IdleTimeout {
				delete(g.sessions, id)
			}
		}
		g.mu.Unlock()
	}
}
