package workflow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pelato-dev/pelato/internal/span"
	"gopkg.in/yaml.v3"
)

// Limits bound the work a hostile file can cause.
const (
	// MaxFileSize is the largest workflow.yaml pelato reads (a 200-task file is ~40 KB).
	MaxFileSize = 2 << 20
	// MaxNodes bounds alias expansion: the resolved tree may hold at most this many nodes.
	MaxNodes = 200_000
	// MaxDepth bounds nesting.
	MaxDepth = 200
)

// ProblemKind classifies a file-level problem found while parsing.
type ProblemKind int

// The problem kinds.
const (
	ProblemSyntax ProblemKind = iota + 1
	ProblemDuplicateKey
	ProblemMultiDoc
	ProblemTab
	ProblemEmpty
	ProblemTooLarge
	ProblemNotMapping
	ProblemEncoding
	ProblemKeyType
)

// Problem is a YAML-level defect of the file.
type Problem struct {
	Kind    ProblemKind
	Range   span.Range
	Message string
	// Related is a second place the problem involves (the first of duplicate keys).
	Related span.Range
}

// File is a parsed workflow.yaml.
type File struct {
	// Path is the file's path as given to Parse.
	Path string
	// Content is the file's bytes as read (BOM and CRLF included).
	Content []byte
	// Mapper maps Content's byte offsets to lines and columns.
	Mapper *span.Mapper
	// Root is the top-level value, or nil when the file has none.
	Root *Node
	// Problems are the YAML-level defects found; a file with a syntax error has no Root.
	Problems []Problem
}

var (
	lineRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	anchorRE = regexp.MustCompile(`unknown anchor '([^']*)' referenced`)
)

// Parse parses content as a workflow.yaml. It never fails: every defect becomes a
// Problem, and whatever could be read is in Root.
func Parse(path string, content []byte) *File {
	f, _ := parse(path, content)
	return f
}

// parse is Parse, also returning the number of values converted (see MaxNodes), which
// a Reparser keeps to apply the limit as a full parse would.
func parse(path string, content []byte) (*File, int) {
	f, p := parseFile(path, content)
	if p == nil {
		return f, 0
	}
	return f, p.nodes
}

func parseFile(path string, content []byte) (*File, *parser) {
	f := &File{Path: path, Content: content, Mapper: span.NewMapper(content)}
	if len(content) > MaxFileSize {
		f.problem(ProblemTooLarge, span.Range{}, fmt.Sprintf("workflow.yaml is %d bytes; pelato reads at most %d (a 200-task workflow is about 40 KB)", len(content), MaxFileSize))
		return f, nil
	}
	if !utf8.Valid(content) {
		off := firstInvalid(content)
		f.problem(ProblemEncoding, span.Range{Start: off, End: off + 1}, "workflow.yaml is not valid UTF-8 (invalid byte here); save it as UTF-8")
		return f, nil
	}
	bom := 0
	if bytes.HasPrefix(content, []byte("\xef\xbb\xbf")) {
		bom = 3
	}
	body := content[bom:]
	p := &parser{f: f, body: span.NewMapper(body), shift: bom, anchors: map[*yaml.Node]bool{}}
	p.tabs(body)
	if !hasContent(body) {
		f.problem(ProblemEmpty, span.Range{}, "workflow.yaml is empty; expected `project_name:` and a `tasks:` list (pelato init writes a starter)")
		return f, p
	}
	dec := yaml.NewDecoder(bytes.NewReader(body))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		p.syntax(err)
		return f, p
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		r := p.lineRange(next.Line)
		for l := next.Line; l >= 1; l-- { // the `---` separator, when there is one
			if lr := p.lineRange(l); strings.HasPrefix(p.f.Mapper.Text(lr), "---") {
				r = lr
				break
			}
		}
		f.problem(ProblemMultiDoc, r, "workflow.yaml holds several YAML documents; pelato reads only the first: remove the `---` separator and merge them")
	case errors.Is(err, io.EOF):
	default:
		p.syntax(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		f.problem(ProblemEmpty, span.Range{}, "workflow.yaml has no content; expected `project_name:` and a `tasks:` list")
		return f, p
	}
	n := countNodes(doc.Content[0], 0)
	p.nodeSlab, p.fieldSlab = make([]Node, 0, n), make([]Field, 0, n/2+1)
	root, err := p.convert(doc.Content[0], span.Range{}, 0)
	if err != nil {
		f.Problems = append(f.Problems, *err)
		return f, p
	}
	if root.Kind != Mapping {
		f.problem(ProblemNotMapping, root.Range, fmt.Sprintf("the top level of workflow.yaml is %s; expected a mapping with `project_name` and `tasks`", root.Kind))
	}
	f.Root = root
	return f, p
}

func (f *File) problem(k ProblemKind, r span.Range, msg string) {
	f.Problems = append(f.Problems, Problem{Kind: k, Range: r, Message: msg})
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// hasContent reports whether b holds anything but white space and `#` comment lines.
func hasContent(b []byte) bool {
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte("\n"))
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			return true
		}
		b = rest
	}
	return false
}

type parser struct {
	f       *File
	body    *span.Mapper // over the content without a BOM: yaml.v3's coordinates
	shift   int          // BOM length
	nodes   int
	anchors map[*yaml.Node]bool // anchors being expanded (cycle guard)
	tabbed  map[int]bool        // 1-based lines whose indentation holds a tab

	// Nodes and fields are allocated from slabs sized by a count of the YAML tree, so a
	// file costs a few allocations instead of one per value (aliases may overflow them).
	nodeSlab  []Node
	fieldSlab []Field
}

// countNodes counts the values of y's tree (mapping keys excluded, aliases not
// followed, depth bounded): the nodes convert will make.
func countNodes(y *yaml.Node, depth int) int {
	if depth > MaxDepth {
		return 0
	}
	n := 1
	for i, c := range y.Content {
		if y.Kind == yaml.MappingNode && i%2 == 0 {
			continue
		}
		n += countNodes(c, depth+1)
	}
	return n
}

func (p *parser) newNode(n Node) *Node {
	if len(p.nodeSlab) < cap(p.nodeSlab) {
		p.nodeSlab = append(p.nodeSlab, n)
		return &p.nodeSlab[len(p.nodeSlab)-1]
	}
	return &n
}

func (p *parser) newField(f Field) *Field {
	if len(p.fieldSlab) < cap(p.fieldSlab) {
		p.fieldSlab = append(p.fieldSlab, f)
		return &p.fieldSlab[len(p.fieldSlab)-1]
	}
	return &f
}

// tabs reports every line indented with a tab, outside block scalars as far as a
// line-based scan can tell.
func (p *parser) tabs(body []byte) {
	p.tabbed = map[int]bool{}
	if bytes.IndexByte(body, '\t') < 0 {
		return
	}
	for i, start := 0, 0; start < len(body); i++ {
		line, _, _ := bytes.Cut(body[start:], []byte("\n"))
		rest := bytes.TrimLeft(line, " \t")
		indent := line[:len(line)-len(rest)]
		if j := bytes.IndexByte(indent, '\t'); j >= 0 && len(bytes.TrimSpace(rest)) > 0 {
			p.tabbed[i+1] = true
			p.f.problem(ProblemTab, p.abs(span.Range{Start: start + j, End: start + j + 1}), "tab used for indentation; YAML requires spaces")
		}
		start += len(line) + 1
	}
}

func (p *parser) abs(r span.Range) span.Range {
	return span.Range{Start: r.Start + p.shift, End: r.End + p.shift}
}

// lineRange returns the absolute range of the text of 1-based line.
func (p *parser) lineRange(line int) span.Range {
	s, e := p.body.LineStart(line-1), p.body.LineEnd(line-1)
	for s < e && (p.body.Content()[s] == ' ' || p.body.Content()[s] == '\t') {
		s++
	}
	return p.abs(span.Range{Start: s, End: e})
}

func (p *parser) syntax(err error) {
	msg := err.Error()
	r := span.Range{}
	if len(p.tabbed) > 0 && strings.Contains(msg, "tab") {
		return // already reported, precisely, as a tab in indentation
	}
	if m := anchorRE.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(p.body.Content(), []byte("*"+m[1])); i >= 0 {
			r = p.abs(span.Range{Start: i, End: i + 1 + len(m[1])})
		}
		p.f.problem(ProblemSyntax, r, fmt.Sprintf("alias *%s refers to no anchor; define it first with &%s", m[1], m[1]))
		return
	}
	if isIndentMessage(msg) {
		// yaml.v3 often names the line opening the enclosing block, not the
		// mis-indented one: point at that line and say what to align it with.
		if mi, ok := misindented(p.body.Content()); ok {
			p.f.problem(ProblemSyntax, p.lineRange(mi.line), "YAML indentation error: "+mi.message)
			return
		}
	}
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		r = p.lineRange(line)
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if strings.Contains(msg, "exceeded max depth") {
		p.f.problem(ProblemTooLarge, r, "workflow.yaml is nested too deeply to be a workflow ("+msg+")")
		return
	}
	p.f.problem(ProblemSyntax, r, "YAML syntax error: "+msg)
}

// pos converts yaml.v3's 1-based line and character column to an absolute byte offset.
func (p *parser) pos(n *yaml.Node) int {
	return p.body.OffsetOfPoint(span.Point{Line: n.Line, Col: n.Column}) + p.shift
}

func (p *parser) convert(y *yaml.Node, via span.Range, depth int) (*Node, *Problem) {
	p.nodes++
	if p.nodes > MaxNodes || depth > MaxDepth {
		what := fmt.Sprintf("more than %d values after expanding aliases", MaxNodes)
		if depth > MaxDepth {
			what = fmt.Sprintf("nesting deeper than %d levels", MaxDepth)
		}
		at := via
		if at.IsZero() {
			at = span.Range{Start: p.pos(y), End: p.pos(y) + 1}
		}
		return nil, &Problem{Kind: ProblemTooLarge, Range: at, Message: "workflow.yaml is refused: " + what + " (an alias bomb or a generated file?)"}
	}
	start := p.pos(y)
	switch y.Kind {
	case yaml.AliasNode:
		site := span.Range{Start: start, End: start + 1 + len(y.Value)}
		if via.IsZero() {
			via = site
		}
		if y.Alias == nil || p.anchors[y.Alias] {
			return nil, &Problem{Kind: ProblemSyntax, Range: site, Message: "alias *" + y.Value + " refers to a value that contains it"}
		}
		p.anchors[y.Alias] = true
		n, err := p.convert(y.Alias, via, depth+1)
		delete(p.anchors, y.Alias)
		return n, err
	case yaml.ScalarNode:
		return p.newNode(Node{Kind: Scalar, Tag: y.ShortTag(), Value: y.Value, Via: via,
			Quoted: y.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0,
			Range:  span.Range{Start: start, End: p.scalarEnd(start, y)}}), nil
	case yaml.SequenceNode:
		n := p.newNode(Node{Kind: Sequence, Via: via, Range: span.Range{Start: start, End: start + 1}, Items: make([]*Node, 0, len(y.Content))})
		for _, c := range y.Content {
			item, err := p.convert(c, via, depth+1)
			if err != nil {
				return nil, err
			}
			n.Items = append(n.Items, item)
			n.Range.End = max(n.Range.End, siteEnd(item, via))
		}
		if y.Style&yaml.FlowStyle != 0 {
			n.Range.End = p.closeBracket(n.Range.End, ']')
		}
		return n, nil
	case yaml.MappingNode:
		return p.mapping(y, via, depth)
	}
	return nil, &Problem{Kind: ProblemSyntax, Range: span.Range{Start: start, End: start}, Message: "unexpected YAML node"}
}

func (p *parser) mapping(y *yaml.Node, via span.Range, depth int) (*Node, *Problem) {
	start := p.pos(y)
	n := p.newNode(Node{Kind: Mapping, Via: via, Range: span.Range{Start: start, End: start + 1}, Fields: make([]*Field, 0, len(y.Content)/2)})
	var merged []*Field
	seen := fieldIndex{}
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		kstart := p.pos(k)
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			site := span.Range{Start: kstart, End: p.endOf(v)}
			if !via.IsZero() {
				site = via
			}
			fields, err := p.merge(v, site, depth)
			if err != nil {
				return nil, err
			}
			merged = append(merged, fields...)
			n.Range.End = max(n.Range.End, site.End)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			r := span.Range{Start: kstart, End: kstart + 1}
			if !via.IsZero() {
				r = via
			}
			return nil, &Problem{Kind: ProblemKeyType, Range: r, Message: "mapping key is not a plain string; workflow.yaml keys are names like `name` or `targets`"}
		}
		key := p.newField(Field{Key: k.Value, KeyRange: span.Range{Start: kstart, End: p.scalarEnd(kstart, k)}, Via: via})
		val, err := p.convert(v, via, depth+1)
		if err != nil {
			return nil, err
		}
		key.Value = val
		if first := seen.get(n.Fields, key.Key); first != nil && via.IsZero() {
			p.f.Problems = append(p.f.Problems, Problem{Kind: ProblemDuplicateKey, Range: key.KeyRange, Related: first.KeyRange,
				Message: fmt.Sprintf("duplicate key %q: it is already set at line %d; keep one of them", key.Key, p.f.Mapper.Point(first.KeyRange.Start).Line)})
		}
		n.Fields = append(n.Fields, key)
		seen.add(n.Fields)
		n.Range.End = max(n.Range.End, siteEnd(val, via), key.KeyRange.End)
	}
	// Merged entries come first and are overridden by explicit ones.
	var keep []*Field
	var kept fieldIndex // the first source of a key wins, as in YAML's merge
	for _, f := range merged {
		if seen.get(n.Fields, f.Key) == nil && kept.get(keep, f.Key) == nil {
			keep = append(keep, f)
			kept.add(keep)
		}
	}
	n.Fields = append(keep, n.Fields...)
	if y.Style&yaml.FlowStyle != 0 {
		n.Range.End = p.closeBracket(n.Range.End, '}')
	}
	return n, nil
}

// siteEnd returns where child ends in the text of its parent, which is expanded through
// parentVia: the alias site when the child itself came through a new alias.
func siteEnd(child *Node, parentVia span.Range) int {
	if parentVia.IsZero() && !child.Via.IsZero() {
		return child.Via.End
	}
	return child.Range.End
}

// fieldIndex finds a mapping's entries by key: a scan while the mapping is small, a
// map once it is large (so a hostile file with many keys stays linear).
type fieldIndex struct {
	byKey map[string]*Field
}

// add records the last of fields.
func (x *fieldIndex) add(fields []*Field) {
	if x.byKey == nil && len(fields) > 16 {
		x.byKey = make(map[string]*Field, len(fields)*2)
		for _, f := range fields[:len(fields)-1] {
			if x.byKey[f.Key] == nil {
				x.byKey[f.Key] = f
			}
		}
	}
	if f := fields[len(fields)-1]; x.byKey != nil && x.byKey[f.Key] == nil {
		x.byKey[f.Key] = f
	}
}

// get returns the first entry of fields with key, or nil.
func (x *fieldIndex) get(fields []*Field, key string) *Field {
	if x.byKey != nil && len(fields) > 16 {
		return x.byKey[key]
	}
	for _, f := range fields {
		if f.Key == key {
			return f
		}
	}
	return nil
}

// merge resolves the value of a `<<` key: an alias, a mapping, or a list of them.
func (p *parser) merge(v *yaml.Node, site span.Range, depth int) ([]*Field, *Problem) {
	var sources []*yaml.Node
	if v.Kind == yaml.SequenceNode {
		sources = v.Content
	} else {
		sources = []*yaml.Node{v}
	}
	var out []*Field
	for _, s := range sources {
		m, err := p.convert(s, site, depth+1)
		if err != nil {
			return nil, err
		}
		if m.Kind != Mapping {
			return nil, &Problem{Kind: ProblemSyntax, Range: site, Message: "a merge key `<<` needs a mapping or a list of mappings, found " + m.Kind.String()}
		}
		for _, f := range m.Fields {
			cp := *f
			cp.Via = site
			out = append(out, &cp)
		}
	}
	return out, nil
}

func (p *parser) endOf(y *yaml.Node) int {
	if y.Kind == yaml.AliasNode {
		return p.pos(y) + 1 + len(y.Value)
	}
	if y.Kind == yaml.ScalarNode {
		return p.scalarEnd(p.pos(y), y)
	}
	end := p.pos(y) + 1
	for _, c := range y.Content {
		end = max(end, p.endOf(c))
	}
	return end
}

// closeBracket moves end past white space to a closing bracket when there is one.
func (p *parser) closeBracket(end int, b byte) int {
	c := p.f.Content
	for i := end; i < len(c); i++ {
		switch c[i] {
		case ' ', '\t', '\r', '\n', ',':
			continue
		case b:
			return i + 1
		}
		break
	}
	return end
}

// scalarEnd finds where the scalar starting at absolute offset start ends in the source.
func (p *parser) scalarEnd(start int, y *yaml.Node) int {
	c := p.f.Content
	if start >= len(c) {
		return start
	}
	switch c[start] {
	case '"':
		for i := start + 1; i < len(c); i++ {
			if c[i] == '\\' {
				i++
			} else if c[i] == '"' {
				return i + 1
			}
		}
		return len(c)
	case '\'':
		for i := start + 1; i < len(c); i++ {
			if c[i] == '\'' {
				if i+1 < len(c) && c[i+1] == '\'' {
					i++
					continue
				}
				return i + 1
			}
		}
		return len(c)
	case '|', '>':
		return p.blockEnd(start)
	case '&', '!':
		// an anchor or tag precedes the value: skip it and the following space.
		i := start
		for i < len(c) && c[i] != ' ' && c[i] != '\n' && c[i] != '\r' {
			i++
		}
		for i < len(c) && c[i] == ' ' {
			i++
		}
		if i < len(c) && i > start && c[i] != '\n' && c[i] != '\r' {
			return p.scalarEnd(i, y)
		}
		return i
	}
	if y.Value != "" && !strings.Contains(y.Value, "\n") && bytes.HasPrefix(c[start:], []byte(y.Value)) {
		return start + len(y.Value)
	}
	// A plain scalar written differently (multi-line, or null as `~`): take the line.
	line := p.f.Mapper.LineOf(start)
	end := p.f.Mapper.LineEnd(line)
	if i := bytes.Index(c[start:end], []byte(" #")); i >= 0 {
		end = start + i
	}
	for end > start && (c[end-1] == ' ' || c[end-1] == '\t') {
		end--
	}
	if y.Value == "" {
		return start // empty/null: a point
	}
	return end
}

// blockEnd finds the end of a block scalar whose indicator is at start: the end of the
// last line indented more than the indicator's line.
func (p *parser) blockEnd(start int) int {
	m := p.f.Mapper
	line := m.LineOf(start)
	base := indentOf(m, line)
	end := m.LineEnd(line)
	for l := line + 1; l < m.LineCount(); l++ {
		s, e := m.LineStart(l), m.LineEnd(l)
		if len(bytes.TrimSpace(p.f.Content[s:e])) == 0 {
			continue
		}
		if indentOf(m, l) <= base {
			break
		}
		end = e
	}
	return end
}

func indentOf(m *span.Mapper, line int) int {
	s, e := m.LineStart(line), m.LineEnd(line)
	c := m.Content()
	n := 0
	for s+n < e && c[s+n] == ' ' {
		n++
	}
	return n
}
