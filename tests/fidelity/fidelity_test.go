//go:build fidelity

// The fidelity suite: every real recording goes through the pipeline a
// deployment runs — chunked as the recorder chunks, sent as OTLP to the
// otelcol binary with the sessionreplay receiver in its default
// configuration, stored in the embedded ClickHouse, read back through the
// Grafana backend plugin's replay stream — and must come back as it was sent:
// the same events, the same values except the inputs masked on purpose, and
// the same pixels when rrweb's Replayer renders both in Chromium. Run it with
// `go tool mage fidelity`.
package fidelity

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/pluginhost"
	"github.com/seed/sessionreplay/tests/internal/stack"
)

func TestMain(m *testing.M) { os.Exit(chembedtest.Main(m)) }

// Checkpoints per recording: every full snapshot + 500 ms and evenly spaced
// times, at most maxCheckpoints (the 2-hour recording has many snapshots).
const (
	evenCheckpoints = 8
	maxCheckpoints  = 16
)

// renderNotJudged are recordings whose renders cannot prove anything: rrweb's
// Replayer shows nothing for them, on the original events as on the returned
// ones. They are compared structurally only (values, order, completeness);
// their render figures are printed but not judged. Each says why. (Every
// other recording renders deterministically: original vs original is 0
// pixels at every checkpoint, which the suite checks.)
var renderNotJudged = map[string]string{
	"legacy-2018-checkout-demo": "no meta event (2018 format): rrweb 2's Replayer keeps its iframe hidden until a meta event sizes it, so neither the original nor the returned events render",
	"commandbar-session":        "recorded in a 0x0 frame (its meta event says width 0, height 0): the Replayer's iframe is empty for both",
}

func TestRecordingsComeBackUnchanged(t *testing.T) {
	root := stack.RepoRoot(t)
	out := os.Getenv("FIDELITY_ARTIFACTS")
	if out == "" {
		out = t.TempDir()
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	_, db := chembedtest.NewDatabase(t)

	// The collector, from this suite's YAML (the receiver's defaults).
	otlpAddr := stack.FreeAddr(t)
	stack.StartCollector(t, root, filepath.Join(root, "tests/fidelity/collector.yaml"), otlpAddr, filepath.Join(out, "collector.log"),
		"FIDELITY_OTLP_ENDPOINT="+otlpAddr, "FIDELITY_CLICKHOUSE_DSN="+chembedtest.DSN(db))

	// The Grafana backend plugin, started as Grafana starts it.
	plugin, err := pluginhost.Start(stack.GoBuild(t, root, "./pkg"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plugin.Kill()
	settings, _ := json.Marshal(map[string]any{"addresses": []string{chembedtest.Addr()}, "database": db, "protocol": "native"})
	grafana := &http.Server{Handler: &pluginhost.API{Plugin: plugin, PluginID: "seed-sessionreplay-datasource",
		Settings: &pluginv2.DataSourceInstanceSettings{Id: 1, Uid: "sessionreplay", Name: "Session Replay", JsonData: settings, LastUpdatedMS: 1}}}
	grafanaAddr := stack.FreeAddr(t)
	ln, err := net.Listen("tcp", grafanaAddr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = grafana.Serve(ln) }()
	defer grafana.Close()

	// Send every recording, a few at a time (each its own session), and read it back.
	recs := loadRecordings(t)
	if only := os.Getenv("FIDELITY_ONLY"); only != "" { // a regexp of recording names, to look at a few
		re := regexp.MustCompile(only)
		recs = slices.DeleteFunc(recs, func(r recording) bool { return !re.MatchString(r.name) })
	}
	type outcome struct {
		sent, returned []json.RawMessage // returned: in the order sent (by chunk)
		stream         streamed
		chunks         [][]json.RawMessage
		moved          int // events at another place in the stream than in the sent list
		err            error
	}
	results := make([]outcome, len(recs))
	// 3 hours ago: the 2-hour recording ends in the past too.
	start := time.Now().Add(-3 * time.Hour).UnixMilli()
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, r := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			o := &results[i]
			if o.sent, o.err = shiftTimestamps(r.events, start); o.err != nil {
				return
			}
			session := fmt.Sprintf("fidelity-%s-%d", r.name, time.Now().UnixNano())
			o.chunks = splitChunks(o.sent)
			for seq, c := range o.chunks {
				if o.err = sendChunk("http://"+otlpAddr, session, seq, c); o.err != nil {
					return
				}
			}
			o.stream, o.err = replayStream("http://"+grafanaAddr, session)
			o.returned = o.stream.inChunkOrder()
		}()
	}
	wg.Wait()

	// Structural diff, then the manifest of the rendering.
	type manifestRec struct {
		Name        string  `json:"name"`
		Original    string  `json:"original"`
		Returned    string  `json:"returned"`
		MaskedIDs   []int   `json:"maskedIds"`
		Checkpoints []int64 `json:"checkpoints"`
	}
	manifest := struct {
		Artifacts  string        `json:"artifacts"`
		Recordings []manifestRec `json:"recordings"`
	}{Artifacts: out, Recordings: []manifestRec{}}
	diffs := make([][]change, len(recs))
	work := t.TempDir()
	for i, r := range recs {
		o := results[i]
		if o.err != nil {
			t.Errorf("%s: %v", r.name, o.err)
			continue
		}
		changes, mismatches := structuralDiff(o.sent, o.returned)
		for _, m := range mismatches {
			t.Errorf("%s: %s", r.name, m.msg)
		}
		moved, played := playOrderChanges(o.sent, o.chunks, o.stream)
		results[i].moved = moved
		if played > 0 {
			t.Errorf("%s: the Replayer would apply %d events in another order than it does for the events sent (%d moved in the stream)", r.name, played, moved)
		}
		diffs[i] = changes
		masked := map[int]bool{}
		for _, c := range changes {
			if c.Expected && c.NodeID != 0 {
				masked[c.NodeID] = true
			}
		}
		// The Replayer gets the returned events in stream order, as the panel does.
		mr := manifestRec{Name: r.name, MaskedIDs: []int{}, Original: filepath.Join(work, r.name+".sent.json"), Returned: filepath.Join(work, r.name+".returned.json"),
			Checkpoints: checkpoints(o.sent)}
		for id := range masked {
			mr.MaskedIDs = append(mr.MaskedIDs, id)
		}
		slices.Sort(mr.MaskedIDs)
		writeJSON(t, mr.Original, o.sent)
		writeJSON(t, mr.Returned, o.stream.events)
		manifest.Recordings = append(manifest.Recordings, mr)
	}
	manifestPath := filepath.Join(work, "manifest.json")
	writeJSON(t, manifestPath, manifest)

	var rendered struct {
		Results []renderResult `json:"results"`
	}
	stack.RunNode(t, root, &rendered, "tests/fidelity/render.mjs", manifestPath)
	byName := map[string]renderResult{}
	for _, r := range rendered.Results {
		byName[r.Name] = r
	}

	// One line per recording, then the changes that are not masked inputs.
	var report strings.Builder
	var totalCP, totalSame, totalPixels, totalUnexpected int
	for i, r := range recs {
		if results[i].err != nil {
			continue
		}
		rr, ok := byName[r.name]
		if !ok {
			t.Errorf("%s: not rendered", r.name)
			continue
		}
		same, pixels, sanity, maskedPixels, threw, reshot := 0, 0, 0, 0, 0, 0
		for _, cp := range rr.Checkpoints {
			if cp.Pixels == 0 {
				same++
			}
			if cp.Reshot {
				reshot++
			}
			if e := cp.ReplayerErrors; e != nil {
				threw++
				if e.Original != e.Returned {
					t.Errorf("%s at %d ms: the Replayer threw %q on the original events and %q on the returned ones", r.name, cp.Offset, e.Original, e.Returned)
				}
			}
			pixels += cp.Pixels
			sanity += cp.SanityPixels
			maskedPixels += cp.MaskedPixels
		}
		expected, unexpected := 0, 0
		rules := map[string]int{}
		for _, c := range diffs[i] {
			if c.Expected {
				expected++
			} else {
				unexpected++
			}
			rules[fmt.Sprintf("%s %s", c.Rule, strings.TrimPrefix(c.Field, "attr:"))]++
		}
		line := fmt.Sprintf("FIDELITY recording=%s events=%d chunks=%d stream_moved=%d checkpoints=%d identical=%d differing_pixels_outside_masked=%d sanity_pixels=%d masked_pixels=%d reshot=%d replayer_threw=%d masked_inputs=%d changed_values=%d unexpected_changes=%d rules=[%s]",
			r.name, len(results[i].sent), len(results[i].chunks), results[i].moved, len(rr.Checkpoints), same, pixels, sanity, maskedPixels, reshot, threw, len(manifest.Recordings[indexOf(manifest.Recordings, r.name, func(m manifestRec) string { return m.Name })].MaskedIDs),
			len(diffs[i]), unexpected, ruleSummary(rules))
		if why, skip := renderNotJudged[r.name]; skip {
			line += " render_not_judged=" + strconv.Quote(why)
		}
		fmt.Println(line)
		report.WriteString(line + "\n")
		// Every changed value with its rule; those not explained by input masking are marked.
		for _, c := range diffs[i] {
			verdict := "expected"
			if !c.Expected {
				verdict = "UNEXPECTED"
			}
			d := fmt.Sprintf("  changed %s event=%d node=%d <%s> %s: %q -> %q (rule: %s, %s)", r.name, c.Event, c.NodeID, c.Tag, c.Field, c.Was, c.Now, c.Rule, verdict)
			fmt.Println(d)
			report.WriteString(d + "\n")
		}
		totalCP += len(rr.Checkpoints)
		totalSame += same
		totalPixels += pixels
		totalUnexpected += unexpected

		if unexpected > 0 {
			t.Errorf("%s: %d values changed that are not masked inputs (first: %s)", r.name, unexpected, firstUnexpected(diffs[i]))
		}
		if _, skip := renderNotJudged[r.name]; skip {
			continue
		}
		if len(rr.Errors) > 0 {
			t.Errorf("%s: rendering failed: %v", r.name, rr.Errors)
		}
		if len(rr.Checkpoints) == 0 {
			t.Errorf("%s: no checkpoint rendered", r.name)
		}
		if sanity > 0 {
			t.Errorf("%s: two renders of the same events differ by %d pixels: the comparison is not exact (screenshots in %s)", r.name, sanity, out)
		}
		if pixels > 0 {
			t.Errorf("%s: %d pixels differ outside masked inputs at %d of %d checkpoints (screenshots in %s)", r.name, pixels, len(rr.Checkpoints)-same, len(rr.Checkpoints), out)
		}
		if rr.Colours < 2 {
			t.Errorf("%s: the last replayed frame is one flat colour", r.name)
		}
	}
	total := fmt.Sprintf("FIDELITY total recordings=%d checkpoints=%d identical=%d differing_pixels_outside_masked=%d unexpected_changes=%d", len(recs), totalCP, totalSame, totalPixels, totalUnexpected)
	fmt.Println(total)
	report.WriteString(total + "\n")
	_ = os.WriteFile(filepath.Join(out, "fidelity-report.txt"), []byte(report.String()), 0o644)
	t.Logf("report with every changed value: %s", filepath.Join(out, "fidelity-report.txt"))
}

type renderResult struct {
	Name        string `json:"name"`
	Checkpoints []struct {
		Offset       int64  `json:"offset"`
		Pixels       int    `json:"pixels"`
		MaskedPixels int    `json:"maskedPixels"`
		SanityPixels int    `json:"sanityPixels"`
		Sizes        string `json:"sizes"`
		Reshot       bool   `json:"reshot"` // differed once, shot again after a pause
		// What rrweb's Replayer threw while seeking (some rrweb test
		// recordings are made to make it give up on an event).
		ReplayerErrors *struct {
			Original string `json:"original"`
			Returned string `json:"returned"`
		} `json:"replayerErrors"`
	} `json:"checkpoints"`
	Colours int      `json:"colours"` // distinct colours sampled in the last screenshot
	Errors  []string `json:"errors"`
}

func indexOf[T any](xs []T, name string, key func(T) string) int {
	for i, x := range xs {
		if key(x) == name {
			return i
		}
	}
	return -1
}

func ruleSummary(rules map[string]int) string {
	var parts []string
	for k, n := range rules {
		parts = append(parts, fmt.Sprintf("%s:%d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func firstUnexpected(cs []change) string {
	for _, c := range cs {
		if !c.Expected {
			return fmt.Sprintf("event %d <%s> %s %q -> %q by %s", c.Event, c.Tag, c.Field, c.Was, c.Now, c.Rule)
		}
	}
	return ""
}

// checkpoints are offsets (ms from the first event, as the Replayer counts)
// 500 ms after every full snapshot and at evenly spaced times from the first
// full snapshot to the last event (before it there is no page to show, and a
// Replayer seeking back there keeps whatever it showed last).
func checkpoints(events []json.RawMessage) []int64 {
	first, last := int64(1<<62), int64(0)
	for _, e := range events {
		h := head(e)
		first, last = min(first, h.Timestamp), max(last, h.Timestamp)
	}
	var snaps []int64
	for _, e := range events {
		if h := head(e); h.Type == fullSnapshot {
			snaps = append(snaps, h.Timestamp-first)
		}
	}
	slices.Sort(snaps)
	if len(snaps) == 0 {
		return nil
	}
	from := snaps[0]
	if room := maxCheckpoints - evenCheckpoints; len(snaps) > room {
		// evenly chosen snapshots, always the first
		picked := make([]int64, 0, room)
		for k := range room {
			picked = append(picked, snaps[k*len(snaps)/room])
		}
		snaps = picked
	}
	var cps []int64
	for _, s := range snaps {
		cps = append(cps, s+500)
	}
	for k := 1; k <= evenCheckpoints; k++ {
		cps = append(cps, from+(last-first-from)*int64(k)/evenCheckpoints)
	}
	slices.Sort(cps)
	return slices.Compact(cps)
}

// sendChunk posts one chunk as the recorder does: an OTLP/HTTP protobuf logs
// request holding one session_replay.chunk record with a gzip JSON body. It
// retries 429 and 503 after their Retry-After, as an OTLP exporter does.
func sendChunk(endpoint, session string, seq int, events []json.RawMessage) error {
	data, err := json.Marshal(events)
	if err != nil {
		return err
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(data)
	_ = zw.Close()
	start, end, full := int64(1<<62), int64(0), false
	for _, e := range events {
		h := head(e)
		start, end = min(start, h.Timestamp), max(end, h.Timestamp)
		full = full || h.Type == fullSnapshot
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "fidelity")
	rl.Resource().Attributes().PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("session_replay.chunk")
	lr.SetTimestamp(pcommon.Timestamp(start * int64(time.Millisecond)))
	a := lr.Attributes()
	a.PutStr("session.id", session)
	a.PutStr("session_replay.window_id", "w1")
	a.PutInt("session_replay.seq", int64(seq))
	a.PutInt("session_replay.start", start)
	a.PutInt("session_replay.end", end)
	a.PutInt("session_replay.event_count", int64(len(events)))
	a.PutBool("session_replay.full_snapshot", full)
	a.PutStr("session_replay.encoding", "gzip")
	a.PutStr("session_replay.rrweb_version", "2.0.0-alpha.20")
	lr.Body().SetEmptyBytes().FromRaw(z.Bytes())
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		resp, err := http.Post(endpoint+"/v1/logs", "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("chunk %d: %w", seq, err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			var r plogotlp.ExportResponse
			r = plogotlp.NewExportResponse()
			if err := r.UnmarshalProto(msg); err == nil && r.PartialSuccess().RejectedLogRecords() > 0 {
				return fmt.Errorf("chunk %d rejected: %s", seq, r.PartialSuccess().ErrorMessage())
			}
			return nil
		case (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt < 100:
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(wait, 1)) * time.Second)
		default:
			return fmt.Errorf("chunk %d: status %d: %s", seq, resp.StatusCode, msg)
		}
	}
}

// streamed is the replay stream of a session: its events in stream order and
// the chunk (session_replay.seq) each came in.
type streamed struct {
	events []json.RawMessage
	seqs   []int
}

// replayStream reads a session through the plugin's replay resource (the
// NDJSON stream the panel plays).
func replayStream(base, session string) (streamed, error) {
	var out streamed
	resp, err := http.Get(base + "/api/datasources/uid/sessionreplay/resources/sessions/" + session + "/replay")
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return out, fmt.Errorf("replay stream: status %d: %s", resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 8<<20), 8<<20)
	var part strings.Builder
	for sc.Scan() {
		var line struct {
			Type    string            `json:"type"`
			Seq     int               `json:"seq"`
			Events  []json.RawMessage `json:"events"`
			Data    string            `json:"data"`
			Part    int               `json:"part"`
			Parts   int               `json:"parts"`
			Message string            `json:"message"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return out, fmt.Errorf("replay stream line: %w", err)
		}
		switch line.Type {
		case "chunk":
			for _, e := range line.Events {
				out.events = append(out.events, e)
				out.seqs = append(out.seqs, line.Seq)
			}
		case "event_part":
			part.WriteString(line.Data)
			if line.Part == line.Parts-1 {
				out.events = append(out.events, json.RawMessage(part.String()))
				out.seqs = append(out.seqs, line.Seq)
				part.Reset()
			}
		case "error":
			return out, fmt.Errorf("replay stream ended with an error: %s", line.Message)
		}
	}
	return out, sc.Err()
}

// inChunkOrder puts the streamed events back in the order they were sent:
// by chunk, and within a chunk as they came. The stream sends chunks in time
// order, which differs from the sending order when a recording's events are
// out of order (smartx-2h has its full snapshot at index 118, with earlier
// timestamps than the events before it).
func (s streamed) inChunkOrder() []json.RawMessage {
	idx := make([]int, len(s.events))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.seqs[idx[a]] < s.seqs[idx[b]] })
	out := make([]json.RawMessage, len(idx))
	for i, j := range idx {
		out[i] = s.events[j]
	}
	return out
}

// playOrder is the order rrweb's Replayer applies events in: a stable sort
// by timestamp of the list it is given. It returns, for each step, the index
// of the event in `ids` order.
func playOrder(events []json.RawMessage, ids []int) []int {
	type ev struct{ ts, id int64 }
	list := make([]ev, len(events))
	for i, e := range events {
		list[i] = ev{head(e).Timestamp, int64(ids[i])}
	}
	sort.SliceStable(list, func(a, b int) bool { return list[a].ts < list[b].ts })
	out := make([]int, len(list))
	for i, e := range list {
		out[i] = int(e.id)
	}
	return out
}

// playOrderChanges counts the steps at which the Replayer would apply a
// different event to the returned stream than to the events sent.
func playOrderChanges(sent []json.RawMessage, chunks [][]json.RawMessage, s streamed) (moved, played int) {
	// The id of a streamed event is its index in the sent list: chunk start + position in its chunk.
	starts := make([]int, len(chunks)+1)
	for i, c := range chunks {
		starts[i+1] = starts[i] + len(c)
	}
	pos := map[int]int{}
	ids := make([]int, len(s.events))
	for i, seq := range s.seqs {
		if seq < 0 || seq >= len(chunks) {
			return len(s.events), len(s.events)
		}
		ids[i] = starts[seq] + pos[seq]
		pos[seq]++
		if ids[i] != i {
			moved++
		}
	}
	sentIDs := make([]int, len(sent))
	for i := range sentIDs {
		sentIDs[i] = i
	}
	a, b := playOrder(sent, sentIDs), playOrder(s.events, ids)
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			played++
		}
	}
	return moved, played
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
