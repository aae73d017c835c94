package sessionreplayreceiver

import (
	"encoding/json"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
	"github.com/seed/sessionreplay/pkg/store"
)

// Frustration signals between requests.
//
// A click is dead when nothing answers it within rrweb.DeadClickMs: no DOM
// change, scroll, input or navigation of its tab and no request of its
// session. The chunk shows the first part; a request (a client span, which
// arrives on its own) or the tab's next chunk (which a balancer may send to
// another replica) may hold the answer. So the clicks a chunk leaves
// unanswered are stored as candidates with the chunk's rows, and the
// sweeper of any replica judges them from the stored requests and chunks
// (internal/retention), as it judges the session rules that count them.
//
// What stays in memory is a cache of click target names: the tab's node
// index, built from the chunks this replica summarised. A replica that did
// not see a tab's snapshot names its clicks "click" until the tab's next
// full snapshot (checkoutEveryMs, 2 min by default).
const (
	// maxSignalWindows bounds the tabs of a session whose nodes are indexed.
	maxSignalWindows = 16
)

// sessionSignals is one session's signal state, guarded by sessState.mu.
type sessionSignals struct {
	windows map[string]*rrweb.Window
}

// window is the tab's summary state; a fresh one (the chunk read alone)
// past maxSignalWindows.
func (s *sessionSignals) window(id string) *rrweb.Window {
	if s.windows == nil {
		s.windows = map[string]*rrweb.Window{}
	}
	w := s.windows[id]
	if w == nil {
		w = &rrweb.Window{}
		if len(s.windows) < maxSignalWindows {
			s.windows[id] = w
		}
	}
	return w
}

// chunkSignals stores the clicks a chunk of window left unanswered as
// dead-click candidates: those the chunk saw unanswered to the end of their
// bound, and those whose bound reaches past it (open: the tab's later chunks
// may answer them). The tab's window keeps no pending clicks between chunks:
// the next chunk may be another replica's.
func (r *srReceiver) chunkSignals(q *request, st *sessState, sessionID, window string, seq uint64, win *rrweb.Window, stats *rrweb.Stats) {
	st.mu.Lock()
	open := win.Pending()
	st.mu.Unlock()
	add := func(ms []rrweb.Marker, isOpen bool) {
		for _, m := range ms {
			q.batch.Candidates = append(q.batch.Candidates, store.ClickCandidate{SessionID: sessionID, WindowID: window, Seq: seq,
				ID:   store.PartID(sessionID, window, strconv.FormatUint(m.Seq, 10), strconv.Itoa(m.Index), m.Kind),
				Time: time.UnixMilli(q.clampMs(m.Time)).UTC(), Open: isOpen, ReceivedAt: q.now,
				Name: privacy.ScrubCardsString(m.Name), Detail: privacy.ScrubCardsString(m.Detail)})
		}
	}
	add(stats.DeadClicks, false)
	add(open, true)
}

// consoleLog adds the console marker of a console log record of an SDK
// that sends them as logs (Faro's ConsoleInstrumentation); false when the
// record is not one.
func consoleLog(q *request, sl plog.ScopeLogs, lr plog.LogRecord, name, sid string, t time.Time, url, traceID, spanID string) bool {
	level, message, ok := formats.FaroConsole(formats.Record{Scope: sl.Scope(), Log: lr, Name: name})
	if !ok {
		return false
	}
	message = privacy.ScrubCardsString(message)
	detail, _ := json.Marshal(struct {
		Level   string `json:"level"`
		Message string `json:"message"`
	}{level, clip(message)})
	q.batch.Events = append(q.batch.Events, store.Event{SessionID: sid, Time: t, Kind: store.KindConsole, Name: level, URL: url,
		Detail: string(detail), TraceID: traceID, SpanID: spanID,
		ID: store.PartID(sid, "log", strconv.FormatInt(t.UnixNano(), 10), store.KindConsole, message)})
	return true
}
