package tracks

import (
	"reflect"
	"testing"
	"time"

	"github.com/seed/sessionreplay/pkg/store"
)

func ext(id string, t0 time.Time, from, to int) store.WindowExtent {
	return store.WindowExtent{WindowID: id, Start: t0.Add(time.Duration(from) * time.Second), End: t0.Add(time.Duration(to) * time.Second)}
}

func trackIDs(tracks []Track) [][]string {
	var out [][]string
	for _, t := range tracks {
		out = append(out, t.WindowIDs())
	}
	return out
}

func TestGroupPutsOverlappingWindowsOnSeparateTracksAndSequentialOnesOnOne(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		windows []store.WindowExtent
		want    [][]string
	}{
		{"two overlapping", []store.WindowExtent{ext("frame", t0, 1, 9), ext("top", t0, 0, 10)}, [][]string{{"top"}, {"frame"}}},
		{"three pages and an iframe", []store.WindowExtent{
			ext("p3", t0, 20, 30), ext("frame", t0, 2, 25), ext("p1", t0, 0, 10), ext("p2", t0, 10, 20),
		}, [][]string{{"p1", "p2", "p3"}, {"frame"}}},
		// a Faro iframe recording handed on to the tab's next pages: the
		// frame's window ends before page 2 starts, so page 2 follows page 1
		{"frame ends, pages go on", []store.WindowExtent{
			ext("A:0", t0, 0, 10), ext("B:0", t0, 1, 11), ext("B:1", t0, 12, 20), ext("B:2", t0, 21, 30),
		}, [][]string{{"A:0", "B:1", "B:2"}, {"B:0"}}},
		// same start: the id decides, so the grouping never depends on row order
		{"tie broken by id", []store.WindowExtent{ext("b", t0, 0, 5), ext("a", t0, 0, 5), ext("c", t0, 5, 6)}, [][]string{{"a", "c"}, {"b"}}},
		{"two iframes, then a page fits the first free track", []store.WindowExtent{
			ext("top", t0, 0, 10), ext("f1", t0, 1, 4), ext("f2", t0, 2, 12), ext("late", t0, 5, 6),
		}, [][]string{{"top"}, {"f1", "late"}, {"f2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Group(tc.windows)
			if !reflect.DeepEqual(trackIDs(got), tc.want) {
				t.Fatalf("tracks %v, want %v", trackIDs(got), tc.want)
			}
			for i, tr := range got {
				if tr.Index != i {
					t.Errorf("track %d has index %d", i, tr.Index)
				}
			}
		})
	}
}
