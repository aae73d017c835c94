package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/seed/sessionreplay/pkg/store"
	"github.com/seed/sessionreplay/pkg/tracks"
)

// Bounds of the replay stream (docs/plugin-api.md). Grafana refuses a
// resource response message over 16 MiB, and gRPC clients default to 4 MiB,
// so every message stays near FlushBytes and never above MaxLineBytes +
// FlushBytes.
const (
	// FlushBytes: lines are sent once this much is buffered.
	FlushBytes = 1 << 20
	// MaxLineBytes: a chunk whose line would be longer is sent as several
	// chunk lines, each holding a run of its events.
	MaxLineBytes = 2 << 20
	// EventPartBytes: an event whose JSON alone exceeds MaxLineBytes is sent
	// as event_part lines carrying this much of its JSON text each.
	EventPartBytes = 512 << 10
)

// errNoRecording: the session has no chunks (unknown, expired, or not kept).
var errNoRecording = errors.New("no recording")

// errNoTrack: the track asked for is not one of the session's.
var errNoTrack = errors.New("no such track")

// handleReplay streams GET sessions/<id>/replay?from=<ms>&track=<n> as NDJSON;
// with after=<ms> (a live session's next chunks) only the chunks starting at
// or after it, and the meta line even when there is none yet.
func (d *Datasource) handleReplay(w http.ResponseWriter, r *http.Request) {
	sid := r.PathValue("id")
	if sid == "" {
		writeError(w, http.StatusBadRequest, "replay: session id is required")
		return
	}
	var from time.Time
	if v := r.URL.Query().Get("from"); v != "" {
		t, err := parseMs("from", v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		from = t
	}
	var after time.Time
	if v := r.URL.Query().Get("after"); v != "" {
		t, err := parseMs("after", v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		after = t
	}
	trackN := 0
	if v := r.URL.Query().Get("track"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("replay: track %q is not a track index (0, 1, ...)", v))
			return
		}
		trackN = n
	}
	s := newNDJSONStream(w)
	err := d.streamReplay(r.Context(), sid, trackN, from, after, s)
	switch {
	case err == nil:
		s.close()
	case !s.started && errors.Is(err, errNoRecording):
		writeError(w, http.StatusNotFound, fmt.Sprintf("session %q has no recording", sid))
	case !s.started && errors.Is(err, errNoTrack):
		writeError(w, http.StatusNotFound, fmt.Sprintf("session %q has no track %d", sid, trackN))
	case !s.started:
		writeError(w, httpStatus(err), err.Error())
	default:
		// The status line is gone: say it in the stream, then end it.
		log.DefaultLogger.Warn("replay stream failed", "session", sid, "error", err)
		line, _ := json.Marshal(map[string]string{"type": "error", "message": err.Error()})
		_ = s.line(line)
		s.close()
	}
}

// streamReplay writes the meta line (listing the session's tracks), then
// every chunk of track trackN from its last full snapshot at or before
// `from` (all of the track's chunks when from is zero). A non-zero `after`
// replaces that start: the chunks starting at or after it, for a panel
// following a live session (it drops the chunks it already holds).
func (d *Datasource) streamReplay(ctx context.Context, sid string, trackN int, from, after time.Time, s *ndjsonStream) error {
	summary, found, err := d.reader.Session(ctx, sid)
	if err != nil {
		return downstream(err)
	}
	windows, err := d.reader.Windows(ctx, sid)
	if err != nil {
		return downstream(err)
	}
	if len(windows) == 0 {
		return errNoRecording
	}
	planned := tracks.Group(windows)
	if trackN >= len(planned) {
		return errNoTrack
	}
	ids := planned[trackN].WindowIDs()
	since := after
	if after.IsZero() {
		if since, err = d.reader.ReplayStartIn(ctx, sid, ids, from); err != nil {
			return downstream(err)
		}
	}
	sent := false
	writeMeta := func(streamFrom time.Time) error {
		sent = true
		start, end := summary.Start, summary.End
		if !found {
			start, end = windows[0].Start, windows[0].End
			for _, w := range windows {
				start, end = minTime(start, w.Start), maxTime(end, w.End)
			}
		}
		meta, err := json.Marshal(map[string]any{"type": "meta", "sessionId": sid, "start": start.UnixMilli(),
			"end": end.UnixMilli(), "from": streamFrom.UnixMilli(), "track": trackN, "tracks": tracksMeta(planned)})
		if err != nil {
			return err
		}
		return s.line(meta)
	}
	err = d.reader.StreamChunksIn(ctx, sid, ids, since, func(c *store.Chunk) error {
		if !sent {
			if err := writeMeta(c.Start); err != nil {
				return err
			}
		}
		return writeChunk(s, c)
	})
	if err != nil {
		if ctx.Err() != nil {
			return downstream(ctx.Err())
		}
		return downstream(err)
	}
	if !sent && !after.IsZero() {
		// nothing new yet: the meta line alone tells the panel the session's end
		if err := writeMeta(after); err != nil {
			return downstream(err)
		}
	}
	if !sent {
		return errNoRecording
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// writeChunk writes one chunk as one line, or, when that line would exceed
// MaxLineBytes, as several chunk lines (runs of its events, in order) with
// event_part lines for events too large for a line of their own.
func writeChunk(s *ndjsonStream, c *store.Chunk) error {
	var events bytes.Buffer
	events.Grow(len(c.Data))
	if err := json.Compact(&events, c.Data); err != nil {
		return fmt.Errorf("chunk %s/%d: events are not JSON: %w", c.WindowID, c.Seq, err)
	}
	head, err := chunkHead(c)
	if err != nil {
		return err
	}
	if len(head)+events.Len()+1 <= MaxLineBytes {
		return s.line(append(append(head, events.Bytes()...), '}'))
	}
	var list []json.RawMessage
	if err := json.Unmarshal(events.Bytes(), &list); err != nil {
		return fmt.Errorf("chunk %s/%d: events are not a JSON array: %w", c.WindowID, c.Seq, err)
	}
	// Greedy runs of whole events under MaxLineBytes.
	run := append([]byte(nil), head...)
	run = append(run, '[')
	n := 0
	flushRun := func() error {
		if n == 0 {
			return nil
		}
		line := append(run, ']', '}')
		err := s.line(line)
		run = append(run[:0], head...)
		run = append(run, '[')
		n = 0
		return err
	}
	for _, ev := range list {
		if len(head)+len(ev)+3 > MaxLineBytes {
			if err := flushRun(); err != nil {
				return err
			}
			if err := writeEventParts(s, c, ev); err != nil {
				return err
			}
			continue
		}
		if n > 0 && len(run)+1+len(ev)+2 > MaxLineBytes {
			if err := flushRun(); err != nil {
				return err
			}
		}
		if n > 0 {
			run = append(run, ',')
		}
		run = append(run, ev...)
		n++
	}
	return flushRun()
}

// chunkHead is a chunk line up to `"events":`.
func chunkHead(c *store.Chunk) ([]byte, error) {
	wid, err := json.Marshal(c.WindowID)
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, `{"type":"chunk","windowId":%s,"seq":%d,"start":%d,"end":%d,"fullSnapshot":%t,"events":`,
		wid, c.Seq, c.Start.UnixMilli(), c.End.UnixMilli(), c.FullSnapshot), nil
}

// writeEventParts sends one event's JSON text in event_part lines; the
// reader concatenates their data strings and parses the result.
func writeEventParts(s *ndjsonStream, c *store.Chunk, ev []byte) error {
	var parts [][]byte
	for rest := ev; len(rest) > 0; {
		cut := min(EventPartBytes, len(rest))
		for cut < len(rest) && cut > 0 && !utf8.RuneStart(rest[cut]) {
			cut-- // never split a UTF-8 sequence
		}
		parts = append(parts, rest[:cut])
		rest = rest[cut:]
	}
	for i, p := range parts {
		line, err := marshalNoEscape(map[string]any{"type": "event_part", "windowId": c.WindowID, "seq": c.Seq,
			"part": i, "parts": len(parts), "data": string(p)})
		if err != nil {
			return err
		}
		if err := s.line(line); err != nil {
			return err
		}
	}
	return nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// ndjsonStream buffers lines and sends them in messages of about FlushBytes
// (each Flush is one CallResourceResponse message through httpadapter).
type ndjsonStream struct {
	w       http.ResponseWriter
	buf     bytes.Buffer
	started bool
}

func newNDJSONStream(w http.ResponseWriter) *ndjsonStream { return &ndjsonStream{w: w} }

func (s *ndjsonStream) line(b []byte) error {
	if s.buf.Len() > 0 && s.buf.Len()+len(b)+1 > FlushBytes {
		if err := s.flush(); err != nil {
			return err
		}
	}
	s.buf.Write(b)
	s.buf.WriteByte('\n')
	if s.buf.Len() >= FlushBytes {
		return s.flush()
	}
	return nil
}

func (s *ndjsonStream) flush() error {
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", "application/x-ndjson")
		s.w.Header().Set("Cache-Control", "no-store")
		s.w.WriteHeader(http.StatusOK)
	}
	if s.buf.Len() > 0 {
		if _, err := s.w.Write(s.buf.Bytes()); err != nil {
			return err
		}
		s.buf.Reset()
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

func (s *ndjsonStream) close() { _ = s.flush() }

// trackMeta is a track as the replay stream's meta line lists it.
type trackMeta struct {
	Index     int      `json:"index"`
	WindowIDs []string `json:"windowIds"`
	Start     int64    `json:"start"`
	End       int64    `json:"end"`
	URL       string   `json:"url,omitempty"`
}

func tracksMeta(ts []tracks.Track) []trackMeta {
	out := make([]trackMeta, len(ts))
	for i, t := range ts {
		out[i] = trackMeta{Index: t.Index, WindowIDs: t.WindowIDs(), Start: t.Start().UnixMilli(), End: t.End().UnixMilli(), URL: t.FirstURL()}
	}
	return out
}
