// Package workflow parses workflow.yaml into a model that remembers the exact byte
// range of every key and value, so that diagnostics and edits point at the right
// characters. Anchors, aliases and merge keys are resolved (with a bounded expansion
// budget); a value reached through an alias or a merge also records the alias or merge
// site, where diagnostics about it are reported.
package workflow

import "github.com/pelato-dev/pelato/internal/span"

// NodeKind is the shape of a Node.
type NodeKind int

// The node kinds.
const (
	Scalar NodeKind = iota + 1
	Sequence
	Mapping
)

// String names the kind as messages do ("a string", "a list", "a mapping").
func (k NodeKind) String() string {
	switch k {
	case Scalar:
		return "a scalar"
	case Sequence:
		return "a list"
	case Mapping:
		return "a mapping"
	}
	return "nothing"
}

// Node is a resolved YAML value.
type Node struct {
	Kind NodeKind
	// Tag is the resolved YAML tag of a scalar: "!!str", "!!int", "!!bool", "!!null", ...
	Tag string
	// Value is a scalar's value.
	Value string
	// Quoted reports whether the scalar was written in quotes or as a block scalar.
	Quoted bool
	// Range covers the value's text where it is written (inside an anchor's definition
	// when it was reached through an alias).
	Range span.Range
	// Via is the alias or merge site the value was reached through, or the zero Range.
	Via span.Range
	// Items are a sequence's elements.
	Items []*Node
	// Fields are a mapping's entries in source order (merged entries first).
	Fields []*Field
}

// Field is one key/value entry of a mapping.
type Field struct {
	Key      string
	KeyRange span.Range
	Value    *Node
	// Via is the merge site (`<<: *anchor`) the entry came from, or the zero Range.
	Via span.Range
}

// IsNull reports whether n is absent or an explicit YAML null (`key:` with no value).
func (n *Node) IsNull() bool {
	return n == nil || (n.Kind == Scalar && n.Tag == "!!null")
}

// At returns where diagnostics about n belong: the alias site when it was reached
// through an alias, else its own range.
func (n *Node) At() span.Range {
	if !n.Via.IsZero() {
		return n.Via
	}
	return n.Range
}

// At returns where diagnostics about the field's key belong.
func (f *Field) At() span.Range {
	if !f.Via.IsZero() {
		return f.Via
	}
	return f.KeyRange
}

// Field returns the last entry of mapping n with key (the one YAML keeps), or nil.
func (n *Node) Field(key string) *Field {
	if n == nil || n.Kind != Mapping {
		return nil
	}
	for i := len(n.Fields) - 1; i >= 0; i-- {
		if n.Fields[i].Key == key {
			return n.Fields[i]
		}
	}
	return nil
}

// Str returns the scalar value of key in mapping n, or "" when absent or not a scalar.
func (n *Node) Str(key string) string {
	f := n.Field(key)
	if f == nil || f.Value.Kind != Scalar || f.Value.IsNull() {
		return ""
	}
	return f.Value.Value
}

// Whole returns a range covering the entry: key through the end of its value.
func (f *Field) Whole() span.Range {
	r := f.KeyRange
	if f.Value != nil && f.Value.Via.IsZero() && f.Value.Range.End > r.End {
		r.End = f.Value.Range.End
	} else if f.Value != nil && !f.Value.Via.IsZero() && f.Value.Via.End > r.End {
		r.End = f.Value.Via.End
	}
	return r
}
