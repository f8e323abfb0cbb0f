package lsp

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// workflowSource resolves the workflow.yaml a document request names, or nil.
func (s *Server) workflowSource(snap *Snapshot, td protocol.TextDocumentIdentifier) (*source, error) {
	path, err := pathOf(td.URI)
	if err != nil {
		return nil, invalidParams(err)
	}
	if !isWorkflowFile(path) {
		return nil, nil
	}
	src, err := snap.read(path)
	if err != nil {
		return nil, nil
	}
	return src, nil
}

// documentSymbol serves textDocument/documentSymbol: project_name, then one symbol
// per task named by its `name`, with its keys as children.
func (s *Server) documentSymbol(_ context.Context, snap *Snapshot, params []byte) (any, error) {
	p, err := decode[protocol.DocumentSymbolParams](params)
	if err != nil {
		return nil, err
	}
	src, err := s.workflowSource(snap, p.TextDocument)
	if err != nil || src == nil {
		return nil, err
	}
	w := src.workflow()
	enc := s.encoding()
	rng := func(r span.Range) protocol.Range { return lspRange(src.Mapper, enc, r) }
	out := protocol.DocumentSymbolSlice{}
	root := w.File.Root
	if root == nil || root.Kind != workflow.Mapping {
		return out, nil
	}
	for _, f := range root.Fields {
		if !f.Via.IsZero() || f.Key == "tasks" {
			continue
		}
		out = append(out, fieldSymbol(f, rng))
	}
	for _, t := range w.Tasks {
		if t.Node.Kind != workflow.Mapping || !t.Node.Via.IsZero() {
			continue
		}
		name := t.Str("name")
		if name == "" {
			name = t.Label()
		}
		sel := t.Node.Range
		if f := t.Field("name"); f != nil && f.Via.IsZero() && f.Value.Via.IsZero() {
			sel = f.Value.Range
		}
		detail := strings.Trim(t.Str("component_name")+" · "+t.Str("type"), " ·")
		sym := protocol.DocumentSymbol{Name: name, Kind: protocol.SymbolKindObject, Range: rng(t.Node.Range), SelectionRange: rng(sel)}
		if detail != "" {
			sym.Detail = &detail
		}
		for _, f := range t.Node.Fields {
			if f.Via.IsZero() {
				sym.Children = append(sym.Children, fieldSymbol(f, rng))
			}
		}
		out = append(out, sym)
	}
	return out, nil
}

// fieldSymbol is the symbol of one key.
func fieldSymbol(f *workflow.Field, rng func(span.Range) protocol.Range) protocol.DocumentSymbol {
	sym := protocol.DocumentSymbol{Name: f.Key, Kind: protocol.SymbolKindProperty, Range: rng(f.Whole()), SelectionRange: rng(f.KeyRange)}
	if f.Value != nil {
		var detail string
		switch f.Value.Kind {
		case workflow.Scalar:
			detail = f.Value.Value
		case workflow.Sequence:
			var items []string
			for _, it := range f.Value.Items {
				if it.Kind == workflow.Scalar {
					items = append(items, it.Value)
				}
			}
			detail = "[" + strings.Join(items, ", ") + "]"
			sym.Kind = protocol.SymbolKindArray
		case workflow.Mapping:
			sym.Kind = protocol.SymbolKindObject
		}
		if detail != "" {
			sym.Detail = &detail
		}
	}
	return sym
}

// documentLink serves textDocument/documentLink: each `code:` value links to its
// file or folder.
func (s *Server) documentLink(_ context.Context, snap *Snapshot, params []byte) (any, error) {
	p, err := decode[protocol.DocumentLinkParams](params)
	if err != nil {
		return nil, err
	}
	src, err := s.workflowSource(snap, p.TextDocument)
	if err != nil || src == nil {
		return nil, err
	}
	root := filepath.Dir(src.Path)
	enc := s.encoding()
	out := []protocol.DocumentLink{}
	for _, n := range taskValues(src.workflow(), "code") {
		target, ok := taskPath(root, n.Value)
		if !ok {
			continue
		}
		if _, err := os.Stat(target); err != nil && snap.Doc(target) == nil {
			continue
		}
		u := fileURI(target)
		tip := "tasks/" + filepath.ToSlash(strings.TrimPrefix(target, filepath.Join(root, workflow.TasksDir)+string(filepath.Separator)))
		out = append(out, protocol.DocumentLink{Range: lspRange(src.Mapper, enc, n.Range), Target: &u, Tooltip: &tip})
	}
	return out, nil
}

// foldingRange serves textDocument/foldingRange: each task and each value spanning
// several lines (lists, mappings, block scalars).
func (s *Server) foldingRange(_ context.Context, snap *Snapshot, params []byte) (any, error) {
	p, err := decode[protocol.FoldingRangeParams](params)
	if err != nil {
		return nil, err
	}
	src, err := s.workflowSource(snap, p.TextDocument)
	if err != nil || src == nil {
		return nil, err
	}
	root := src.workflow().File.Root
	out := []protocol.FoldingRange{}
	if root == nil {
		return out, nil
	}
	m := src.Mapper
	add := func(start, end int) {
		sl, el := m.LineOf(start), m.LineOf(max(start, end-1))
		if el > sl {
			out = append(out, protocol.FoldingRange{StartLine: u32(sl), EndLine: u32(el), Kind: protocol.FoldingRangeKindRegion})
		}
	}
	var walk func(n *workflow.Node, keyStart int)
	walk = func(n *workflow.Node, keyStart int) {
		if n == nil || !n.Via.IsZero() {
			return
		}
		if keyStart >= 0 {
			add(keyStart, n.Range.End)
		}
		switch n.Kind {
		case workflow.Mapping:
			for _, f := range n.Fields {
				if !f.Via.IsZero() || f.Value == nil {
					continue
				}
				if f.Value.Kind != workflow.Scalar || f.Value.Quoted {
					walk(f.Value, f.KeyRange.Start)
				}
			}
		case workflow.Sequence:
			for _, it := range n.Items {
				if it.Kind == workflow.Mapping {
					walk(it, it.Range.Start)
				}
			}
		}
	}
	walk(root, -1)
	return out, nil
}
