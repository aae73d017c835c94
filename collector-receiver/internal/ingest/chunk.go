package ingest

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/seed/sessionreplay/collector-receiver/internal/assets"
	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/collector-receiver/internal/privacy"
	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
	"github.com/seed/sessionreplay/pkg/store"
)

// Wire format names (DESIGN.md) read outside the replay formats
// (internal/formats).
const (
	AttrEventName    = "event.name"
	AttrFullSnapshot = "session_replay.full_snapshot"
	AttrUserAgent    = "user_agent.original"
	AttrUserID       = "user.id"
	AttrServiceName  = "service.name"
	exceptionEvent   = "exception"
	maxDetail        = 8192
)

var countryAttrs = []string{"geo.country.iso_code", "client.geo.country_iso_code"}

// summaryAttrs are resource attributes copied into the session's attributes map.
var summaryAttrs = []string{"service.version", "deployment.environment.name", "deployment.environment", "browser.language", "browser.platform", "browser.mobile"}

// chunkIn is a replay chunk before privacy and summary.
type chunkIn struct {
	sessionID string
	windowID  string
	seq       uint64
	start     int64 // unix ms from attributes (0: from events)
	end       int64
	data      []byte // read-only: may be a pdata string's memory
	service   string
	res       pcommon.Resource
	attrs     pcommon.Map
}

// fromFormat is a chunk read by one of the formats, with its service.
func fromFormat(c formats.Chunk) chunkIn {
	return chunkIn{sessionID: c.SessionID, windowID: c.WindowID, seq: c.Seq, start: c.Start, end: c.End, data: c.Data,
		res: c.Resource, attrs: c.Attrs, service: str(c.Resource.Attributes(), AttrServiceName)}
}

// chunkFromRecord reads one session_replay.chunk record (the fuzz tests
// drive it directly).
func chunkFromRecord(lr plog.LogRecord, res pcommon.Resource, service string) (chunkIn, error) {
	c, err := formats.ParseChunk(lr, res)
	in := fromFormat(c)
	in.service = service
	return in, err
}

// decodeChunk turns a chunk body into the masked, card-scrubbed, valid
// UTF-8 JSON array that is stored, and its summary (chunk seq of the tab
// whose summary state is win; nil: the chunk alone). body is only read. It
// holds no state but the privacy and summary state of the tab, so the fuzz
// tests drive it directly.
func decodeChunk(cfg *Config, m *privacy.Masker, body []byte, ps *privacy.State, win *rrweb.Window, seq uint64, lock sync.Locker) ([]byte, rrweb.Stats, int, error) {
	data, err := rrweb.DecodeBody(body, "", cfg.MaxChunkBytes)
	if err != nil {
		return nil, rrweb.Stats{}, 0, err
	}
	c, err := rrweb.Parse(data)
	if err != nil {
		return nil, rrweb.Stats{}, 0, err
	}
	defer c.Release()
	if len(c.Events) == 0 {
		return nil, rrweb.Stats{}, 0, fmt.Errorf("empty chunk")
	}
	if len(c.Events) > cfg.MaxChunkEvents {
		return nil, rrweb.Stats{}, 0, fmt.Errorf("chunk has %d rrweb events, over max_chunk_events (%d): send smaller chunks", len(c.Events), cfg.MaxChunkEvents)
	}
	lock.Lock()
	m.Apply(c, ps) // input masking and card numbers
	// after masking: labels and messages read the text as it is stored
	stats := rrweb.SummarizeWindow(c, win, seq)
	lock.Unlock()
	if data, err = c.Encode(); err != nil {
		return nil, rrweb.Stats{}, 0, err
	}
	if !utf8.Valid(data) {
		// invalid UTF-8 inside JSON strings: store valid text (readers decode it as UTF-8)
		data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	return data, stats, len(c.Events), nil
}

// chunk decodes, masks and summarises one chunk and adds its rows.
func (g *Ingester) chunk(q *request, c *chunkIn, retained bool) (int, error) {
	st := q.seen(c.sessionID)
	st.mu.Lock()
	ps := st.privacyState(c.windowID)
	win := st.signals.window(c.windowID)
	st.mu.Unlock()
	data, stats, nEvents, err := decodeChunk(&g.cfg, g.deps.Masker, c.data, ps, win, c.seq, &st.mu)
	if err != nil {
		return 0, err
	}

	start, end := stats.Start, stats.End
	if c.start > 0 {
		start = c.start
	}
	if c.end > 0 {
		end = c.end
	}
	start, end = q.clampMs(start), q.clampMs(end)
	if end < start {
		end = start
	}
	ch := store.Chunk{SessionID: c.sessionID, WindowID: c.windowID, Seq: c.seq, Start: time.UnixMilli(start).UTC(), End: time.UnixMilli(end).UTC(),
		EventCount: uint32(nEvents), FullSnapshot: stats.FullSnapshot || boolAttr(c.attrs, AttrFullSnapshot), ServiceName: c.service, Data: data}
	// what page loads and sessions of a site repeat (stylesheets) is stored once
	if err := (assets.Extractor{}).Apply(&ch); err != nil {
		return 0, err
	}
	if retained {
		q.batch.Retained = append(q.batch.Retained, ch)
	} else {
		q.batch.Buffered = append(q.batch.Buffered, ch)
	}

	resAttrs := c.res.Attributes()
	ua := first(c.attrs, resAttrs, AttrUserAgent)
	if ua == "" {
		ua = q.browserUA
	}
	info := g.userAgent(ua)
	// One contribution per (window, seq): a retried chunk replaces its first copy.
	sum := store.SessionSummary{SessionID: c.sessionID, PartID: store.PartID("chunk", c.windowID, strconv.FormatUint(c.seq, 10)), Start: ch.Start, End: ch.End, ActiveMs: uint64(stats.ActiveMs), Chunks: 1,
		Events: uint64(nEvents), Bytes: uint64(len(data)), PageViews: uint64(stats.PageViews), Clicks: uint64(stats.Clicks),
		Inputs: uint64(stats.Inputs), RageClicks: uint64(stats.RageClicks), URLs: stats.URLs, UserID: first(c.attrs, resAttrs, AttrUserID),
		ServiceName: c.service, Device: info.Device, OS: info.OS, Browser: info.Browser, UserAgent: ua, Attributes: g.sessionAttrs(resAttrs)}
	if len(stats.URLs) > 0 {
		sum.EntryURL = stats.URLs[0]
	}
	for _, k := range countryAttrs {
		if v := first(c.attrs, resAttrs, k); v != "" {
			sum.Country = v
			break
		}
	}
	chunkSignals(q, st, c.sessionID, c.windowID, c.seq, win, &stats)
	q.batch.Sessions = append(q.batch.Sessions, sum)
	for _, m := range stats.Markers {
		q.batch.Events = append(q.batch.Events, store.Event{SessionID: c.sessionID, Time: time.UnixMilli(q.clampMs(m.Time)).UTC(), Kind: m.Kind,
			Name: privacy.ScrubCardsString(m.Name), URL: m.URL, Detail: privacy.ScrubCardsString(m.Detail), WindowID: c.windowID,
			ID: store.PartID(c.sessionID, c.windowID, strconv.FormatUint(m.Seq, 10), strconv.Itoa(m.Index), m.Kind)})
	}
	return len(data), nil
}

func (g *Ingester) sessionAttrs(res pcommon.Map) map[string]string {
	out := map[string]string{}
	for _, k := range summaryAttrs {
		if g.deps.Masker.DropsAttribute(k) {
			continue
		}
		if v, ok := res.Get(k); ok {
			out[k] = v.AsString()
		}
	}
	return out
}

// str reads attributes the way every format does.
var str = formats.Str

func first(a, b pcommon.Map, k string) string {
	if v := str(a, k); v != "" {
		return v
	}
	return str(b, k)
}

func has(m pcommon.Map, k string) bool {
	_, ok := m.Get(k)
	return ok
}

func boolAttr(m pcommon.Map, k string) bool {
	v, ok := m.Get(k)
	if !ok {
		return false
	}
	switch v.Type() {
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeStr:
		return v.Str() == "true"
	}
	return false
}

func clip(s string) string {
	if len(s) > maxDetail {
		return s[:maxDetail]
	}
	return s
}
