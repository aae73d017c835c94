package fidelity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/seed/sessionreplay/pkg/fixtures"
)

// chartRecording is this suite's own recording of an SVG dashboard drawn by
// d3 (tests/fidelity/record-chart.mjs, testdata/README.md).
const chartRecording = "testdata/chart-dashboard.events.json"

// recording is one real rrweb recording, its events as sent.
type recording struct {
	name   string
	events []json.RawMessage
}

// loadRecordings reads every shared fixture and the chart recording.
func loadRecordings(t testing.TB) []recording {
	t.Helper()
	// The team's real rrweb recordings (../shared/fixtures, whose README names their sources).
	dir := fixtures.Path(t, "rrweb")
	paths, err := filepath.Glob(filepath.Join(dir, "*.events.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no recordings in %s (%v): the suite needs the shared fixtures", dir, err)
	}
	sort.Strings(paths)
	paths = append(paths, chartRecording)
	var out []recording
	for _, p := range paths {
		out = append(out, recording{name: strings.TrimSuffix(filepath.Base(p), ".events.json"), events: readEvents(t, p)})
	}
	return out
}

func readEvents(t testing.TB, path string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var events []json.RawMessage
	if err := json.Unmarshal(b, &events); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return events
}

// eventHead is what the suite reads of every event.
type eventHead struct {
	Type      int   `json:"type"`
	Timestamp int64 `json:"timestamp"`
}

func head(ev json.RawMessage) eventHead {
	var h eventHead
	_ = json.Unmarshal(ev, &h)
	return h
}

// shiftTimestamps moves a recording in time so that its first event is at
// `start` (unix ms): stored rows then land inside the buffer's TTL, as a live
// session's would. (Aligning the last event instead fails on recordings with
// an outlier far in the future: video-playback has one event ~200 days after
// the others, which would put the rest past the TTL.) Only the top-level
// timestamps change (replay is relative); the JSON is written back without
// HTML escaping, so every other byte means the same.
func shiftTimestamps(events []json.RawMessage, start int64) ([]json.RawMessage, error) {
	first := int64(1 << 62)
	for _, e := range events {
		first = min(first, head(e).Timestamp)
	}
	delta := start - first
	out := make([]json.RawMessage, len(events))
	for i, e := range events {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(e, &m); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		m["timestamp"] = json.RawMessage(fmt.Sprint(head(e).Timestamp + delta))
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		out[i] = bytes.TrimRight(b.Bytes(), "\n")
	}
	return out, nil
}

// Chunking as the recorder does it (recorder/src/recorder.ts): a chunk is
// sent every flushIntervalMs, soon after a full snapshot, and early once it
// passes maxChunkBytes. Replayed offline, event time stands in for the clock.
const (
	chunkInterval = 5000    // ms, the recorder's flushIntervalMs
	chunkMaxBytes = 512_000 // the recorder's maxChunkBytes
	fullSnapshot  = 2
	metaEvent     = 4
)

// splitChunks cuts a recording into the chunks a recorder would send: a new
// chunk starts at every full snapshot (with the meta event right before it),
// and when the open chunk spans chunkInterval or holds chunkMaxBytes.
func splitChunks(events []json.RawMessage) [][]json.RawMessage {
	var chunks [][]json.RawMessage
	var cur []json.RawMessage
	var curStart int64
	var curBytes int
	cut := func() {
		if len(cur) > 0 {
			chunks = append(chunks, cur)
		}
		cur, curBytes = nil, 0
	}
	for i, e := range events {
		h := head(e)
		startsSnapshot := h.Type == fullSnapshot && (i == 0 || head(events[i-1]).Type != metaEvent)
		if h.Type == metaEvent && i+1 < len(events) && head(events[i+1]).Type == fullSnapshot {
			startsSnapshot = true
		}
		if len(cur) > 0 && (startsSnapshot || h.Timestamp-curStart >= chunkInterval || curBytes+len(e) > chunkMaxBytes) {
			cut()
		}
		if len(cur) == 0 {
			curStart = h.Timestamp
		}
		cur = append(cur, e)
		curBytes += len(e)
	}
	cut()
	return chunks
}

// decimalRun is the decimal part of a number written in an attribute value.
var decimalRun = regexp.MustCompile(`\d\.(\d{13,15})(?:\D|$)`)

func luhn(digits string) bool {
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// luhnCoordinates lists the attribute values of a recording (snapshot nodes
// and attribute mutations) that hold a 13-15 digit decimal part passing the
// Luhn check: the values a card-number scan that ignores context would
// rewrite.
func luhnCoordinates(t testing.TB, events []json.RawMessage) map[string]int {
	t.Helper()
	found := map[string]int{}
	check := func(name string, v any) {
		s, ok := v.(string)
		if !ok {
			return
		}
		for _, m := range decimalRun.FindAllStringSubmatch(s, -1) {
			if luhn(m[1]) {
				found[name]++
			}
		}
	}
	var walkNode func(n map[string]any)
	walkNode = func(n map[string]any) {
		if attrs, ok := n["attributes"].(map[string]any); ok {
			for k, v := range attrs {
				check(k, v)
			}
		}
		if kids, ok := n["childNodes"].([]any); ok {
			for _, k := range kids {
				if km, ok := k.(map[string]any); ok {
					walkNode(km)
				}
			}
		}
	}
	for _, raw := range events {
		var e struct {
			Type int            `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		if n, ok := e.Data["node"].(map[string]any); ok && e.Type == fullSnapshot {
			walkNode(n)
		}
		if adds, ok := e.Data["adds"].([]any); ok {
			for _, a := range adds {
				if n, ok := a.(map[string]any)["node"].(map[string]any); ok {
					walkNode(n)
				}
			}
		}
		if muts, ok := e.Data["attributes"].([]any); ok {
			for _, m := range muts {
				if attrs, ok := m.(map[string]any)["attributes"].(map[string]any); ok {
					for k, v := range attrs {
						check(k, v)
					}
				}
			}
		}
	}
	return found
}

func TestChartRecordingHasCoordinatesThatPassLuhn(t *testing.T) {
	found := luhnCoordinates(t, readEvents(t, chartRecording))
	total := 0
	var names []string
	for k, n := range found {
		total += n
		names = append(names, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(names)
	t.Logf("%d attribute values with a 13-15 digit decimal part passing Luhn: %s", total, strings.Join(names, " "))
	if total < 10 {
		t.Fatalf("the chart recording has %d Luhn-passing coordinates, want >= 10: it would not exercise the card scan", total)
	}
	// Paths and plain coordinates both: the scan must leave every kind of geometry alone.
	for _, geometry := range []string{"d", "x", "cx"} {
		if found[geometry] == 0 {
			t.Errorf("no Luhn-passing decimal in any %q attribute", geometry)
		}
	}
}

func TestSplitChunksStartsAChunkAtEveryFullSnapshot(t *testing.T) {
	ev := func(typ int, ts int64) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"type":%d,"timestamp":%d,"data":{}}`, typ, ts))
	}
	events := []json.RawMessage{ev(4, 0), ev(2, 1), ev(3, 100), ev(3, 6000), ev(3, 6100), ev(4, 7000), ev(2, 7001), ev(3, 7002), ev(2, 7100)}
	var got []string
	for _, c := range splitChunks(events) {
		var types []string
		for _, e := range c {
			types = append(types, fmt.Sprint(head(e).Type))
		}
		got = append(got, strings.Join(types, ""))
	}
	want := []string{"423", "33", "423", "2"}
	if !slices.Equal(got, want) {
		t.Errorf("chunks by event types = %v, want %v", got, want)
	}
}
