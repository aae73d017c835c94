package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/seed/sessionreplay/pkg/store"
)

// chunkAt is one synthetic chunk of a window: seconds from t0, and whether
// it starts with a Meta + full snapshot.
type chunkAt struct {
	from, to int
	full     bool
}

// writeWindow stores a window's chunks (with per-chunk summary rows, and a
// navigation marker at the window's first full snapshot) as the receiver
// does. Every event names its window and chunk so the test can tell where
// a replayed event came from.
func writeWindow(t *testing.T, w *store.Writer, sid, wid, url string, t0 time.Time, chunks []chunkAt, retained bool) {
	t.Helper()
	var b store.Batch
	for seq, c := range chunks {
		start, end := t0.Add(time.Duration(c.from)*time.Second), t0.Add(time.Duration(c.to)*time.Second)
		var evs []string
		if c.full {
			evs = append(evs,
				fmt.Sprintf(`{"type":4,"data":{"href":%q,"width":800,"height":600},"timestamp":%d}`, url, start.UnixMilli()),
				fmt.Sprintf(`{"type":2,"data":{"node":{"type":0,"childNodes":[],"id":1},"initialOffset":{"left":0,"top":0}},"timestamp":%d}`, start.UnixMilli()))
		}
		evs = append(evs, fmt.Sprintf(`{"type":3,"data":{"source":1,"positions":[],"w":%q,"seq":%d},"timestamp":%d}`, wid, seq, end.UnixMilli()))
		raw := make([]json.RawMessage, len(evs))
		for i, e := range evs {
			raw[i] = json.RawMessage(e)
		}
		data, _ := json.Marshal(raw)
		ch := store.Chunk{SessionID: sid, WindowID: wid, Seq: uint64(seq), Start: start, End: end, EventCount: uint32(len(evs)),
			FullSnapshot: c.full, ServiceName: "shop-web", Data: data}
		if retained {
			b.Retained = append(b.Retained, ch)
		} else {
			b.Buffered = append(b.Buffered, ch)
		}
		b.Sessions = append(b.Sessions, store.SessionSummary{SessionID: sid, Start: start, End: end, Chunks: 1, Events: uint64(len(evs))})
		if c.full && seq == 0 {
			b.Events = append(b.Events, store.Event{SessionID: sid, Time: start, Kind: store.KindNavigation, Name: "navigation", URL: url,
				WindowID: wid, ID: uint64(seq)})
		}
	}
	if err := w.Write(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
}

// trackedReplay is a replay stream's meta line with its tracks.
type trackedReplay struct {
	Track  int         `json:"track"`
	Tracks []trackMeta `json:"tracks"`
}

func readTrackedReplay(t *testing.T, ds *Datasource, path string) (replayLine, trackedReplay, []replayLine) {
	t.Helper()
	res := callResource(t, ds, path)
	meta, chunks, _ := readReplay(t, res)
	var tr trackedReplay
	first, _, _ := bytesCut(res.Body(), '\n')
	if err := json.Unmarshal(first, &tr); err != nil {
		t.Fatal(err)
	}
	return meta, tr, chunks
}

func bytesCut(b []byte, sep byte) (before, after []byte, found bool) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}

func chunkKeys(chunks []replayLine) []string {
	var out []string
	for _, c := range chunks {
		out = append(out, fmt.Sprintf("%s/%d", c.WindowID, c.Seq))
	}
	return out
}

func TestReplayStreamsTwoOverlappingWindowsAsTwoTracks(t *testing.T) {
	conn, db := migrated(t)
	w := store.NewWriter(conn, db)
	t0 := recent()
	writeWindow(t, w, "s-two", "top", "https://shop.test/", t0, []chunkAt{{0, 5, true}, {5, 10, false}}, false)
	writeWindow(t, w, "s-two", "frame", "https://shop.test/frame", t0, []chunkAt{{1, 4, true}, {4, 9, false}}, true)
	ds := newDS(t, db, nil)

	meta, tr, chunks := readTrackedReplay(t, ds, "sessions/s-two/replay")
	want := []trackMeta{
		{Index: 0, WindowIDs: []string{"top"}, Start: t0.UnixMilli(), End: t0.Add(10 * time.Second).UnixMilli(), URL: "https://shop.test/"},
		{Index: 1, WindowIDs: []string{"frame"}, Start: t0.Add(time.Second).UnixMilli(), End: t0.Add(9 * time.Second).UnixMilli(), URL: "https://shop.test/frame"},
	}
	if tr.Track != 0 || !reflect.DeepEqual(tr.Tracks, want) {
		t.Fatalf("meta tracks %+v (track %d), want %+v", tr.Tracks, tr.Track, want)
	}
	if meta.Start != t0.UnixMilli() || meta.End != t0.Add(10*time.Second).UnixMilli() {
		t.Errorf("meta spans %d..%d, want the whole session", meta.Start, meta.End)
	}
	if got := chunkKeys(chunks); !reflect.DeepEqual(got, []string{"top/0", "top/1"}) {
		t.Fatalf("track 0 streams %v", got)
	}
	_, tr, chunks = readTrackedReplay(t, ds, "sessions/s-two/replay?track=1")
	if tr.Track != 1 || len(tr.Tracks) != 2 {
		t.Fatalf("track 1 meta %+v", tr)
	}
	if got := chunkKeys(chunks); !reflect.DeepEqual(got, []string{"frame/0", "frame/1"}) {
		t.Fatalf("track 1 streams %v", got)
	}
	for path, status := range map[string]int{
		"sessions/s-two/replay?track=2":  404,
		"sessions/s-two/replay?track=-1": 400,
		"sessions/s-two/replay?track=x":  400,
	} {
		if res := callResource(t, ds, path); res.Status != status {
			t.Errorf("%s: status %d want %d (%s)", path, res.Status, status, res.Body())
		}
	}
}

// threePagesAndAFrame: a tab's pages 1-3 (one window each) and a same-
// origin iframe recording from page 1 into page 3, with a checkout at 8 s.
func threePagesAndAFrame(t *testing.T) (*Datasource, time.Time) {
	t.Helper()
	conn, db := migrated(t)
	w := store.NewWriter(conn, db)
	t0 := recent()
	writeWindow(t, w, "s-pages", "p1", "https://shop.test/1", t0, []chunkAt{{0, 4, true}, {4, 10, false}}, false)
	writeWindow(t, w, "s-pages", "p2", "https://shop.test/2", t0, []chunkAt{{10, 15, true}, {15, 20, false}}, false)
	writeWindow(t, w, "s-pages", "p3", "https://shop.test/3", t0, []chunkAt{{20, 24, true}, {24, 30, false}}, true)
	writeWindow(t, w, "s-pages", "frame", "https://shop.test/frame", t0, []chunkAt{{2, 8, true}, {8, 12, true}, {12, 25, false}}, false)
	return newDS(t, db, nil), t0
}

func TestReplayPlaysThreeSequentialPagesAsOneTrackAndTheOverlappingFrameAsAnother(t *testing.T) {
	ds, t0 := threePagesAndAFrame(t)
	_, tr, chunks := readTrackedReplay(t, ds, "sessions/s-pages/replay")
	if got := [][]string{tr.Tracks[0].WindowIDs, tr.Tracks[1].WindowIDs}; len(tr.Tracks) != 2 || !reflect.DeepEqual(got, [][]string{{"p1", "p2", "p3"}, {"frame"}}) {
		t.Fatalf("tracks %+v", tr.Tracks)
	}
	if tr.Tracks[0].Start != t0.UnixMilli() || tr.Tracks[0].End != t0.Add(30*time.Second).UnixMilli() || tr.Tracks[0].URL != "https://shop.test/1" {
		t.Errorf("track 0 %+v", tr.Tracks[0])
	}
	if got := chunkKeys(chunks); !reflect.DeepEqual(got, []string{"p1/0", "p1/1", "p2/0", "p2/1", "p3/0", "p3/1"}) {
		t.Fatalf("track 0 streams %v", got)
	}
	_, _, chunks = readTrackedReplay(t, ds, "sessions/s-pages/replay?track=1")
	if got := chunkKeys(chunks); !reflect.DeepEqual(got, []string{"frame/0", "frame/1", "frame/2"}) {
		t.Fatalf("track 1 streams %v", got)
	}
}

func TestReplaySeekStartsAtTheTracksOwnFullSnapshot(t *testing.T) {
	ds, t0 := threePagesAndAFrame(t)
	at := func(s int) int64 { return t0.Add(time.Duration(s) * time.Second).UnixMilli() }
	for _, tc := range []struct {
		track, from int
		wantFrom    int64
		want        []string
	}{
		// page 3's own snapshot, though the frame's chunk at 12 s starts later than page 2's
		{0, 26, at(20), []string{"p3/0", "p3/1"}},
		// page 2: the frame's checkout at 8 s is not this track's
		{0, 13, at(10), []string{"p2/0", "p2/1", "p3/0", "p3/1"}},
		// the frame's checkout at 8 s, not page 3's snapshot at 20 s
		{1, 26, at(8), []string{"frame/1", "frame/2"}},
		{1, 5, at(2), []string{"frame/0", "frame/1", "frame/2"}},
	} {
		meta, _, chunks := readTrackedReplay(t, ds, fmt.Sprintf("sessions/s-pages/replay?track=%d&from=%d", tc.track, at(tc.from)))
		if meta.From != tc.wantFrom || !chunks[0].FullSnapshot || !reflect.DeepEqual(chunkKeys(chunks), tc.want) {
			t.Errorf("track %d from %d s: meta.from %d (want %d), chunks %v (want %v)", tc.track, tc.from, meta.From, tc.wantFrom, chunkKeys(chunks), tc.want)
		}
	}
}

// readBytes counts what ClickHouse reports it read (progress packets of
// the native protocol) for the queries run with the returned context.
func readBytes() (context.Context, *atomic.Uint64) {
	var n atomic.Uint64
	ctx := clickhouse.Context(context.Background(), clickhouse.WithProgress(func(p *clickhouse.Progress) { n.Add(p.Bytes) }))
	return ctx, &n
}

func TestWindowExtentsReadOnlyChunkMetadata(t *testing.T) {
	conn, db := migrated(t)
	_, total := loadLargeSession(t, store.NewWriter(conn, db), "big", recent())
	r := store.NewReader(conn, db)
	ctx, windowsRead := readBytes()
	start := time.Now()
	ws, err := r.Windows(ctx, "big")
	took := time.Since(start)
	if err != nil || len(ws) != 1 || ws[0].WindowID != "w1" || ws[0].Chunks != 13 {
		t.Fatalf("windows %+v %v", ws, err)
	}
	ctx, streamRead := readBytes()
	if err := r.StreamChunksIn(ctx, "big", []string{"w1"}, time.Time{}, func(*store.Chunk) error { return nil }); err != nil {
		t.Fatal(err)
	}
	t.Logf("session of %d MiB in 13 chunks: window extents read %d bytes in %v; streaming its track read %d bytes",
		total>>20, windowsRead.Load(), took, streamRead.Load())
	if windowsRead.Load() == 0 || windowsRead.Load() > 64<<10 || streamRead.Load() < uint64(total) {
		t.Fatalf("window extents read %d bytes, the stream %d (of %d)", windowsRead.Load(), streamRead.Load(), total)
	}
}
