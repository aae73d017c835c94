// Package tracks plans the replay of a session whose documents recorded at
// the same time: it groups the session's windows into tracks, each played
// by one replayer.
package tracks

import (
	"sort"
	"time"

	"github.com/seed/sessionreplay/pkg/store"
)

// A Track is what one replayer plays: windows (one document's recording
// each) that follow each other in time, such as page 1, 2 and 3 of a tab. A
// window that overlaps a track's last window is another document recording
// at the same time (a same-origin iframe that loads the SDK): it goes on
// another track, since two DOM trees with colliding node ids fed to one
// replayer corrupt both.
type Track struct {
	Index   int
	Windows []store.WindowExtent
}

// Start is the start of the track's first window.
func (t Track) Start() time.Time { return t.Windows[0].Start }

// End is the end of the track's last window.
func (t Track) End() time.Time { return t.Windows[len(t.Windows)-1].End }

// WindowIDs are the track's windows in play order.
func (t Track) WindowIDs() []string {
	ids := make([]string, len(t.Windows))
	for i, w := range t.Windows {
		ids[i] = w.WindowID
	}
	return ids
}

// FirstURL is the first page the track navigated to, "" if none is known.
func (t Track) FirstURL() string {
	for _, w := range t.Windows {
		if w.URL != "" {
			return w.URL
		}
	}
	return ""
}

// Group puts windows onto tracks, deterministically: windows sorted
// by start (then id), each onto the first track whose end is at or before
// its start, else onto a new track. So track 0 holds the session's earliest
// window (the top page) and every window that follows it without overlap.
func Group(windows []store.WindowExtent) []Track {
	ws := append([]store.WindowExtent(nil), windows...)
	sort.SliceStable(ws, func(i, j int) bool {
		if !ws[i].Start.Equal(ws[j].Start) {
			return ws[i].Start.Before(ws[j].Start)
		}
		return ws[i].WindowID < ws[j].WindowID
	})
	var tracks []Track
next:
	for _, w := range ws {
		for i := range tracks {
			if !tracks[i].End().After(w.Start) {
				tracks[i].Windows = append(tracks[i].Windows, w)
				continue next
			}
		}
		tracks = append(tracks, Track{Index: len(tracks), Windows: []store.WindowExtent{w}})
	}
	return tracks
}
