// Package privacy enforces masking on the server, whatever the recorder did:
// typed input text and input/textarea/select values are replaced by '*' of
// the same length, password inputs are always masked, elements matched by
// attribute selectors have their text and values masked, configured DOM
// attributes are dropped, and credit-card-like numbers (13-19 digits passing
// Luhn) are masked anywhere in a string.
package privacy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/seed/sessionreplay/collector-receiver/internal/rrweb"
)

// Config is the privacy section of the receiver configuration.
type Config struct {
	// MaskInputs masks the text of input events and the values of input,
	// textarea and select elements. Password inputs are masked regardless.
	MaskInputs bool `mapstructure:"mask_inputs"`
	// DropAttributes are DOM attribute names removed from snapshots and
	// mutations (and OTLP attribute keys left out of session attributes).
	DropAttributes []string `mapstructure:"drop_attributes"`
	// MaskSelectors mask the text and values of matching elements and their
	// descendants. Attribute-based: `.class`, `#id`, `[attr]`, `[attr=value]`,
	// optionally prefixed by a tag name (`input.secret`, `div[data-private]`).
	MaskSelectors []string `mapstructure:"mask_selectors"`
}

// Selector is one compiled mask selector.
type Selector struct {
	tag     string
	classes []string
	id      string
	attrs   [][2]string // name, value ("" value with hasValue false = presence)
	hasVal  []bool
}

var selRE = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9-]*)?((?:\.[A-Za-z0-9_-]+|#[A-Za-z0-9_-]+|\[[A-Za-z_:][A-Za-z0-9_:.-]*(?:=(?:"[^"]*"|'[^']*'|[^\]]*))?\])*)$`)
var partRE = regexp.MustCompile(`\.[A-Za-z0-9_-]+|#[A-Za-z0-9_-]+|\[[^\]]*\]`)

// ParseSelector compiles one attribute-based selector.
func ParseSelector(s string) (Selector, error) {
	s = strings.TrimSpace(s)
	m := selRE.FindStringSubmatch(s)
	if s == "" || m == nil {
		return Selector{}, fmt.Errorf("mask selector %q: want tag?(.class|#id|[attr]|[attr=value])+", s)
	}
	sel := Selector{tag: strings.ToLower(m[1])}
	for _, p := range partRE.FindAllString(m[2], -1) {
		switch p[0] {
		case '.':
			sel.classes = append(sel.classes, p[1:])
		case '#':
			sel.id = p[1:]
		case '[':
			body := p[1 : len(p)-1]
			name, val, has := strings.Cut(body, "=")
			val = strings.Trim(val, `"'`)
			sel.attrs = append(sel.attrs, [2]string{strings.ToLower(name), val})
			sel.hasVal = append(sel.hasVal, has)
		}
	}
	return sel, nil
}

func (s *Selector) match(tag string, attrs map[string]any) bool {
	if s.tag != "" && s.tag != tag {
		return false
	}
	if s.id != "" {
		if v, _ := attrs["id"].(string); v != s.id {
			return false
		}
	}
	if len(s.classes) > 0 {
		cls, _ := attrs["class"].(string)
		fields := strings.Fields(cls)
		for _, c := range s.classes {
			found := false
			for _, f := range fields {
				if f == c {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
	}
	for i, a := range s.attrs {
		v, ok := attrs[a[0]]
		if !ok {
			return false
		}
		if s.hasVal[i] && fmt.Sprint(v) != a[1] {
			return false
		}
	}
	return true
}

// Masker applies a Config to rrweb events.
type Masker struct {
	cfg       Config
	selectors []Selector
	drop      map[string]bool
	// quick pre-checks: an event whose raw JSON holds none of these needs no walk
	needles []string
}

// New compiles cfg.
func New(cfg Config) (*Masker, error) {
	m := &Masker{cfg: cfg, drop: map[string]bool{}}
	for _, s := range cfg.MaskSelectors {
		sel, err := ParseSelector(s)
		if err != nil {
			return nil, err
		}
		m.selectors = append(m.selectors, sel)
	}
	for _, a := range cfg.DropAttributes {
		m.drop[strings.ToLower(a)] = true
	}
	return m, nil
}

// DropsAttribute reports whether key is configured to be dropped.
func (m *Masker) DropsAttribute(key string) bool { return m.drop[strings.ToLower(key)] }

// State is what masking remembers about one tab between chunks: the node ids
// whose input must be masked (password inputs, textarea text, masked subtrees).
type State struct {
	Sensitive map[int64]struct{}
}

// maxSensitive bounds State.
const maxSensitive = 50000

func (st *State) add(id int64) {
	if st.Sensitive == nil {
		st.Sensitive = map[int64]struct{}{}
	}
	if len(st.Sensitive) < maxSensitive {
		st.Sensitive[id] = struct{}{}
	}
}

func (st *State) has(id int64) bool {
	_, ok := st.Sensitive[id]
	return ok
}

// Result counts what was masked.
type Result struct {
	MaskedValues int
	CardNumbers  int
}

// Apply masks events in place (setting Changed on the rewritten ones).
func (m *Masker) Apply(events []rrweb.Event, st *State) (Result, error) {
	var res Result
	for i := range events {
		e := &events[i]
		switch e.Type {
		case rrweb.TypeFullSnapshot:
			if !m.needsWalk(e.Data) {
				continue
			}
			var d map[string]any
			if err := json.Unmarshal(e.Data, &d); err != nil {
				return res, fmt.Errorf("full snapshot %d: %v", i, err)
			}
			n := 0
			if node, ok := d["node"].(map[string]any); ok {
				n = m.walk(node, false, "", st)
			}
			if n > 0 || len(m.drop) > 0 {
				b, err := json.Marshal(d)
				if err != nil {
					return res, err
				}
				e.Data, e.Changed = b, true
				res.MaskedValues += n
			}
		case rrweb.TypeIncremental:
			var hdr struct {
				Source int `json:"source"`
			}
			if json.Unmarshal(e.Data, &hdr) != nil {
				continue
			}
			switch hdr.Source {
			case rrweb.SourceInput:
				var d map[string]any
				if err := json.Unmarshal(e.Data, &d); err != nil {
					continue
				}
				id := asID(d["id"])
				if t, ok := d["text"].(string); ok && t != "" && (m.cfg.MaskInputs || st.has(id)) && !allStars(t) {
					d["text"] = stars(t)
					b, _ := json.Marshal(d)
					e.Data, e.Changed = b, true
					res.MaskedValues++
				}
			case rrweb.SourceMutation:
				if !m.mutationNeedsWalk(e.Data, st) {
					continue
				}
				var d map[string]any
				if err := json.Unmarshal(e.Data, &d); err != nil {
					continue
				}
				n, changed := m.mutation(d, st)
				if changed {
					b, _ := json.Marshal(d)
					e.Data, e.Changed = b, true
					res.MaskedValues += n
				}
			}
		}
	}
	return res, nil
}

func (m *Masker) needsWalk(data []byte) bool {
	if len(m.selectors) > 0 || len(m.drop) > 0 {
		return true
	}
	s := string(data) // no copy for the Contains calls below in practice (escape analysis)
	return strings.Contains(s, `"input"`) || strings.Contains(s, `"textarea"`) || strings.Contains(s, `"select"`) ||
		strings.Contains(s, `"INPUT"`) || strings.Contains(s, `"TEXTAREA"`) || strings.Contains(s, `"SELECT"`) ||
		strings.Contains(s, `"value"`) || strings.Contains(s, `"`+SensitiveAttr+`"`)
}

// mutationNeedsWalk: added form fields, value attribute changes, or text
// changes while some node of the tab is sensitive.
func (m *Masker) mutationNeedsWalk(data []byte, st *State) bool {
	if len(m.selectors) > 0 || len(m.drop) > 0 {
		return true
	}
	s := string(data)
	if strings.Contains(s, `"tagName":"input"`) || strings.Contains(s, `"tagName":"textarea"`) || strings.Contains(s, `"tagName":"select"`) ||
		strings.Contains(s, `"tagName":"INPUT"`) || strings.Contains(s, `"tagName":"TEXTAREA"`) || strings.Contains(s, `"tagName":"SELECT"`) {
		return true
	}
	if strings.Contains(s, `"attributes":[{`) && (strings.Contains(s, `"value"`) || strings.Contains(s, `"autocomplete"`) ||
		strings.Contains(s, `"type"`) || strings.Contains(s, `"name"`)) {
		return true
	}
	if strings.Contains(s, `"`+SensitiveAttr+`"`) {
		return true
	}
	return len(st.Sensitive) > 0 && (strings.Contains(s, `"texts":[{`) || strings.Contains(s, `"adds":[{`) || strings.Contains(s, `"type"`))
}

func asID(v any) int64 {
	if f, ok := v.(float64); ok {
		return int64(f)
	}
	return -1
}

// walk masks one serialised node and its children; returns values masked.
func (m *Masker) walk(node map[string]any, masked bool, parentTag string, st *State) int {
	n := 0
	typ, _ := node["type"].(float64)
	id := asID(node["id"])
	switch int(typ) {
	case 2: // element
		tag, _ := node["tagName"].(string)
		tag = strings.ToLower(tag)
		attrs, _ := node["attributes"].(map[string]any)
		if attrs != nil {
			for k := range attrs {
				if m.drop[strings.ToLower(k)] {
					delete(attrs, k)
				}
			}
			if !masked {
				for i := range m.selectors {
					if m.selectors[i].match(tag, attrs) {
						masked = true
						break
					}
				}
			}
		}
		if masked {
			st.add(id)
		}
		isField := tag == "input" || tag == "textarea" || tag == "select"
		inputType := ""
		if attrs != nil {
			inputType, _ = attrs["type"].(string)
			inputType = strings.ToLower(inputType)
		}
		if !masked && attrs != nil {
			if _, ok := attrs[SensitiveAttr]; ok {
				masked = true
				st.add(id)
			}
		}
		password := (tag == "input" && inputType == "password") || (isField && SensitiveField(attrs))
		if password || (tag == "textarea" && (m.cfg.MaskInputs || masked)) {
			st.add(id)
		}
		if attrs != nil && isField && (m.cfg.MaskInputs || masked || password) &&
			!(tag == "input" && (inputType == "submit" || inputType == "button" || inputType == "reset")) {
			if v, ok := attrs["value"].(string); ok && v != "" && !allStars(v) {
				attrs["value"] = stars(v)
				n++
			}
		}
		if attrs != nil && masked && !isField {
			for _, k := range []string{"value", "title", "alt", "placeholder", "aria-label"} {
				if v, ok := attrs[k].(string); ok && v != "" && !allStars(v) {
					attrs[k] = stars(v)
					n++
				}
			}
		}
		if kids, ok := node["childNodes"].([]any); ok {
			for _, k := range kids {
				if km, ok := k.(map[string]any); ok {
					n += m.walk(km, masked, tag, st)
				}
			}
		}
	case 3: // text
		if parentTag == "textarea" && (m.cfg.MaskInputs || masked) {
			st.add(id)
			masked = true
		}
		if masked && parentTag != "script" && parentTag != "style" {
			if t, ok := node["textContent"].(string); ok && strings.TrimSpace(t) != "" && !allStars(t) {
				node["textContent"] = maskText(t)
				n++
			}
		}
	default:
		if kids, ok := node["childNodes"].([]any); ok {
			for _, k := range kids {
				if km, ok := k.(map[string]any); ok {
					n += m.walk(km, masked, parentTag, st)
				}
			}
		}
	}
	return n
}

// mutation masks an incremental mutation's adds, attributes and texts.
func (m *Masker) mutation(d map[string]any, st *State) (int, bool) {
	n := 0
	changed := false
	if adds, ok := d["adds"].([]any); ok {
		for _, a := range adds {
			am, _ := a.(map[string]any)
			if am == nil {
				continue
			}
			node, _ := am["node"].(map[string]any)
			if node == nil {
				continue
			}
			parent := asID(am["parentId"])
			k := m.walk(node, st.has(parent), "", st)
			n += k
			if k > 0 || len(m.drop) > 0 {
				changed = true
			}
		}
	}
	if attrs, ok := d["attributes"].([]any); ok {
		for _, a := range attrs {
			am, _ := a.(map[string]any)
			if am == nil {
				continue
			}
			id := asID(am["id"])
			kv, _ := am["attributes"].(map[string]any)
			if SensitiveField(kv) {
				st.add(id)
			}
			if _, ok := kv[SensitiveAttr]; ok {
				st.add(id)
			}
			for k, v := range kv {
				lk := strings.ToLower(k)
				if m.drop[lk] {
					delete(kv, k)
					changed = true
					continue
				}
				if lk == "type" {
					if s, _ := v.(string); strings.EqualFold(s, "password") {
						st.add(id)
					}
				}
				if lk == "value" && (m.cfg.MaskInputs || st.has(id)) {
					if s, ok := v.(string); ok && s != "" && !allStars(s) {
						kv[k] = stars(s)
						n++
						changed = true
					}
				}
			}
		}
	}
	if texts, ok := d["texts"].([]any); ok {
		for _, t := range texts {
			tm, _ := t.(map[string]any)
			if tm == nil {
				continue
			}
			if st.has(asID(tm["id"])) {
				if s, ok := tm["value"].(string); ok && strings.TrimSpace(s) != "" && !allStars(s) {
					tm["value"] = maskText(s)
					n++
					changed = true
				}
			}
		}
	}
	return n, changed
}

// SensitiveAttr marks an element (and its subtree) whose values and text are
// always masked: <div data-sensitive>.
const SensitiveAttr = "data-sensitive"

// sensitiveNames are substrings of a form field's name/id/autocomplete that
// make its value secret whatever mask_inputs says.
var sensitiveNames = []string{"password", "passwd", "pwd", "card", "cvv", "cvc", "csc", "ssn", "social-security", "iban", "pin-code", "secret", "otp"}

// SensitiveField reports whether a form field's attributes mark it secret:
// type=password, autocomplete cc-* / *-password / one-time-code, a
// data-sensitive attribute, or a name/id containing password, card, cvv, ssn...
func SensitiveField(attrs map[string]any) bool {
	if attrs == nil {
		return false
	}
	if _, ok := attrs[SensitiveAttr]; ok {
		return true
	}
	if t, _ := attrs["type"].(string); strings.EqualFold(t, "password") {
		return true
	}
	if ac, _ := attrs["autocomplete"].(string); ac != "" {
		ac = strings.ToLower(ac)
		if strings.Contains(ac, "cc-") || strings.Contains(ac, "password") || strings.Contains(ac, "one-time-code") {
			return true
		}
	}
	for _, k := range []string{"name", "id"} {
		v, _ := attrs[k].(string)
		if v == "" {
			continue
		}
		v = strings.ToLower(v)
		for _, n := range sensitiveNames {
			if strings.Contains(v, n) {
				return true
			}
		}
	}
	return false
}

func stars(s string) string { return strings.Repeat("*", utf8.RuneCountInString(s)) }

// maskText keeps whitespace (layout) and replaces everything else by '*'.
func maskText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r == ' ' || r == '\n' || r == '\t' || r == '\r' {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}

func allStars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '*' {
			return false
		}
	}
	return true
}
