package store

import (
	"encoding/binary"
	"hash/fnv"
	"sort"
	"strconv"
)

// PartID is a deterministic contribution id: the same parts always hash to
// the same id (length-prefixed, so ("ab","c") and ("a","bc") differ). Writers
// name a chunk's contribution PartID("chunk", window, seq), an error span's
// PartID("span", trace id, span id), and so on.
func PartID(parts ...string) uint64 {
	h := fnv.New64a()
	var l [8]byte
	for _, p := range parts {
		binary.LittleEndian.PutUint64(l[:], uint64(len(p)))
		_, _ = h.Write(l[:])
		_, _ = h.Write([]byte(p))
	}
	if v := h.Sum64(); v != 0 {
		return v
	}
	return 1
}

// SummaryPartID derives the id of a summary row that names none from all
// of its content: the same row written twice is then counted once, and two
// different rows of a session stay two.
func SummaryPartID(s *SessionSummary) uint64 {
	parts := []string{"content", s.SessionID, s.Start.UTC().String(), s.End.UTC().String(),
		strconv.FormatUint(s.ActiveMs, 10), strconv.FormatUint(s.Chunks, 10), strconv.FormatUint(s.Events, 10),
		strconv.FormatUint(s.Bytes, 10), strconv.FormatUint(s.PageViews, 10), strconv.FormatUint(s.Clicks, 10),
		strconv.FormatUint(s.Inputs, 10), strconv.FormatUint(s.RageClicks, 10), strconv.FormatUint(s.DeadClicks, 10), strconv.FormatUint(s.Errors, 10),
		s.EntryURL, s.UserID, s.ServiceName, s.Device, s.OS, s.Browser, s.Country, s.UserAgent}
	parts = append(parts, s.URLs...)
	keys := make([]string, 0, len(s.Attributes))
	for k := range s.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k, s.Attributes[k])
	}
	return PartID(parts...)
}
