// Package privacy enforces masking on the server, whatever the recorder did:
// typed input text and input/textarea/select values are replaced by a
// fixed-length placeholder (so neither a value nor its length is stored),
// password inputs are always masked, elements matched by attribute selectors
// have their text and values masked, configured DOM attributes are dropped,
// and credit-card-like numbers (13-19 digits passing Luhn, standing alone)
// are masked where people's text lives: text nodes, input values and events,
// the attributes that carry user text, custom and plugin event payloads.
// Geometry and styling (SVG coordinates, style attributes, CSS) are never
// rewritten: a replay must not show what never happened.
package privacy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/config/configopaque"

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
	// MaskPlaceholder replaces every masked input value and typed text,
	// whatever its length (default DefaultPlaceholder, as the recorder).
	MaskPlaceholder string `mapstructure:"mask_placeholder"`
	// SplitPartsKey seals the stored parts of split rr-web events (HyperDX),
	// which cannot be masked before they are joined: 32 bytes as hex or
	// base64, the same on every replica. Unset, each receiver seals with a
	// key of its own, and an event whose parts reach two replicas (or
	// straddle a restart) cannot be joined.
	SplitPartsKey configopaque.String `mapstructure:"split_parts_key"`
}

// DefaultPlaceholder is what a masked input value becomes, on the server and
// in the recorder (recorder/src/options.ts), like Grafana Faro's.
const DefaultPlaceholder = "******"

// ErrBadPlaceholder: a mask placeholder must be short visible text that is
// written into JSON as is.
var ErrBadPlaceholder = errors.New("mask placeholder must be 1-64 bytes of UTF-8 text without quotes, backslashes or control characters")

// ValidatePlaceholder checks a mask placeholder. Asking for text that needs
// no JSON escape lets the masker splice it into chunks byte for byte.
func ValidatePlaceholder(p string) error {
	if p == "" || len(p) > 64 || !utf8.ValidString(p) || strings.TrimSpace(p) == "" {
		return ErrBadPlaceholder
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == 0x2028 || r == 0x2029 {
			return ErrBadPlaceholder
		}
	}
	return nil
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
	// placeholder is the JSON string a masked value becomes.
	placeholder []byte
}

// New compiles cfg. An empty MaskPlaceholder means DefaultPlaceholder.
func New(cfg Config) (*Masker, error) {
	m := &Masker{cfg: cfg, drop: map[string]bool{}, tags: map[string]string{}}
	if cfg.MaskPlaceholder == "" {
		cfg.MaskPlaceholder = DefaultPlaceholder
	}
	if err := ValidatePlaceholder(cfg.MaskPlaceholder); err != nil {
		return nil, fmt.Errorf("%w: %q", err, cfg.MaskPlaceholder)
	}
	m.placeholder = []byte(`"` + cfg.MaskPlaceholder + `"`)
	for _, t := range []string{"input", "textarea", "select", "script", "style", "progress", "meter", "li", "option", "button", "data", "param", "output"} {
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

// State is what masking remembers about one tab between chunks, by node id:
// the elements whose input is masked (password inputs, masked textareas,
// masked subtrees) and the text nodes holding a masked value or masked text;
// apart from them, so that a page's many elements can never crowd those out,
// the <style>/<script> elements and text nodes (whose later text changes are
// code, not people's text) and the elements whose value attribute is not an
// input value (a progress bar's, a button's label).
type State struct {
	nodes map[int64]nodeKind
	page  map[int64]nodeKind
	// snapshot: this state saw the tab's full snapshot. Without it (the
	// snapshot went to another receiver replica, or this one restarted) the
	// state cannot tell a password field from any other, so typed text is
	// masked whatever mask_inputs says: privacy fails closed.
	snapshot bool
}

// nodeKind is what State knows about a node (bits).
type nodeKind uint8

const (
	// kindMasked: input to this element is masked, and so is its subtree.
	kindMasked nodeKind = 1 << iota
	// kindTextarea: a masked textarea; its text children are its value.
	kindTextarea
	// kindFieldText: a text node holding a masked textarea's value.
	kindFieldText
	// kindMaskedText: a text node inside a masked subtree.
	kindMaskedText
	// kindCode: a <style> or <script> element or one of its text nodes.
	kindCode
	// kindPageValue: an element whose value attribute the page sets and
	// shows (progress, meter, li, option, button, input type=submit...).
	kindPageValue
)

// pageKinds are kept in State.page.
const pageKinds = kindCode | kindPageValue

// maxSensitive and maxPage bound State. Past maxPage, style text changes are
// looked at for card numbers and value changes are masked: both err on the
// side of privacy.
const (
	maxSensitive = 50000
	maxPage      = 20000
)

func (st *State) add(id int64, k nodeKind) {
	m, limit := &st.nodes, maxSensitive
	if k&pageKinds != 0 {
		m, limit = &st.page, maxPage
	}
	if *m == nil {
		*m = map[int64]nodeKind{}
	}
	if old, ok := (*m)[id]; ok {
		(*m)[id] = old | k
	} else if len(*m) < limit {
		(*m)[id] = k
	}
}

func (st *State) kind(id int64) nodeKind { return st.nodes[id] | st.page[id] }

func (st *State) has(id int64) bool { return st.kind(id)&kindMasked != 0 }

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
				st.snapshot = true
				w.each(data, "node", func(node int) { w.node(node, false, parent{}) })
			case rrweb.TypeIncremental:
				w.each(data, "source", func(src int) {
					switch source, _ := w.tp.Int(src); source {
					case rrweb.SourceInput:
						masked := m.cfg.MaskInputs || !st.snapshot || w.sensitive(data)
						// cards are masked in typed text whatever mask_inputs says
						w.each(data, "text", func(t int) { w.value(t, masked) })
					case rrweb.SourceMutation:
						w.mutation(data)
					case sourceLog:
						w.cardsIn(data)
					}
				})
			case rrweb.TypeCustom, rrweb.TypePlugin:
				// payloads of custom events, console and network plugins:
				// not rendered, and they may carry what a user typed
				w.cardsIn(data)
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
func (w *walker) markSensitive(obj int) { w.mark(obj, kindMasked) }

// mark remembers every "id" of obj as a node of kind k.
func (w *walker) mark(obj int, k nodeKind) {
	w.each(obj, "id", func(id int) { w.st.add(w.id(id), k) })
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

// userAttrs masks the kept attributes named in masked by the placeholder,
// and card numbers in the other attributes that carry people's text.
func (w *walker) userAttrs(masked []string) {
	for i, k := range w.attrs {
		if w.dropped[i] || !w.userText(k) {
			continue
		}
		w.value(k+1, slices.ContainsFunc(masked, func(name string) bool { return w.keyIs(k, name) }))
	}
}

// userText reports whether attribute key k carries people's text (see
// userTextAttrs). It is asked for every attribute of every element: the
// key's length picks the one to three names it can be.
func (w *walker) userText(k int) bool {
	t := &w.tp.Tokens[k]
	n := int(t.End - t.Start - 2)
	if t.Escaped {
		n = len(w.lowerKey(k))
	}
	if n >= len(userTextByLen) {
		return false
	}
	for _, name := range userTextByLen[n] {
		if w.keyIs(k, name) {
			return true
		}
	}
	return false
}

// userTextByLen is userTextAttrs by name length.
var userTextByLen = func() [][]string {
	by := make([][]string, 21)
	for _, a := range userTextAttrs {
		by[len(a)] = append(by[len(a)], a)
	}
	return by
}()

// userTextAttrs are the attributes whose values are text people read or
// typed; card numbers are looked for there. Everything else of an element
// (geometry such as d, points, x, y, width, transform, viewBox; style; URLs
// in href and src; ids, classes and data-* set by the page's code) is never
// rewritten: it is what makes the page look as it did.
var userTextAttrs = []string{"value", "title", "alt", "placeholder", "label", "content",
	"aria-label", "aria-description", "aria-valuetext", "aria-placeholder", "aria-roledescription"}

func (w *walker) id(tok int) int64 {
	if f, ok := w.tp.Float(tok); ok {
		return int64(f)
	}
	return -1
}

// value masks an input value or typed text: by the placeholder when masked
// (a string, or a number, which could be a typed card number), else only
// the card numbers in it. An empty value stays empty.
func (w *walker) value(tok int, masked bool) {
	tp := w.tp
	if !masked {
		w.cards(tok)
		return
	}
	switch tp.Kind(tok) {
	case jsontape.String:
		raw := tp.Raw(tok)
		if len(raw) == 2 || string(raw) == string(w.m.placeholder) {
			return
		}
	case jsontape.Number:
	default:
		return
	}
	w.c.Replace(tok, w.m.placeholder)
	w.n++
}

// text masks a text node's text: '*' for every character but whitespace,
// kept for the layout, when masked; else only the card numbers in it. Blank
// text is left alone.
func (w *walker) text(tok int, masked bool) {
	if !masked {
		w.cards(tok)
		return
	}
	if w.tp.Kind(tok) != jsontape.String {
		return
	}
	s, _ := w.tp.Str(tok)
	if strings.TrimSpace(s) == "" || allStars([]byte(s)) {
		return
	}
	w.c.Replace(tok, maskText(s))
	w.n++
}

// parent is what a node's masking needs to know of its parent element.
type parent struct {
	tag string // lower-cased, when masking cares about it (see Masker.tags)
	// field: the parent is a textarea whose value is masked, so its text
	// children are that value
	field bool
}

// node masks one serialised DOM node and its children.
func (w *walker) node(node int, masked bool, par parent) {
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
		fieldMasked := isField && (m.cfg.MaskInputs || masked || password)
		if password || (tag == "textarea" && fieldMasked) {
			w.markSensitive(node)
		}
		if tag == "textarea" && fieldMasked {
			w.mark(node, kindTextarea)
		}
		if tag == "style" || tag == "script" {
			w.mark(node, kindCode)
		}
		button := tag == "input" && (inputType == "submit" || inputType == "button" || inputType == "reset")
		if !masked && !password && (button || pageValueTags[tag]) {
			w.mark(node, kindPageValue)
		}
		switch {
		case fieldMasked && !button:
			w.userAttrs(valueAttr)
		case masked && !isField:
			w.userAttrs(maskedAttrs)
		default:
			w.userAttrs(nil)
		}
		w.children(node, masked, parent{tag: tag, field: tag == "textarea" && fieldMasked})
	case 3: // text
		if par.tag == "style" || par.tag == "script" || tp.Kind(tp.Member(node, "isStyle")) == jsontape.True {
			// CSS or code: never people's text
			w.mark(node, kindCode)
			return
		}
		if par.field {
			// a textarea's value
			w.mark(node, kindMasked|kindFieldText)
			w.each(node, "textcontent", func(t int) { w.value(t, true) })
			return
		}
		if masked {
			w.mark(node, kindMaskedText)
		}
		w.each(node, "textcontent", func(t int) { w.text(t, masked) })
	case 4, 5: // CDATA, comment
		w.each(node, "textcontent", func(t int) { w.text(t, masked) })
	default:
		w.children(node, masked, par)
	}
}

// pageValueTags are elements whose value attribute is the page's, not
// something typed (a bar's level, a list number, an option's or button's).
var pageValueTags = map[string]bool{"progress": true, "meter": true, "li": true, "option": true, "button": true, "data": true, "param": true, "output": true}

// valueAttr is the attribute holding a form field's value.
var valueAttr = []string{"value"}

// maskedAttrs are the attributes that show text of a masked element.
var maskedAttrs = []string{"value", "title", "alt", "placeholder", "aria-label", "aria-description", "aria-valuetext", "aria-placeholder", "label"}

func (w *walker) children(node int, masked bool, par parent) {
	w.each(node, "childnodes", func(kids int) {
		if w.tp.Kind(kids) != jsontape.Array {
			return
		}
		for k := kids + 1; k < w.tp.Next(kids); k = w.tp.Next(k) {
			w.node(k, masked, par)
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
		var pk nodeKind
		w.each(add, "parentid", func(p int) { pk |= w.st.kind(w.id(p)) })
		par := parent{field: pk&kindTextarea != 0}
		if pk&kindCode != 0 {
			par.tag = "style"
		}
		w.each(add, "node", func(node int) { w.node(node, pk&kindMasked != 0, par) })
	})
	elements("attributes", func(change int) {
		w.readAttrs(change)
		if SensitiveField(w) {
			w.markSensitive(change)
		}
		var k nodeKind
		w.each(change, "id", func(id int) { k |= w.st.kind(w.id(id)) })
		if (w.m.cfg.MaskInputs && k&kindPageValue == 0) || k&kindMasked != 0 {
			w.userAttrs(valueAttr)
		} else {
			w.userAttrs(nil)
		}
	})
	elements("texts", func(change int) {
		var k nodeKind
		w.each(change, "id", func(id int) { k |= w.st.kind(w.id(id)) })
		switch {
		case k&kindFieldText != 0:
			w.each(change, "value", func(v int) { w.value(v, true) })
		case k&(kindMasked|kindMaskedText) != 0:
			w.each(change, "value", func(v int) { w.text(v, true) })
		case k&kindCode == 0:
			w.each(change, "value", func(v int) { w.text(v, false) })
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
