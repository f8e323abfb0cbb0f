package lsp

import (
	"strings"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// spot is what lies at a byte offset of a parsed workflow.yaml.
type spot struct {
	// task holds the offset, or nil at the top level.
	task *workflow.Task
	// field is the entry whose key or value holds the offset.
	field *workflow.Field
	// onKey is set when the offset is on field's key.
	onKey bool
	// value is the scalar under the offset (an item of a list value).
	value *workflow.Node
}

// near reports whether off lies in r or right at its end (where a cursor stands
// after typing a word).
func near(r span.Range, off int) bool { return off >= r.Start && off <= r.End }

// locate finds what is at off. Entries reached through aliases or merge keys are
// written elsewhere and never match.
func locate(w *workflow.Workflow, off int) spot {
	root := w.File.Root
	if root == nil || root.Kind != workflow.Mapping {
		return spot{}
	}
	for _, f := range root.Fields {
		if !f.Via.IsZero() {
			continue
		}
		if near(f.KeyRange, off) {
			return spot{field: f, onKey: true}
		}
		if f.Key == "tasks" && f.Value.Kind == workflow.Sequence && f.Value.Via.IsZero() {
			for _, t := range w.Tasks {
				if t.Node.Kind != workflow.Mapping || !t.Node.Via.IsZero() || !near(t.Node.Range, off) {
					continue
				}
				for _, tf := range t.Node.Fields {
					if !tf.Via.IsZero() {
						continue
					}
					if near(tf.KeyRange, off) {
						return spot{task: t, field: tf, onKey: true}
					}
					if v := scalarAt(tf.Value, off); v != nil {
						return spot{task: t, field: tf, value: v}
					}
				}
				return spot{task: t}
			}
			continue
		}
		if v := scalarAt(f.Value, off); v != nil {
			return spot{field: f, value: v}
		}
	}
	return spot{}
}

// scalarAt returns the scalar of n (or of its list items) under off.
func scalarAt(n *workflow.Node, off int) *workflow.Node {
	if n == nil || !n.Via.IsZero() {
		return nil
	}
	switch n.Kind {
	case workflow.Scalar:
		if near(n.Range, off) {
			return n
		}
	case workflow.Sequence:
		for _, it := range n.Items {
			if v := scalarAt(it, off); v != nil {
				return v
			}
		}
	}
	return nil
}

// taskValues returns, for every task, the scalar values of key written in the file.
func taskValues(w *workflow.Workflow, key string) []*workflow.Node {
	var out []*workflow.Node
	for _, t := range w.Tasks {
		f := t.Field(key)
		if f == nil || !f.Value.Via.IsZero() || f.Value.Kind != workflow.Scalar || f.Value.IsNull() {
			continue
		}
		out = append(out, f.Value)
	}
	return out
}

// subjectMatches reports whether NATS subject pattern p (with `*` and `>`) matches s.
func subjectMatches(p, s string) bool {
	pt, st := strings.Split(p, "."), strings.Split(s, ".")
	for i, tok := range pt {
		if tok == ">" {
			return len(st) > i
		}
		if i >= len(st) || (tok != "*" && tok != st[i]) {
			return false
		}
	}
	return len(pt) == len(st)
}

// textDocumentPosition resolves the document and byte offset of a position request.
func (s *Server) textDocumentPosition(snap *Snapshot, p protocol.TextDocumentPositionParams) (*source, int, error) {
	path, err := pathOf(p.TextDocument.URI)
	if err != nil {
		return nil, 0, invalidParams(err)
	}
	src, err := snap.read(path)
	if err != nil {
		return nil, 0, nil // not readable: no answer
	}
	return src, offsetOf(src.Mapper, s.encoding(), p.Position), nil
}
