package workflow

import (
	"bytes"
	"errors"
	"io"
	"sort"
	"sync"
	"unicode/utf8"

	"github.com/pelato-dev/pelato/internal/span"
	"gopkg.in/yaml.v3"
)

// Reparser parses successive versions of one workflow.yaml, as an editor sends them.
// It keeps the previous parse; when an edit is confined to one entry of the block
// list `tasks:` (and leaves the lines around it as they were), it parses only that
// entry and splices it into a copy of the previous model, shifting the byte offsets
// of what follows. Anything else (an edit outside `tasks:`, one that adds or removes
// an entry or changes its indentation, a file with problems, anchors, aliases, merge
// keys, tabs or directives near the edit) is parsed in full. The result is always
// exactly what Parse returns for the same content (TestReparseRandomEdits,
// FuzzReparse).
//
// A Reparser is safe for concurrent use; its calls are serialised.
type Reparser struct {
	path string

	mu          sync.Mutex
	last        *File // the previous result, nil before the first
	nodes       int   // the values last's parse converted (see MaxNodes)
	incremental int   // parses answered by re-parsing one entry
	full        int   // parses done in full
}

// NewReparser returns a Reparser for the file named path (the File's Path).
func NewReparser(path string) *Reparser { return &Reparser{path: path} }

// Parse returns the parse of content, as Parse(path, content) does.
func (r *Reparser) Parse(content []byte) *File {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last != nil && bytes.Equal(r.last.Content, content) {
		return r.last
	}
	if r.last != nil {
		if f, nodes, ok := reparse(r.last, r.nodes, content); ok {
			r.last, r.nodes = f, nodes
			r.incremental++
			return f
		}
	}
	r.last, r.nodes = parse(r.path, content)
	r.full++
	return r.last
}

// Stats returns how many parses re-parsed one entry and how many were done in full.
func (r *Reparser) Stats() (incremental, full int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.incremental, r.full
}

// entryLayout is where the entries of the block list `tasks:` lie in a file.
type entryLayout struct {
	root  *Node
	tasks int // index of the `tasks` field in root.Fields
	seq   *Node
	col   int   // the column of the entries' `-`, in bytes
	start []int // the start of each entry's first line (the one with its `-`)
	end   int   // where the last entry's lines end: a line less indented, or the end
}

// layout finds the entries of f's `tasks:` list, line by line, and checks that they
// are the list's items: ok is false when f is not a plain block list whose entries
// the lines delimit.
func layout(f *File) (entryLayout, bool) {
	var l entryLayout
	root := f.Root
	if len(f.Problems) > 0 || root == nil || root.Kind != Mapping || !root.Via.IsZero() {
		return l, false
	}
	l.root, l.tasks = root, -1
	for i, fl := range root.Fields {
		if !fl.Via.IsZero() {
			return l, false // merged: its text is elsewhere
		}
		if fl.Key == "tasks" {
			l.tasks = i
		}
	}
	if l.tasks < 0 {
		return l, false
	}
	seq := root.Fields[l.tasks].Value
	c, m := f.Content, f.Mapper
	if seq.Kind != Sequence || !seq.Via.IsZero() || len(seq.Items) == 0 || seq.Range.Start >= len(c) || c[seq.Range.Start] != '-' {
		return l, false
	}
	l.seq = seq
	line := m.LineOf(seq.Range.Start)
	ls := m.LineStart(line)
	for _, b := range c[ls:seq.Range.Start] {
		if b != ' ' {
			return l, false
		}
	}
	l.col = seq.Range.Start - ls
	l.end = len(c)
	for ; line < m.LineCount(); line++ {
		s, e := m.LineStart(line), m.LineEnd(line)
		switch lineKind(c[s:e], l.col) {
		case lineDash:
			l.start = append(l.start, s)
			continue
		case lineOuter:
			l.end = s
		default:
			continue
		}
		break
	}
	if len(l.start) != len(seq.Items) {
		return l, false
	}
	for k, it := range seq.Items {
		lo, hi := l.start[k], l.end
		if k+1 < len(l.start) {
			hi = l.start[k+1]
		}
		if at := it.At(); at.Start < lo || at.Start >= hi || siteEnd(it, span.Range{}) > hi {
			return l, false
		}
	}
	return l, true
}

// The kinds of line layout tells apart, relative to the column of the list's `-`.
const (
	lineInner = iota // blank, a comment, or indented past the column
	lineDash         // a `-` at the column: an entry starts
	lineOuter        // anything else at or left of the column: the list has ended
)

func lineKind(text []byte, col int) int {
	i := 0
	for i < len(text) && text[i] == ' ' {
		i++
	}
	switch {
	case i == len(text) || text[i] == '#':
		return lineInner
	case i > col:
		return lineInner
	case i == col && text[i] == '-' && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t'):
		return lineDash
	}
	return lineOuter
}

// reparse parses content, the next version of old (whose parse converted nodes
// values), by re-parsing the one task entry the edit changed. ok is false when it
// cannot (see Reparser).
func reparse(old *File, nodes int, content []byte) (f *File, total int, ok bool) {
	if len(content) > MaxFileSize {
		return nil, 0, false
	}
	l, ok := layout(old)
	if !ok {
		return nil, 0, false
	}
	oc := old.Content
	// The edit: old[pre:len(old)-suf] became content[pre:len(content)-suf].
	pre := commonPrefix(oc, content)
	suf := commonSuffix(oc[pre:], content[pre:])
	k := sort.SearchInts(l.start, pre+1) - 1 // the entry whose lines hold pre
	if k < 0 {
		return nil, 0, false
	}
	from, to := l.start[k], l.end // the entry's lines in old
	if k+1 < len(l.start) {
		to = l.start[k+1]
	}
	if pre > to || pre == to && to < len(oc) || len(oc)-suf > to {
		return nil, 0, false
	}
	delta := len(content) - len(oc)
	entry, oldEntry := content[from:to+delta], oc[from:to]
	if bytes.ContainsAny(entry, "&*\t") || bytes.ContainsAny(oldEntry, "&*\t") ||
		bytes.Contains(entry, []byte("<<")) || bytes.Contains(oldEntry, []byte("<<")) ||
		!utf8.Valid(entry) || bytes.Contains(oc[:from], []byte("%TAG")) {
		return nil, 0, false
	}
	// Every line of the new entry but its first must stay inside it.
	em := span.NewMapper(entry)
	if lineKind(entry[:em.LineEnd(0)], l.col) != lineDash {
		return nil, 0, false
	}
	for line := 1; line < em.LineCount(); line++ {
		if lineKind(entry[em.LineStart(line):em.LineEnd(line)], l.col) != lineInner {
			return nil, 0, false
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(entry))
	var doc, next yaml.Node
	if err := dec.Decode(&doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, 0, false
	}
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, 0, false
	}
	ys := doc.Content[0]
	if ys.Kind != yaml.SequenceNode || ys.Style&yaml.FlowStyle != 0 || len(ys.Content) != 1 {
		return nil, 0, false
	}
	f = &File{Path: old.Path, Content: content, Mapper: span.NewMapper(content)}
	if end := to + delta; end < len(content) && f.Mapper.LineStart(f.Mapper.LineOf(end)) != end {
		return nil, 0, false // the entry's last line break is gone: it runs into the next
	}
	p := &parser{f: f, body: em, shift: from, anchors: map[*yaml.Node]bool{}, tabbed: map[int]bool{}}
	n := countNodes(ys.Content[0], 2)
	p.nodeSlab, p.fieldSlab = make([]Node, 0, n), make([]Field, 0, n/2+1)
	item, perr := p.convert(ys.Content[0], span.Range{}, 2)
	if perr != nil || len(f.Problems) > 0 {
		return nil, 0, false
	}
	total = nodes - count(l.seq.Items[k]) + p.nodes
	if total > MaxNodes {
		return nil, 0, false
	}
	sh := shifter{at: from, limit: to, delta: delta}
	seq := &Node{Kind: Sequence, Range: l.seq.Range, Items: make([]*Node, len(l.seq.Items))}
	copy(seq.Items, l.seq.Items[:k])
	seq.Items[k] = item
	for j := k + 1; j < len(l.seq.Items); j++ {
		seq.Items[j] = sh.node(l.seq.Items[j])
	}
	seq.Range.End = seq.Range.Start + 1
	for _, it := range seq.Items {
		seq.Range.End = max(seq.Range.End, siteEnd(it, span.Range{}))
	}
	root := &Node{Kind: Mapping, Range: l.root.Range, Fields: make([]*Field, len(l.root.Fields))}
	root.Range.End = root.Range.Start + 1
	for j, fl := range l.root.Fields {
		nf := &Field{Key: fl.Key, KeyRange: sh.span(fl.KeyRange), Via: sh.span(fl.Via)}
		if j == l.tasks {
			nf.Value = seq
		} else {
			nf.Value = sh.node(fl.Value)
		}
		root.Fields[j] = nf
		root.Range.End = max(root.Range.End, siteEnd(nf.Value, span.Range{}), nf.KeyRange.End)
	}
	if sh.failed {
		return nil, 0, false
	}
	f.Root = root
	return f, total, true
}

// count returns the number of values of n's tree.
func count(n *Node) int {
	c := 1
	for _, it := range n.Items {
		c += count(it)
	}
	for _, fl := range n.Fields {
		c += count(fl.Value)
	}
	return c
}

// shifter copies the nodes that follow an edited entry, moving their byte offsets:
// a range at or after limit (the end of the entry in the old text) moves by delta,
// one before at (its start) stays. A range across the entry cannot be copied: failed
// is then set.
type shifter struct {
	at, limit, delta int
	failed           bool
}

func (s *shifter) span(r span.Range) span.Range {
	switch {
	case r.IsZero() || r.End <= s.at:
		return r
	case r.Start >= s.limit:
		return span.Range{Start: r.Start + s.delta, End: r.End + s.delta}
	}
	s.failed = true
	return r
}

func (s *shifter) node(n *Node) *Node {
	c := *n
	c.Range, c.Via = s.span(n.Range), s.span(n.Via)
	if n.Items != nil {
		c.Items = make([]*Node, len(n.Items))
		for i, it := range n.Items {
			c.Items[i] = s.node(it)
		}
	}
	if n.Fields != nil {
		c.Fields = make([]*Field, len(n.Fields))
		for i, fl := range n.Fields {
			c.Fields[i] = &Field{Key: fl.Key, KeyRange: s.span(fl.KeyRange), Value: s.node(fl.Value), Via: s.span(fl.Via)}
		}
	}
	return &c
}

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i+64 <= n && bytes.Equal(a[i:i+64], b[i:i+64]) {
		i += 64
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// commonSuffix returns the length of the longest common suffix of a and b.
func commonSuffix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i+64 <= n && bytes.Equal(a[len(a)-i-64:len(a)-i], b[len(b)-i-64:len(b)-i]) {
		i += 64
	}
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	return i
}
