package rrweb

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

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

// node is one indexed DOM node: an element (tag set) or a text node.
type node struct {
	parent  int64
	tag     string
	id      string
	classes []string
	text    string // an element's visible text, a text node's own text
}

// nodeIndex is a tab's nodes by rrweb id.
type nodeIndex struct {
	nodes map[int64]*node
	// want are the ids clicks of the current chunk target: always indexed.
	want map[int64]bool
}

func (x *nodeIndex) reset() { clear(x.nodes) }

func (x *nodeIndex) put(id int64, n *node) {
	if x.nodes == nil {
		x.nodes = map[int64]*node{}
	}
	if _, ok := x.nodes[id]; !ok && len(x.nodes) >= MaxIndexedNodes && !x.want[id] {
		return
	}
	x.nodes[id] = n
}

// target is the indexed node id as a click target (zero when unknown).
func (x *nodeIndex) target(id int64) Target {
	n := x.nodes[id]
	if n == nil {
		return Target{}
	}
	if n.tag == "" && n.parent != 0 {
		// a text node: name its element
		if p := x.nodes[n.parent]; p != nil && p.tag != "" {
			n = p
		}
	}
	if n.tag == "" {
		return Target{}
	}
	return Target{Tag: n.tag, ID: n.id, Classes: n.classes, Text: n.text}
}

// indexer reads serialised nodes of one chunk into the index.
type indexer struct {
	c *Chunk
	x *nodeIndex
}

func (ix indexer) id(tok int) int64 {
	f, ok := ix.c.Tape.Float(tok)
	if !ok {
		return 0
	}
	return int64(f)
}

// walk indexes a serialised node and its subtree under parent, and returns
// its visible text (bounded).
func (ix indexer) walk(tok int, parent int64, depth int) string {
	tp := &ix.c.Tape
	if tp.Kind(tok) != jsontape.Object || depth > 200 {
		return ""
	}
	id := ix.id(tp.Member(tok, "id"))
	typ, _ := tp.Int(tp.Member(tok, "type"))
	switch typ {
	case 2: // element
		tag, _ := tp.Str(tp.Member(tok, "tagName"))
		tag = strings.ToLower(tag)
		n := &node{parent: parent, tag: tag}
		n.id, n.classes = elementAttrs(ix.c, tp.Member(tok, "attributes"))
		var text []byte
		if tag != "script" && tag != "style" && tag != "noscript" {
			if kids := tp.Member(tok, "childNodes"); tp.Kind(kids) == jsontape.Array {
				for k := kids + 1; k < tp.Next(kids); k = tp.Next(k) {
					text = appendText(text, ix.walk(k, id, depth+1))
				}
			}
		}
		n.text = string(text)
		ix.x.put(id, n)
		return n.text
	case 3: // text
		if tp.Kind(tp.Member(tok, "isStyle")) == jsontape.True {
			return ""
		}
		s, _ := ix.c.Str(tp.Member(tok, "textContent"))
		t := string(appendText(nil, s))
		ix.x.put(id, &node{parent: parent, text: t})
		return t
	default: // document, doctype, CDATA, comment
		if kids := tp.Member(tok, "childNodes"); tp.Kind(kids) == jsontape.Array {
			for k := kids + 1; k < tp.Next(kids); k = tp.Next(k) {
				ix.walk(k, id, depth+1)
			}
		}
		return ""
	}
}

// elementAttrs reads an element's id and classes.
func elementAttrs(c *Chunk, attrs int) (id string, classes []string) {
	tp := &c.Tape
	if s, ok := c.Str(tp.Member(attrs, "id")); ok {
		id = truncate(s, maxNodeText)
	}
	if s, ok := c.Str(tp.Member(attrs, "class")); ok {
		classes = splitClasses(s)
	}
	return id, classes
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

// appendText adds s to visible text, whitespace collapsed, up to maxNodeText.
func appendText(b []byte, s string) []byte {
	space := len(b) > 0
	for _, r := range s {
		if len(b) >= maxNodeText {
			break
		}
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
	each("removes", func(rm int) { delete(ix.x.nodes, ix.id(tp.Member(rm, "id"))) })
	each("adds", func(add int) {
		parent := ix.id(tp.Member(add, "parentId"))
		text := ix.walk(tp.Member(add, "node"), parent, 0)
		if p := ix.x.nodes[parent]; p != nil && p.tag != "" && len(p.text) < maxNodeText {
			p.text = string(appendText([]byte(p.text), text))
		}
	})
	each("texts", func(ch int) {
		n := ix.x.nodes[ix.id(tp.Member(ch, "id"))]
		if n == nil {
			return
		}
		s, _ := ix.c.Str(tp.Member(ch, "value"))
		n.text = string(appendText(nil, s))
		// an element's label usually is its one text child
		if p := ix.x.nodes[n.parent]; p != nil && p.tag != "" {
			p.text = n.text
		}
	})
	each("attributes", func(ch int) {
		n := ix.x.nodes[ix.id(tp.Member(ch, "id"))]
		attrs := tp.Member(ch, "attributes")
		if n == nil || n.tag == "" || tp.Kind(attrs) != jsontape.Object {
			return
		}
		if v := tp.Member(attrs, "id"); v >= 0 {
			n.id, _ = ix.c.Str(v) // null: removed
			n.id = truncate(n.id, maxNodeText)
		}
		if v := tp.Member(attrs, "class"); v >= 0 {
			s, _ := ix.c.Str(v)
			n.classes = splitClasses(s)
		}
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
