// Package privacy enforces masking on the server, whatever the recorder did:
// typed input text and input/textarea/select values are replaced by '*' of
// the same length, password inputs are always masked, elements matched by
// attribute selectors have their text and values masked, configured DOM
// attributes are dropped, and credit-card-like numbers (13-19 digits passing
// Luhn) are masked anywhere in a string.
package privacy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/seed/sessionreplay/collector-receiver/internal/jsontape"
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

// Attributes gives an element's attribute values as text (numbers and
// booleans as written), and whether the attribute is present at all.
type Attributes interface {
	Get(name string) (string, bool)
}

func (s *Selector) match(tag string, attrs Attributes) bool {
	if s.tag != "" && s.tag != tag {
		return false
	}
	if s.id != "" {
		if v, _ := attrs.Get("id"); v != s.id {
			return false
		}
	}
	if len(s.classes) > 0 {
		cls, _ := attrs.Get("class")
		fields := strings.Fields(cls)
		for _, c := range s.classes {
			if !slices.Contains(fields, c) {
				return false
			}
		}
	}
	for i, a := range s.attrs {
		v, ok := attrs.Get(a[0])
		if !ok || (s.hasVal[i] && v != a[1]) {
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
	// tags are the element names masking decisions look at (form fields,
	// script/style, selector tags); other elements read as "".
	tags map[string]string
}

// New compiles cfg.
func New(cfg Config) (*Masker, error) {
	m := &Masker{cfg: cfg, drop: map[string]bool{}, tags: map[string]string{}}
	for _, t := range []string{"input", "textarea", "select", "script", "style"} {
		m.tags[t] = t
	}
	for _, s := range cfg.MaskSelectors {
		sel, err := ParseSelector(s)
		if err != nil {
			return nil, err
		}
		m.selectors = append(m.selectors, sel)
		if sel.tag != "" {
			m.tags[sel.tag] = sel.tag
		}
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
}

// Apply records the masking edits of a chunk (the chunk's Encode applies
// them) and updates the tab's state.
//
// It reads conservatively: a key repeated in one object is masked in every
// copy (a reader keeps only one, but every copy is stored), and keys match
// without regard to case (HTML attribute names are case-insensitive, and a
// "Source" must not slip an input event past the check).
func (m *Masker) Apply(c *rrweb.Chunk, st *State) Result {
	w := walker{m: m, c: c, tp: &c.Tape, st: st}
	for _, e := range c.Events {
		w.each(e.Obj, "data", func(data int) {
			switch e.Type {
			case rrweb.TypeFullSnapshot:
				w.each(data, "node", func(node int) { w.node(node, false, "") })
			case rrweb.TypeIncremental:
				w.each(data, "source", func(src int) {
					switch source, _ := w.tp.Int(src); source {
					case rrweb.SourceInput:
						if m.cfg.MaskInputs || w.sensitive(data) {
							w.each(data, "text", func(t int) { w.mask(t, false) })
						}
					case rrweb.SourceMutation:
						w.mutation(data)
					}
				})
			}
		})
	}
	return Result{MaskedValues: w.n}
}

// walker masks the values of one chunk, reading its tape.
type walker struct {
	m  *Masker
	c  *rrweb.Chunk
	tp *jsontape.Tape
	st *State
	n  int
	// attrs holds the key tokens of the element being looked at, dropped
	// marks those drop_attributes removes (they still count for deciding
	// what is sensitive); reused from element to element, read before
	// recursing.
	attrs   []int
	dropped []bool
	lower   []byte
}

// each calls fn with the value of every member of object obj whose key is
// key (any case).
func (w *walker) each(obj int, key string, fn func(val int)) {
	if w.tp.Kind(obj) != jsontape.Object {
		return
	}
	for k := obj + 1; k < w.tp.Next(obj); k = w.tp.Next(k + 1) {
		if w.keyIs(k, key) {
			fn(k + 1)
		}
	}
}

// keyIs compares key token k with a lower-case name, ignoring case.
func (w *walker) keyIs(k int, name string) bool {
	t := &w.tp.Tokens[k]
	if t.Escaped {
		return string(w.lowerKey(k)) == name
	}
	raw := w.tp.Data[t.Start+1 : t.End-1]
	if len(raw) != len(name) {
		return false
	}
	for i, c := range raw {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// sensitive reports whether any "id" of obj is a node whose input is masked.
func (w *walker) sensitive(obj int) bool {
	found := false
	w.each(obj, "id", func(id int) { found = found || w.st.has(w.id(id)) })
	return found
}

// markSensitive remembers every "id" of obj as a node whose input is masked.
func (w *walker) markSensitive(obj int) {
	w.each(obj, "id", func(id int) { w.st.add(w.id(id)) })
}

// Get implements Attributes over w.attrs, dropped ones included: names
// match in any case, and the last occurrence of a repeated name wins, as
// encoding/json decodes.
func (w *walker) Get(name string) (string, bool) {
	for i := len(w.attrs) - 1; i >= 0; i-- {
		k := w.attrs[i]
		if !w.keyIs(k, name) {
			continue
		}
		if v, ok := w.tp.Str(k + 1); ok {
			return v, true
		}
		return string(w.tp.Raw(k + 1)), true
	}
	return "", false
}

func (w *walker) has(name string) bool {
	_, ok := w.Get(name)
	return ok
}

// lowerKey is the key (or tag) token k lower-cased, valid until the next call.
func (w *walker) lowerKey(k int) []byte {
	raw := w.tp.Raw(k)
	if w.tp.Tokens[k].Escaped {
		s, _ := w.tp.Str(k)
		raw = []byte(s)
	} else {
		raw = raw[1 : len(raw)-1]
	}
	w.lower = append(w.lower[:0], raw...)
	for i, c := range w.lower {
		if c >= 'A' && c <= 'Z' {
			w.lower[i] = c + 'a' - 'A'
		}
	}
	return w.lower
}

// tag is an element's lower-cased tag name when masking cares about it.
func (w *walker) tag(tok int) string {
	if w.tp.Kind(tok) != jsontape.String {
		return ""
	}
	return w.m.tags[string(w.lowerKey(tok))]
}

// readAttrs fills w.attrs with the members of every "attributes" object of
// obj and removes the configured drop_attributes from the chunk.
func (w *walker) readAttrs(obj int) {
	w.attrs, w.dropped = w.attrs[:0], w.dropped[:0]
	w.each(obj, "attributes", func(attrs int) {
		if w.tp.Kind(attrs) != jsontape.Object {
			return
		}
		dropped := false
		for k := attrs + 1; k < w.tp.Next(attrs); k = w.tp.Next(k + 1) {
			d := len(w.m.drop) > 0 && w.m.drop[string(w.lowerKey(k))]
			dropped = dropped || d
			w.attrs = append(w.attrs, k)
			w.dropped = append(w.dropped, d)
		}
		if dropped {
			w.c.RemoveMembers(attrs, func(k int) bool { return w.m.drop[string(w.lowerKey(k))] })
		}
	})
}

// maskAttrs masks the kept attributes named in names.
func (w *walker) maskAttrs(names ...string) {
	for i, k := range w.attrs {
		if w.dropped[i] {
			continue
		}
		for _, name := range names {
			if w.keyIs(k, name) {
				w.mask(k+1, false)
			}
		}
	}
}

func (w *walker) id(tok int) int64 {
	if f, ok := w.tp.Float(tok); ok {
		return int64(f)
	}
	return -1
}

// mask replaces a string value (or a number, which could be a typed card
// number) by '*' per character; text keeps its whitespace for the layout.
// Empty, blank text and already masked values are left alone.
func (w *walker) mask(tok int, text bool) {
	tp := w.tp
	switch tp.Kind(tok) {
	case jsontape.String:
		raw := tp.Raw(tok)
		if len(raw) == 2 || allStars(raw[1:len(raw)-1]) {
			return
		}
		if !text {
			w.c.Replace(tok, quotedStars(tp.RuneCount(tok)))
			w.n++
			return
		}
		s, _ := tp.Str(tok)
		if strings.TrimSpace(s) == "" {
			return
		}
		w.c.Replace(tok, maskText(s))
		w.n++
	case jsontape.Number:
		w.c.Replace(tok, quotedStars(len(tp.Raw(tok))))
		w.n++
	}
}

// node masks one serialised DOM node and its children.
func (w *walker) node(node int, masked bool, parentTag string) {
	tp, m := w.tp, w.m
	if tp.Kind(node) != jsontape.Object {
		return
	}
	typ, _ := tp.Float(tp.Member(node, "type"))
	switch int(typ) {
	case 2: // element
		tag := w.tag(tp.Member(node, "tagName"))
		w.readAttrs(node)
		if !masked {
			for i := range m.selectors {
				if m.selectors[i].match(tag, w) {
					masked = true
					break
				}
			}
		}
		if !masked && w.has(SensitiveAttr) {
			masked = true
		}
		if masked {
			w.markSensitive(node)
		}
		isField := tag == "input" || tag == "textarea" || tag == "select"
		inputType, _ := w.Get("type")
		inputType = strings.ToLower(inputType)
		password := (tag == "input" && inputType == "password") || (isField && SensitiveField(w))
		if password || (tag == "textarea" && (m.cfg.MaskInputs || masked)) {
			w.markSensitive(node)
		}
		button := tag == "input" && (inputType == "submit" || inputType == "button" || inputType == "reset")
		switch {
		case isField && !button && (m.cfg.MaskInputs || masked || password):
			w.maskAttrs("value")
		case masked && !isField:
			w.maskAttrs(maskedAttrs...)
		}
		w.children(node, masked, tag)
	case 3: // text
		if parentTag == "textarea" && (m.cfg.MaskInputs || masked) {
			w.markSensitive(node)
			masked = true
		}
		if masked && parentTag != "script" && parentTag != "style" {
			w.each(node, "textcontent", func(t int) { w.mask(t, true) })
		}
	default:
		w.children(node, masked, parentTag)
	}
}

// maskedAttrs are the attributes that show text of a masked element.
var maskedAttrs = []string{"value", "title", "alt", "placeholder", "aria-label"}

func (w *walker) children(node int, masked bool, tag string) {
	w.each(node, "childnodes", func(kids int) {
		if w.tp.Kind(kids) != jsontape.Array {
			return
		}
		for k := kids + 1; k < w.tp.Next(kids); k = w.tp.Next(k) {
			w.node(k, masked, tag)
		}
	})
}

// mutation masks an incremental mutation's adds, attributes and texts.
func (w *walker) mutation(data int) {
	tp := w.tp
	elements := func(key string, fn func(el int)) {
		w.each(data, key, func(arr int) {
			if tp.Kind(arr) != jsontape.Array {
				return
			}
			for el := arr + 1; el < tp.Next(arr); el = tp.Next(el) {
				if tp.Kind(el) == jsontape.Object {
					fn(el)
				}
			}
		})
	}
	elements("adds", func(add int) {
		parentMasked := false
		w.each(add, "parentid", func(p int) { parentMasked = parentMasked || w.st.has(w.id(p)) })
		w.each(add, "node", func(node int) { w.node(node, parentMasked, "") })
	})
	elements("attributes", func(change int) {
		w.readAttrs(change)
		if SensitiveField(w) {
			w.markSensitive(change)
		}
		if w.m.cfg.MaskInputs || w.sensitive(change) {
			w.maskAttrs("value")
		}
	})
	elements("texts", func(change int) {
		if w.sensitive(change) {
			w.each(change, "value", func(v int) { w.mask(v, true) })
		}
	})
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
func SensitiveField(attrs Attributes) bool {
	if _, ok := attrs.Get(SensitiveAttr); ok {
		return true
	}
	if t, _ := attrs.Get("type"); strings.EqualFold(t, "password") {
		return true
	}
	if ac, _ := attrs.Get("autocomplete"); ac != "" {
		ac = strings.ToLower(ac)
		if strings.Contains(ac, "cc-") || strings.Contains(ac, "password") || strings.Contains(ac, "one-time-code") {
			return true
		}
	}
	for _, k := range []string{"name", "id"} {
		v, _ := attrs.Get(k)
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

// quotedStars is a JSON string of n '*'.
func quotedStars(n int) []byte {
	b := make([]byte, n+2)
	for i := range b {
		b[i] = '*'
	}
	b[0], b[n+1] = '"', '"'
	return b
}

// maskText is s as a JSON string where everything but whitespace (kept for
// the layout) is '*'.
func maskText(s string) []byte {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for _, r := range s {
		switch r {
		case ' ':
			b = append(b, ' ')
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '*')
		}
	}
	return append(b, '"')
}

func allStars(b []byte) bool {
	for _, c := range b {
		if c != '*' {
			return false
		}
	}
	return true
}
