//go:build e2e

package sdks

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// stream is the rrweb events one recorder instance of an SDK sent, in the
// SDK's order: a HyperDX page load (resource rum.scriptInstance), a Faro
// document (recording_id and gen, ordered by seq), an OTel window
// (window_id, ordered by seq).
type stream struct {
	Key       string
	SessionID string
	Events    []json.RawMessage
}

// sentEvents decodes every /v1/logs request an SDK sent (OTLP protobuf or
// JSON, gzip or not) and extracts the rrweb events in it, per stream.
func sentEvents(sdk string, reqs []captured) ([]stream, error) {
	type ordered struct {
		seq   int64
		order int
		ev    []json.RawMessage
	}
	byKey := map[string][]ordered{}
	sessions := map[string]string{}
	var keys []string
	add := func(key, session string, seq int64, evs ...json.RawMessage) {
		if _, ok := byKey[key]; !ok {
			keys = append(keys, key)
			sessions[key] = session
		}
		byKey[key] = append(byKey[key], ordered{seq: seq, order: len(byKey[key]), ev: evs})
	}
	// HyperDX: parts of a split event, by page load and event index
	parts := map[string][]string{}

	for _, req := range reqs {
		if req.Path != "/v1/logs" {
			continue
		}
		ld, err := decodeLogs(req)
		if err != nil {
			return nil, fmt.Errorf("%s request at %s: %w", sdk, req.Time.Format("15:04:05.000"), err)
		}
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			res := rls.At(i).Resource().Attributes()
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					attrs := lr.Attributes()
					switch sdk {
					case "hyperdx":
						if _, ok := attrs.Get("rr-web.event"); !ok {
							continue
						}
						key := attrString(res, "rum.scriptInstance")
						idx := attrInt(attrs, "rr-web.event")
						total := attrInt(attrs, "rr-web.total-chunks")
						body := lr.Body().AsString()
						if total > 1 {
							pk := key + "/" + strconv.FormatInt(idx, 10)
							parts[pk] = append(parts[pk], body)
							if int64(len(parts[pk])) < total {
								continue
							}
							body = strings.Join(parts[pk], "")
							delete(parts, pk)
						}
						add(key, attrString(res, "rum.sessionId"), idx, json.RawMessage(body))
					case "faro":
						if attrString(attrs, "event.name") != "faro.session_recording.event" {
							continue
						}
						ea, ok := attrs.Get("event.attributes")
						if !ok || ea.Type() != pcommon.ValueTypeMap {
							return nil, fmt.Errorf("faro replay record without an event.attributes kvlist")
						}
						m := ea.Map()
						seq, err := strconv.ParseInt(attrString(m, "seq"), 10, 64)
						if err != nil {
							return nil, fmt.Errorf("faro replay record seq %q: %w", attrString(m, "seq"), err)
						}
						// one document of the recording: Faro hands a recording on
						// between documents, and gen changes at each one's Meta event
						key := attrString(m, "recording_id")
						if gen := attrString(m, "gen"); gen != "" {
							key += ":" + gen
						}
						add(key, attrString(attrs, "session.id"), seq, json.RawMessage(attrString(m, "event")))
					case "otel":
						if lr.EventName() != "session_replay.chunk" {
							continue
						}
						var evs []json.RawMessage
						if err := json.Unmarshal([]byte(lr.Body().Str()), &evs); err != nil {
							return nil, fmt.Errorf("otel chunk body: %w", err)
						}
						add(attrString(attrs, "session_replay.window_id"), attrString(attrs, "session.id"), attrInt(attrs, "session_replay.seq"), evs...)
					}
				}
			}
		}
	}
	if len(parts) > 0 {
		return nil, fmt.Errorf("%s: %d split events never completed", sdk, len(parts))
	}
	var out []stream
	for _, key := range keys {
		recs := byKey[key]
		if sdk != "hyperdx" { // HyperDX: as sent; the others: by seq, as the SDK numbers them
			slices.SortStableFunc(recs, func(a, b ordered) int { return int(a.seq - b.seq) })
		}
		s := stream{Key: key, SessionID: sessions[key]}
		for _, r := range recs {
			s.Events = append(s.Events, r.ev...)
		}
		out = append(out, s)
	}
	return out, nil
}

func decodeLogs(req captured) (plog.Logs, error) {
	body := req.Body
	if strings.EqualFold(req.ContentEncoding, "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return plog.Logs{}, err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return plog.Logs{}, err
		}
	}
	ereq := plogotlp.NewExportRequest()
	var err error
	if strings.HasPrefix(req.ContentType, "application/json") {
		err = ereq.UnmarshalJSON(body)
	} else {
		err = ereq.UnmarshalProto(body)
	}
	return ereq.Logs(), err
}

func attrString(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.AsString()
	}
	return ""
}

func attrInt(m pcommon.Map, k string) int64 {
	v, ok := m.Get(k)
	if !ok {
		return 0
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return int64(v.Double())
	default:
		n, _ := strconv.ParseInt(v.AsString(), 10, 64)
		return n
	}
}
