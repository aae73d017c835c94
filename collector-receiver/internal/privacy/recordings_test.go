package privacy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
	"github.com/seed/sessionreplay/pkg/fixtures"
)

// TestRealRecordingsChangeOnlyMaskedInputValues: every real recording of
// the shared fixtures, masked with the receiver's default configuration,
// differs from the original only in the values of masked inputs (a field's
// value attribute, typed text, a textarea's text). Anything else that
// changed (a coordinate, a style, a label) is printed with its path, and
// fails: the replay would show what never happened.
func TestRealRecordingsChangeOnlyMaskedInputValues(t *testing.T) {
	files, err := filepath.Glob(fixtures.Path(t, "rrweb", "*.events.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recordings: %v", err)
	}
	m, err := New(Config{MaskInputs: true, MaskPlaceholder: DefaultPlaceholder})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := rrweb.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m.Apply(c, &State{})
		out, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		var before, after []any
		for _, p := range []struct {
			b []byte
			v *[]any
		}{{raw, &before}, {out, &after}} {
			d := json.NewDecoder(bytes.NewReader(p.b))
			d.UseNumber()
			if err := d.Decode(p.v); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		c.Release()
		d := newRecordingDiff(before)
		for i := range before {
			d.value(before[i], after[i], fmt.Sprintf("[%d]", i), i, "", "")
		}
		byRule := map[string]int{}
		for _, ch := range d.changes {
			byRule[ch.rule]++
			if !strings.HasPrefix(ch.rule, "masked ") {
				t.Errorf("%s: %s changed (%s): %.80q -> %.80q", filepath.Base(f), ch.path, ch.rule, ch.old, ch.new)
			} else if ch.new != DefaultPlaceholder {
				t.Errorf("%s: %s masked to %.40q, want the placeholder", filepath.Base(f), ch.path, ch.new)
			}
		}
		t.Logf("MASKER recording=%s events=%d values_changed=%d by_rule=%v", filepath.Base(f), len(before), len(d.changes), byRule)
	}
}

type valueChange struct{ path, rule, old, new string }

// recordingDiff compares decoded rrweb events and names the rule behind
// each changed value; it knows each node's element from a first pass.
type recordingDiff struct {
	events    []any
	tagOf     map[string]string // element id -> lower-case tag name
	fieldText map[string]bool   // ids of text nodes inside a textarea
	changes   []valueChange
}

func newRecordingDiff(events []any) *recordingDiff {
	d := &recordingDiff{events: events, tagOf: map[string]string{}, fieldText: map[string]bool{}}
	var walk func(v any, parentTag string)
	walk = func(v any, parentTag string) {
		switch v := v.(type) {
		case map[string]any:
			tag := parentTag
			if tn, ok := v["tagName"].(string); ok {
				tag = strings.ToLower(tn)
				d.tagOf[fmt.Sprint(v["id"])] = tag
			}
			if fmt.Sprint(v["type"]) == "3" && parentTag == "textarea" {
				d.fieldText[fmt.Sprint(v["id"])] = true
			}
			for k, e := range v {
				if k == "childNodes" {
					walk(e, tag)
				} else {
					walk(e, parentTag)
				}
			}
		case []any:
			for _, e := range v {
				walk(e, parentTag)
			}
		}
	}
	walk(events, "")
	// text nodes added by mutations under a textarea
	for _, ev := range events {
		for _, add := range list(dig(ev, "data", "adds")) {
			if node, ok := dig(add, "node").(map[string]any); ok && d.tagOf[fmt.Sprint(dig(add, "parentId"))] == "textarea" && fmt.Sprint(node["type"]) == "3" {
				d.fieldText[fmt.Sprint(node["id"])] = true
			}
		}
	}
	return d
}

func (d *recordingDiff) value(a, b any, path string, event int, tag, parentTag string) {
	switch av := a.(type) {
	case map[string]any:
		bv, _ := b.(map[string]any)
		if tn, ok := av["tagName"].(string); ok {
			tag = strings.ToLower(tn)
		} else if pid := av["parentId"]; pid != nil {
			parentTag = d.tagOf[fmt.Sprint(pid)]
		}
		keys := make([]string, 0, len(av))
		for k := range av {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			childParent := parentTag
			if k == "childNodes" {
				childParent = tag
			}
			d.value(av[k], bv[k], path+"."+k, event, tag, childParent)
		}
	case []any:
		bv, _ := b.([]any)
		for i := range av {
			var e any
			if i < len(bv) {
				e = bv[i]
			}
			d.value(av[i], e, fmt.Sprintf("%s[%d]", path, i), event, tag, parentTag)
		}
	default:
		if fmt.Sprint(a) == fmt.Sprint(b) {
			return
		}
		d.changes = append(d.changes, valueChange{path: path, rule: d.rule(path, event, tag, parentTag), old: fmt.Sprint(a), new: fmt.Sprint(b)})
	}
}

// rule names why a value at path may change.
func (d *recordingDiff) rule(path string, event int, tag, parentTag string) string {
	ev := d.events[event]
	field := tag == "input" || tag == "textarea" || tag == "select"
	switch {
	case strings.HasSuffix(path, ".attributes.value") && field:
		return "masked input value (" + tag + " value attribute)"
	case strings.HasSuffix(path, ".data.text") && fmt.Sprint(dig(ev, "data", "source")) == "5":
		return "masked input value (typed text)"
	case strings.HasSuffix(path, ".textContent") && parentTag == "textarea":
		return "masked input value (textarea text)"
	case strings.Contains(path, ".data.attributes[") && strings.HasSuffix(path, ".attributes.value"):
		var n int
		fmt.Sscanf(path[strings.Index(path, ".data.attributes[")+len(".data.attributes["):], "%d", &n)
		switch t := d.tagOf[fmt.Sprint(dig(list(dig(ev, "data", "attributes"))[n], "id"))]; t {
		case "input", "textarea", "select", "":
			return "masked input value (value attribute mutation)"
		default:
			return "value attribute mutation of a " + t
		}
	case strings.Contains(path, ".data.texts["):
		i := strings.Index(path, ".data.texts[")
		var n int
		fmt.Sscanf(path[i+len(".data.texts["):], "%d", &n)
		if d.fieldText[fmt.Sprint(dig(list(dig(ev, "data", "texts"))[n], "id"))] {
			return "masked input value (textarea text mutation)"
		}
		return "text mutation"
	}
	return "unexpected (tag " + tag + ")"
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}
