package plugin

import (
	"sort"
	"time"

	"github.com/seed/sessionreplay/pkg/store"
)

// A track is what one replayer plays: windows (one document's recording
// each) that follow each other in time, such as page 1, 2 and 3 of a tab. A
// window that overlaps a track's last window is another document recording
// at the same time (a same-origin iframe that loads the SDK): it goes on
// another track, since two DOM trees with colliding node ids fed to one
// replayer corrupt both.
type track struct {
	Index   int
	Windows []store.WindowExtent
}

func (t track) start() time.Time { return t.Windows[0].Start }
func (t track) end() time.Time   { return t.Windows[len(t.Windows)-1].End }

// windowIDs are the track's windows in play order.
func (t track) windowIDs() []string {
	ids := make([]string, len(t.Windows))
	for i, w := range t.Windows {
		ids[i] = w.WindowID
	}
	return ids
}

// firstURL is the first page the track navigated to, "" if none is known.
func (t track) firstURL() string {
	for _, w := range t.Windows {
		if w.URL != "" {
			return w.URL
		}
	}
	return ""
}

// groupTracks puts windows onto tracks, deterministically: windows sorted
// by start (then id), each onto the first track whose end is at or before
// its start, else onto a new track. So track 0 holds the session's earliest
// window (the top page) and every window that follows it without overlap.
func groupTracks(windows []store.WindowExtent) []track {
	ws := append([]store.WindowExtent(nil), windows...)
	sort.SliceStable(ws, func(i, j int) bool {
		if !ws[i].Start.Equal(ws[j].Start) {
			return ws[i].Start.Before(ws[j].Start)
		}
		return ws[i].WindowID < ws[j].WindowID
	})
	var tracks []track
next:
	for _, w := range ws {
		for i := range tracks {
			if !tracks[i].end().After(w.Start) {
				tracks[i].Windows = append(tracks[i].Windows, w)
				continue next
			}
		}
		tracks = append(tracks, track{Index: len(tracks), Windows: []store.WindowExtent{w}})
	}
	return tracks
}

// trackMeta is a track as the replay stream's meta line lists it.
type trackMeta struct {
	Index     int      `json:"index"`
	WindowIDs []string `json:"windowIds"`
	Start     int64    `json:"start"`
	End       int64    `json:"end"`
	URL       string   `json:"url,omitempty"`
}

func tracksMeta(tracks []track) []trackMeta {
	out := make([]trackMeta, len(tracks))
	for i, t := range tracks {
		out[i] = trackMeta{Index: t.Index, WindowIDs: t.windowIDs(), Start: t.start().UnixMilli(), End: t.end().UnixMilli(), URL: t.firstURL()}
	}
	return out
}
