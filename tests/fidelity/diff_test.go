package fidelity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// A change is one value that differs between the events sent and the events
// the plugin returned, with the rule that explains it.
type change struct {
	Event    int    // index of the event
	Path     string // JSON path inside the event
	NodeID   int    // node the value belongs to (0: none)
	Tag      string // element name of that node, or of a text node's parent
	Field    string // attribute name, "text", or the event field
	Was, Now string
	Rule     string
	Expected bool // an intentional masking of an input's value
}

// Rules a change is explained by. Only ruleMaskedInput is intended: the
// server masks what people type into form fields (privacy.mask_inputs, on by
// default); everything else changed a page, and the replay shows it.
const (
	ruleMaskedInput = "masked input value"
	ruleCardNumber  = "card number (Luhn)"
	ruleMaskedText  = "masked text"
	ruleMissing     = "value removed"
	ruleAdded       = "value added"
	ruleOther       = "other"
)

// A structural difference that is not a value: events lost, added,
// reordered or retyped.
type eventMismatch struct{ msg string }

// nodeInfo is what the diff knows of a node id: its element name (for text
// nodes, their parent's) and whether it is a text node.
type nodeInfo struct {
	tag    string
	text   bool
	parent int
}

// differ walks the events sent and returned side by side, learning node ids
// from snapshots and added nodes as a replayer would.
type differ struct {
	nodes      map[int]nodeInfo
	changes    []change
	mismatches []eventMismatch
	event      int
}

func structuralDiff(sent, returned []json.RawMessage) ([]change, []eventMismatch) {
	d := &differ{nodes: map[int]nodeInfo{}}
	if len(sent) != len(returned) {
		d.mismatches = append(d.mismatches, eventMismatch{fmt.Sprintf("%d events sent, %d returned", len(sent), len(returned))})
	}
	for i := range min(len(sent), len(returned)) {
		d.event = i
		a, b := decode(sent[i]), decode(returned[i])
		ha, hb := head(sent[i]), head(returned[i])
		if ha != hb {
			d.mismatches = append(d.mismatches, eventMismatch{fmt.Sprintf("event %d: sent type %d at %d, returned type %d at %d", i, ha.Type, ha.Timestamp, hb.Type, hb.Timestamp)})
			continue
		}
		d.learn(a)
		d.walk("", a, b, where{})
	}
	return d.changes, d.mismatches
}

func decode(raw json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers compare as written
	var v any
	_ = dec.Decode(&v)
	return v
}

// learn records the nodes an event creates (full snapshot, added nodes).
func (d *differ) learn(ev any) {
	e, _ := ev.(map[string]any)
	data, _ := e["data"].(map[string]any)
	if n, ok := data["node"].(map[string]any); ok {
		d.learnNode(n, 0)
	}
	if adds, ok := data["adds"].([]any); ok {
		for _, a := range adds {
			am, _ := a.(map[string]any)
			if n, ok := am["node"].(map[string]any); ok {
				d.learnNode(n, intOf(am["parentId"]))
			}
		}
	}
}

func (d *differ) learnNode(n map[string]any, parent int) {
	id := intOf(n["id"])
	info := nodeInfo{parent: parent}
	if tag, ok := n["tagName"].(string); ok {
		info.tag = strings.ToLower(tag)
	}
	if intOf(n["type"]) == 3 { // text node: its field is its parent's
		info.text = true
		info.tag = d.nodes[parent].tag
	}
	d.nodes[id] = info
	if kids, ok := n["childNodes"].([]any); ok {
		for _, k := range kids {
			if km, ok := k.(map[string]any); ok {
				d.learnNode(km, id)
			}
		}
	}
}

func intOf(v any) int {
	if n, ok := v.(json.Number); ok {
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}

// where is where a value sits: the node it belongs to and the field.
type where struct {
	node    int
	field   string
	attrMap bool // the value is a map of attribute name -> value
	inInput bool // an input event's data (incremental source 5)
}

func (d *differ) walk(path string, a, b any, ctx where) {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			d.record(path, ctx, a, b)
			return
		}
		// A serialized node or a mutation entry names the node its values belong to.
		if id, ok := av["id"]; ok && !ctx.attrMap {
			ctx.node = intOf(id)
		}
		if path == "" {
			if data, ok := av["data"].(map[string]any); ok && intOf(av["type"]) == 3 && intOf(data["source"]) == 5 {
				ctx.inInput = true
			}
		}
		for k, x := range av {
			sub := ctx
			sub.attrMap = false
			switch {
			case ctx.attrMap:
				sub.field = "attr:" + k
			case k == "attributes":
				_, sub.attrMap = x.(map[string]any)
				sub.field = k
			case k == "textContent" || k == "value" || k == "text":
				sub.field = k
			}
			y, ok := bv[k]
			if !ok {
				d.recordRule(path+"."+k, sub, x, nil, ruleMissing)
				continue
			}
			d.walk(path+"."+k, x, y, sub)
		}
		for k, y := range bv {
			if _, ok := av[k]; !ok {
				d.recordRule(path+"."+k, ctx, nil, y, ruleAdded)
			}
		}
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			d.record(path, ctx, a, b)
			return
		}
		for i := range av {
			d.walk(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i], ctx)
		}
	default:
		if fmt.Sprint(a) != fmt.Sprint(b) || fmt.Sprintf("%T", a) != fmt.Sprintf("%T", b) {
			d.record(path, ctx, a, b)
		}
	}
}

func (d *differ) record(path string, ctx where, a, b any) {
	d.recordRule(path, ctx, a, b, "")
}

var stars = regexp.MustCompile(`\*+`)

func (d *differ) recordRule(path string, ctx where, a, b any, rule string) {
	info := d.nodes[ctx.node]
	c := change{Event: d.event, Path: path, NodeID: ctx.node, Tag: info.tag, Field: ctx.field, Was: short(a), Now: short(b), Rule: rule}
	if c.Field == "" {
		c.Field = path[strings.LastIndex(path, ".")+1:]
	}
	was, _ := a.(string)
	now, _ := b.(string)
	formField := info.tag == "input" || info.tag == "textarea" || info.tag == "select"
	switch {
	case rule != "":
	case (ctx.inInput && c.Field == "text" ||
		formField && c.Field == "attr:value" ||
		info.text && info.tag == "textarea" && (c.Field == "textContent" || c.Field == "value")) &&
		now != "" && strings.Trim(now, "* \t\r\n") == "":
		// a form field's value replaced by the mask placeholder (stars; older
		// maskers kept the spaces between words): intended
		c.Rule, c.Expected = ruleMaskedInput, true
	case now != "" && strings.Contains(now, "*") && cardMasked(was, now):
		c.Rule = ruleCardNumber
	case now != "" && stars.ReplaceAllString(now, "") == "" && was != "":
		c.Rule = ruleMaskedText
	default:
		c.Rule = ruleOther
	}
	d.changes = append(d.changes, c)
}

// cardMasked: the returned string is the sent one with one or more runs of
// digits (and the separators between them) replaced by stars, and those
// digits pass Luhn.
func cardMasked(was, now string) bool {
	if len(was) != len(now) {
		return false
	}
	var digits strings.Builder
	for i := range len(was) {
		if was[i] == now[i] {
			if digits.Len() > 0 && now[i] != ' ' && now[i] != '-' {
				if !luhn(digits.String()) {
					return false
				}
				digits.Reset()
			}
			continue
		}
		if now[i] != '*' || was[i] < '0' || was[i] > '9' {
			return false
		}
		digits.WriteByte(was[i])
	}
	return digits.Len() == 0 || luhn(digits.String())
}

func short(v any) string {
	if v == nil {
		return "(none)"
	}
	s := fmt.Sprint(v)
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func TestStructuralDiffNamesTheRuleOfEveryChange(t *testing.T) {
	snap := `{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"input","attributes":{"value":"%s"},"childNodes":[]},{"type":2,"id":3,"tagName":"path","attributes":{"d":"%s"},"childNodes":[]},{"type":2,"id":4,"tagName":"textarea","attributes":{},"childNodes":[{"type":3,"id":5,"textContent":"%s"}]}]}}}`
	input := `{"type":3,"timestamp":2,"data":{"source":5,"id":2,"text":"%s","isChecked":false}}`
	mutation := `{"type":3,"timestamp":3,"data":{"source":0,"adds":[],"removes":[],"texts":[],"attributes":[{"id":2,"attributes":{"value":"%s"}},{"id":3,"attributes":{"d":"%s"}}]}}`
	sent := []json.RawMessage{
		json.RawMessage(fmt.Sprintf(snap, "hello", "M45.963171592376895 10", "dear bob")),
		json.RawMessage(fmt.Sprintf(input, "hello!")),
		json.RawMessage(fmt.Sprintf(mutation, "B14A/10", "M283.66666666666663 4")),
	}
	returned := []json.RawMessage{
		json.RawMessage(fmt.Sprintf(snap, "*****", "M45.*************** 10", "********")),
		json.RawMessage(fmt.Sprintf(input, "******")),
		json.RawMessage(fmt.Sprintf(mutation, "*******", "M283.66666666666663 4")),
	}
	changes, mismatches := structuralDiff(sent, returned)
	if len(mismatches) != 0 {
		t.Fatalf("mismatches: %v", mismatches)
	}
	got := map[string]string{}
	for _, c := range changes {
		got[fmt.Sprintf("%d %s %s", c.Event, c.Tag, c.Field)] = fmt.Sprintf("%s %t", c.Rule, c.Expected)
	}
	want := map[string]string{
		"0 input attr:value":     ruleMaskedInput + " true",
		"0 path attr:d":          ruleCardNumber + " false",
		"0 textarea textContent": ruleMaskedInput + " true",
		"1 input text":           ruleMaskedInput + " true",
		"2 input attr:value":     ruleMaskedInput + " true",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changes = %v\nwant %v", got, want)
	}
	// A form value that changed into something other than the placeholder is not masking.
	altered := []json.RawMessage{json.RawMessage(fmt.Sprintf(snap, "hell\ufffd", "M45.963171592376895 10", "dear bob")), sent[1], sent[2]}
	if cs, _ := structuralDiff(sent, altered); len(cs) != 1 || cs[0].Expected || cs[0].Rule != ruleOther {
		t.Errorf("an altered input value gave %+v, want one unexpected change by %q", cs, ruleOther)
	}
	// A lost event is a mismatch, not a change.
	if _, m := structuralDiff(sent, returned[:1]); len(m) != 1 {
		t.Errorf("a lost event gave mismatches %v", m)
	}
}
