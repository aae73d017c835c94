//go:build e2e

package sdks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// decoded is an rrweb event parsed for comparison (numbers kept as written).
type decoded struct {
	raw   json.RawMessage
	value any
	label string // "type 3 source 5": where masked paths are named
}

func decode(raw json.RawMessage) (decoded, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return decoded{}, err
	}
	label := "event"
	if m, ok := v.(map[string]any); ok {
		label = fmt.Sprintf("type %v", m["type"])
		if data, ok := m["data"].(map[string]any); ok && data["source"] != nil {
			label += fmt.Sprintf(" source %v", data["source"])
		}
	}
	return decoded{raw: raw, value: v, label: label}, nil
}

// maskedPaths counts, by named path, the values the server masked on
// purpose: a string or number the SDK sent that came back masked (isMaskOf).
type maskedPaths map[string]int

func (m maskedPaths) names() []string {
	var out []string
	for p, n := range m {
		out = append(out, fmt.Sprintf("%s (%d)", p, n))
	}
	sort.Strings(out)
	return out
}

// equalMasked compares a sent and a replayed event after JSON
// canonicalisation (key order, spacing, number spelling), allowing masked
// values, which it notes in masked; it returns the first other difference.
func equalMasked(sent, got decoded, masked maskedPaths) (bool, string) {
	var found []string
	if diff := walk(sent.value, got.value, "", &found); diff != "" {
		return false, diff
	}
	for _, p := range found {
		masked[sent.label+": "+p]++
	}
	return true, ""
}

var index = regexp.MustCompile(`\[\d+\]`)

func walk(a, b any, path string, masked *[]string) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return path + ": object differs"
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok {
				return path + "." + k + ": missing"
			}
			if d := walk(v, w, path+"."+k, masked); d != "" {
				return d
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return path + ": array differs"
		}
		for i := range x {
			if d := walk(x[i], y[i], path+"["+strconv.Itoa(i)+"]", masked); d != "" {
				return d
			}
		}
		return ""
	case json.Number:
		if y, ok := b.(json.Number); ok {
			if x == y {
				return ""
			}
			fx, _ := x.Float64()
			fy, _ := y.Float64()
			if fx == fy {
				return ""
			}
			return fmt.Sprintf("%s: %s != %s", path, x, y)
		}
		if y, ok := b.(string); ok && isMaskOf(x.String(), y) {
			*masked = append(*masked, named(path))
			return ""
		}
		return fmt.Sprintf("%s: number %s became %v", path, x, b)
	case string:
		y, ok := b.(string)
		if ok && x == y {
			return ""
		}
		if ok && isMaskOf(x, y) {
			*masked = append(*masked, named(path))
			return ""
		}
		return fmt.Sprintf("%s: %q became %v", path, clip(x), b)
	default:
		if a != b {
			return fmt.Sprintf("%s: %v became %v", path, a, b)
		}
		return ""
	}
}

// named is a masked path without its array indices and with a DOM tree's
// nesting folded: data.node..childNodes[].attributes.value.
func named(path string) string {
	p := index.ReplaceAllString(strings.TrimPrefix(path, "."), "[]")
	for strings.Contains(p, "childNodes[].childNodes[]") {
		p = strings.ReplaceAll(p, "childNodes[].childNodes[]", "childNodes[]")
	}
	return strings.ReplaceAll(p, "childNodes[]", "..childNodes[]")
}

// isMaskOf says whether got is sent masked by the server: a placeholder of
// stars (the masker's fixed-length placeholder, ******, whatever the length
// of the value), or sent with some characters turned into '*' (card digits,
// text masked character by character).
func isMaskOf(sent, got string) bool {
	if sent == got || got == "" {
		return false
	}
	if strings.Trim(got, "*") == "" {
		return true
	}
	s, g := []rune(sent), []rune(got)
	if len(s) != len(g) {
		return false
	}
	for i := range s {
		if s[i] != g[i] && g[i] != '*' {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// matchStreams finds every sent event in the replay: each stream's events,
// in the SDK's order, inside one replayed window (page loads of one tab may
// share a window), each replayed event used once, and no replayed event
// left over. It returns the problems found (empty: complete and in order).
func matchStreams(sent []stream, windows map[string][]decoded, masked maskedPaths) []string {
	var problems []string
	used := map[string][]bool{}
	replayed := 0
	for w, evs := range windows {
		used[w] = make([]bool, len(evs))
		replayed += len(evs)
	}
	total := 0
	for _, s := range sent {
		total += len(s.Events)
		var evs []decoded
		for _, raw := range s.Events {
			d, err := decode(raw)
			if err != nil {
				problems = append(problems, fmt.Sprintf("stream %s: event the SDK sent is not JSON: %v", s.Key, err))
				continue
			}
			evs = append(evs, d)
		}
		best, bestN, bestDiff := "", -1, ""
		for w, got := range windows {
			n, diff := subsequence(evs, got, used[w], nil)
			if n > bestN {
				best, bestN, bestDiff = w, n, diff
			}
		}
		if bestN < len(evs) {
			problems = append(problems, fmt.Sprintf("stream %s: %d of its %d events found in order in a replayed window (best: window %q; first miss: %s)",
				s.Key, max(bestN, 0), len(evs), best, bestDiff))
			continue
		}
		subsequence(evs, windows[best], used[best], masked)
	}
	if replayed != total {
		problems = append(problems, fmt.Sprintf("the replay holds %d events, the SDK sent %d", replayed, total))
	}
	return problems
}

// subsequence matches want, in order, against the unused events of got;
// with masked set it marks the matched ones used and notes masked paths.
func subsequence(want, got []decoded, used []bool, masked maskedPaths) (int, string) {
	j, firstMiss := 0, ""
	for i, w := range want {
		var miss string
		for ; j < len(got); j++ {
			if used[j] {
				continue
			}
			scratch := maskedPaths{}
			if ok, d := equalMasked(w, got[j], scratch); ok {
				if masked != nil {
					used[j] = true
					for p, n := range scratch {
						masked[p] += n
					}
				}
				j++
				goto next
			} else if miss == "" {
				miss = d
			}
		}
		firstMiss = fmt.Sprintf("sent event %d (%s, %s): %s", i, w.label, clip(string(w.raw)), miss)
		return i, firstMiss
	next:
	}
	return len(want), ""
}
