package rrweb

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/seed/sessionreplay/collector-receiver/internal/jsontape"
)

// A click names its target (`button#pay.btn "Pay"`): the tag, id, classes
// and visible text of the node rrweb recorded as the event's target. rrweb
// only sends the node's id, so a tab's nodes are indexed from its full
// snapshots and mutations as they pass.
const (
	// MaxLabel bounds a target's label, in characters.
	MaxLabel = 80
	// maxNodeText bounds the text kept per node, in bytes.
	maxNodeText = 64
	// maxClasses bounds the classes kept per element.
	maxClasses = 8
	// MaxIndexedNodes bounds one tab's index. Past it, nodes that a click
	// of the chunk being read does not target are left out (their clicks
	// are named "click"); a full snapshot starts the index afresh.
	MaxIndexedNodes = 20000
)

// Target is what a click landed on, as stored (masked text stays masked).
type Target struct {
	Tag     string   `json:"tag"`
	ID      string   `json:"id,omitempty"`
	Classes []string `json:"classes,omitempty"`
	Text    string   `json:"text,omitempty"`
}

// Label is the target as one line: tag#id.class1.class2 "text", at most
// MaxLabel characters.
func (t Target) Label() string {
	if t.Tag == "" {
		return "click"
	}
	var b strings.Builder
	b.WriteString(t.Tag)
	if t.ID != "" {
		b.WriteString("#" + t.ID)
	}
	for _, c := range t.Classes {
		b.WriteString("." + c)
	}
	if t.Text != "" {
		b.WriteString(` "` + t.Text + `"`)
	}
	return truncate(b.String(), MaxLabel)
}

// field reports whether the target is a form field (or its label): a click
// there focuses or toggles it, which is not a dead click.
func (t Target) field() bool {
	switch t.Tag {
	case "input", "textarea", "select", "option", "label":
		return true
	}
	return false
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// node is one indexed element.
type node struct {
	tag   string
	id    string
	class string // as written; split when a click is named
	text  string // an element's visible text
}

// nodeIndex is a tab's nodes by rrweb id: elements, and the parents of
// text nodes that hold more than whitespace (so that a text change updates
// its element's text, and a click on the text names its element).
type nodeIndex struct {
	nodes map[int64]node
	texts map[int64]int64
	// want are the ids clicks of the current chunk target: always indexed.
	// Collected only once the index is full.
	want    map[int64]bool
	wantFor *Chunk
}

func (x *nodeIndex) reset() {
	clear(x.nodes)
	clear(x.texts)
}

func (x *nodeIndex) len() int { return len(x.nodes) + len(x.texts) }

// room reports whether node id of chunk c may be added: the index is not
// full, or a click of the chunk targets it.
func (x *nodeIndex) room(c *Chunk, id int64) bool {
	if x.len() < MaxIndexedNodes {
		return true
	}
	if x.wantFor != c {
		x.want, x.wantFor = clickTargets(c, nil), c
	}
	return x.want[id]
}

func (x *nodeIndex) put(c *Chunk, id int64, n node) {
	if x.nodes == nil {
		x.nodes = map[int64]node{}
	}
	if _, ok := x.nodes[id]; ok || x.room(c, id) {
		x.nodes[id] = n
	}
}

func (x *nodeIndex) putText(c *Chunk, id, parent int64) {
	if x.texts == nil {
		x.texts = map[int64]int64{}
	}
	if _, ok := x.texts[id]; ok || x.room(c, id) {
		x.texts[id] = parent
	}
}

func (x *nodeIndex) remove(id int64) {
	delete(x.nodes, id)
	delete(x.texts, id)
}

// target is the indexed node id as a click target (zero when unknown).
func (x *nodeIndex) target(id int64) Target {
	n, ok := x.nodes[id]
	if !ok {
		// a text node: name its element
		n = x.nodes[x.texts[id]]
	}
	if n.tag == "" {
		return Target{}
	}
	return Target{Tag: n.tag, ID: n.id, Classes: splitClasses(n.class), Text: n.text}
}

// indexer reads serialised nodes of one chunk into the index.
type indexer struct {
	c *Chunk
	x *nodeIndex
}

// id reads a node id: a small non-negative integer as rrweb writes it,
// parsed here without strconv (ids are most of a snapshot's numbers).
func (ix indexer) id(tok int) int64 {
	tp := &ix.c.Tape
	if tp.Kind(tok) != jsontape.Number {
		return 0
	}
	raw := tp.Raw(tok)
	if len(raw) > 0 && len(raw) < 16 {
		var n int64
		for _, b := range raw {
			if b < '0' || b > '9' {
				n = -1
				break
			}
			n = n*10 + int64(b-'0')
		}
		if n >= 0 {
			return n
		}
	}
	f, _ := tp.Float(tok)
	return int64(f)
}

// keyName is key token k's name (escaped keys decoded, allocating: rrweb
// writes its keys plainly). Compared in a switch, it allocates nothing.
func keyName(tp *jsontape.Tape, k int) string {
	t := &tp.Tokens[k]
	if t.Escaped {
		s, _ := tp.Str(k)
		return s
	}
	return unsafeString(tp.Data[t.Start+1 : t.End-1])
}

// walk indexes a serialised node and its subtree under parent, and appends
// its visible text to out (bounded). It reads each node's members in one
// pass: snapshots and added subtrees hold most of a recording's nodes.
func (ix indexer) walk(tok int, parent int64, depth int, out []byte) []byte {
	tp := &ix.c.Tape
	if tp.Kind(tok) != jsontape.Object || depth > 200 {
		return out
	}
	var id int64
	typ, tag, attrs, kids, text, isStyle := int64(-1), -1, -1, -1, -1, false
	for k := tok + 1; k < tp.Next(tok); k = tp.Next(k + 1) {
		v := k + 1
		switch keyName(tp, k) {
		case "id":
			id = ix.id(v)
		case "type":
			typ = ix.id(v)
		case "tagName":
			tag = v
		case "attributes":
			attrs = v
		case "childNodes":
			kids = v
		case "textContent":
			text = v
		case "isStyle":
			isStyle = tp.Kind(v) == jsontape.True
		}
	}
	switch typ {
	case 2: // element
		n := node{tag: tagName(tp, tag)}
		var label []byte
		n.id, n.class, label = ix.elementAttrs(attrs)
		var own []byte
		switch n.tag {
		case "script", "style", "noscript", "textarea", "select":
			// code, or a form field's value: never a label
		default:
			if tp.Kind(kids) == jsontape.Array {
				for k := kids + 1; k < tp.Next(kids); k = tp.Next(k) {
					own = ix.walk(k, id, depth+1, own)
				}
			}
		}
		if len(own) == 0 && len(label) > 0 {
			own = appendText(own, label) // an icon button's aria-label, an image's alt
		}
		n.text = string(own)
		ix.x.put(ix.c, id, n)
		return appendText(out, own)
	case 3: // text
		if isStyle {
			return out
		}
		n := len(out)
		out = appendText(out, ix.text(text))
		if len(out) > n {
			ix.x.putText(ix.c, id, parent)
		}
		return out
	default: // document, doctype, CDATA, comment
		if tp.Kind(kids) == jsontape.Array {
			for k := kids + 1; k < tp.Next(kids); k = tp.Next(k) {
				ix.walk(k, id, depth+1, nil)
			}
		}
		return out
	}
}

// text is a string token's text as stored: its bytes when nothing edits
// it (no copy), else the edited value.
func (ix indexer) text(tok int) []byte {
	tp := &ix.c.Tape
	if tp.Kind(tok) != jsontape.String {
		return nil
	}
	if t := &tp.Tokens[tok]; !t.Escaped && len(ix.c.edits) == 0 {
		return tp.Data[t.Start+1 : t.End-1]
	}
	s, _ := ix.c.Str(tok)
	return []byte(s)
}

// htmlTags are common tag names, so indexing them allocates nothing.
var htmlTags = func() map[string]string {
	m := map[string]string{}
	for _, t := range strings.Fields(`a abbr address article aside audio b blockquote body br button canvas caption code dd details dialog div dl dt em
		fieldset figure footer form h1 h2 h3 h4 h5 h6 head header hr html i iframe img input label legend li link main meta nav noscript ol
		optgroup option p path picture pre section select small source span strong style sub summary sup svg table tbody td template textarea
		tfoot th thead title tr u ul video g circle rect line polyline polygon text use defs script`) {
		m[t] = t
	}
	return m
}()

// tagName is an element's tag name token, lower-cased.
func tagName(tp *jsontape.Tape, tok int) string {
	if tp.Kind(tok) != jsontape.String {
		return ""
	}
	t := &tp.Tokens[tok]
	if !t.Escaped {
		raw := tp.Data[t.Start+1 : t.End-1]
		if s, ok := htmlTags[string(raw)]; ok {
			return s
		}
	}
	s, _ := tp.Str(tok)
	s = strings.ToLower(s)
	if t, ok := htmlTags[s]; ok {
		return t
	}
	return truncate(s, maxNodeText)
}

// elementAttrs reads an element's id and class, and the text that names
// it when it has none of its own (aria-label, else alt, else title; as
// stored, masked when masking edited it).
func (ix indexer) elementAttrs(attrs int) (id, class string, label []byte) {
	c := ix.c
	tp := &c.Tape
	if tp.Kind(attrs) != jsontape.Object {
		return "", "", nil
	}
	rank := 0
	for k := attrs + 1; k < tp.Next(attrs); k = tp.Next(k + 1) {
		r := 0
		switch keyName(tp, k) {
		case "id":
			id, _ = c.Str(k + 1)
			id = truncate(id, maxNodeText)
		case "class":
			class, _ = c.Str(k + 1)
			if len(class) > 512 {
				class = class[:512]
			}
		case "aria-label":
			r = 3
		case "alt":
			r = 2
		case "title":
			r = 1
		}
		if r > rank {
			if t := ix.text(k + 1); len(t) > 0 {
				label, rank = t, r
			}
		}
	}
	return id, class, label
}

func splitClasses(s string) []string {
	f := strings.Fields(s)
	if len(f) > maxClasses {
		f = f[:maxClasses]
	}
	for i, c := range f {
		f[i] = truncate(c, maxNodeText)
	}
	return f
}

// appendText adds text to visible text, whitespace collapsed, up to
// maxNodeText bytes.
func appendText(b []byte, text []byte) []byte {
	if len(b) >= maxNodeText {
		return b
	}
	space := len(b) > 0
	for len(text) > 0 && len(b) < maxNodeText {
		r, size := utf8.DecodeRune(text)
		text = text[size:]
		if unicode.IsSpace(r) {
			space = len(b) > 0
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}

// mutation applies an incremental mutation to the index.
func (ix indexer) mutation(data int) {
	tp := &ix.c.Tape
	each := func(key string, fn func(el int)) {
		arr := tp.Member(data, key)
		if tp.Kind(arr) != jsontape.Array {
			return
		}
		for el := arr + 1; el < tp.Next(arr); el = tp.Next(el) {
			if tp.Kind(el) == jsontape.Object {
				fn(el)
			}
		}
	}
	each("removes", func(rm int) { ix.x.remove(ix.id(tp.Member(rm, "id"))) })
	each("adds", func(add int) {
		parent := ix.id(tp.Member(add, "parentId"))
		text := ix.walk(tp.Member(add, "node"), parent, 0, nil)
		if p, ok := ix.x.nodes[parent]; ok && p.tag != "" && len(p.text) < maxNodeText && len(text) > 0 {
			p.text = string(appendText([]byte(p.text), text))
			ix.x.nodes[parent] = p
		}
	})
	each("texts", func(ch int) {
		parent, ok := ix.x.texts[ix.id(tp.Member(ch, "id"))]
		if !ok {
			return
		}
		// an element's label usually is its one text child
		if p, ok := ix.x.nodes[parent]; ok {
			p.text = string(appendText(nil, ix.text(tp.Member(ch, "value"))))
			ix.x.nodes[parent] = p
		}
	})
	each("attributes", func(ch int) {
		id := ix.id(tp.Member(ch, "id"))
		n, ok := ix.x.nodes[id]
		attrs := tp.Member(ch, "attributes")
		if !ok || n.tag == "" || tp.Kind(attrs) != jsontape.Object {
			return
		}
		if v := tp.Member(attrs, "id"); v >= 0 {
			n.id, _ = ix.c.Str(v) // null: removed
			n.id = truncate(n.id, maxNodeText)
		}
		if v := tp.Member(attrs, "class"); v >= 0 {
			n.class, _ = ix.c.Str(v)
		}
		ix.x.nodes[id] = n
	})
}

// clickDetail is a click marker's detail: the node id, the point and the
// target when known.
func clickDetail(id int64, x, y float64, t Target, extra string) string {
	var b strings.Builder
	b.WriteString(`{`)
	b.WriteString(extra)
	b.WriteString(`"id":`)
	b.WriteString(jsonNumber(float64(id)))
	b.WriteString(`,"x":` + jsonNumber(x) + `,"y":` + jsonNumber(y))
	if t.Tag != "" {
		tj, _ := json.Marshal(t)
		b.WriteString(`,"target":`)
		b.Write(tj)
	}
	b.WriteString(`}`)
	return b.String()
}

func jsonNumber(f float64) string {
	b, err := json.Marshal(f)
	if err != nil {
		return "0"
	}
	return string(b)
}

// unsafeString views b as a string for a comparison that does not keep it.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
