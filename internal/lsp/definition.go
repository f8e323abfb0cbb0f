package lsp

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// definition serves textDocument/definition in workflow.yaml: a `code:` value leads
// to its exec_task, a source_topic to the dest_topic values that produce it, and a
// dest_topic to the source_topic values that consume it.
func (s *Server) definition(_ context.Context, snap *Snapshot, params []byte) (any, error) {
	p, err := decode[protocol.DefinitionParams](params)
	if err != nil {
		return nil, err
	}
	src, off, err := s.textDocumentPosition(snap, p.TextDocumentPositionParams)
	if err != nil || src == nil || !isWorkflowFile(src.Path) {
		return nil, err
	}
	at := locate(src.workflow(), off)
	if at.task == nil || at.value == nil {
		return nil, nil
	}
	root := filepath.Dir(src.Path)
	switch at.field.Key {
	case "code":
		loc, ok := s.execTask(snap, root, at.value.Value)
		if !ok {
			return nil, nil
		}
		return loc, nil
	case "source_topic", "dest_topic":
		var out protocol.LocationSlice
		for _, n := range s.topicPeers(src.workflow(), at.field.Key, at.value.Value) {
			out = append(out, protocol.Location{URI: src.URI, Range: lspRange(src.Mapper, s.encoding(), n.Range)})
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	}
	return nil, nil
}

// topicPeers returns the other side of a topic: for a source_topic the dest_topic
// values it matches (the producers), for a dest_topic the source_topic patterns that
// match it (the consumers).
func (s *Server) topicPeers(w *workflow.Workflow, key, subject string) []*workflow.Node {
	var out []*workflow.Node
	if key == "source_topic" {
		for _, n := range taskValues(w, "dest_topic") {
			if subjectMatches(subject, n.Value) {
				out = append(out, n)
			}
		}
		return out
	}
	for _, n := range taskValues(w, "source_topic") {
		if subjectMatches(n.Value, subject) {
			out = append(out, n)
		}
	}
	return out
}

// taskPath resolves a `code:` value to a path under the project's tasks/, refusing
// paths that leave it.
func taskPath(root, code string) (string, bool) {
	clean := path.Clean("/" + filepath.ToSlash(strings.TrimSpace(code)))
	if clean == "/" || strings.Contains(code, "..") || filepath.IsAbs(code) {
		return "", false
	}
	return filepath.Join(root, workflow.TasksDir, filepath.FromSlash(clean[1:])), true
}

// execTask finds the exec_task declaration of a task's code (a file, or the Go files
// of a folder); without one it points at the start of the code.
func (s *Server) execTask(snap *Snapshot, root, code string) (*protocol.Location, bool) {
	p, ok := taskPath(root, code)
	if !ok {
		return nil, false
	}
	files := []string{p}
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		files, _ = filepath.Glob(filepath.Join(p, "*.go"))
		slices.Sort(files)
	}
	enc := s.encoding()
	var first *protocol.Location
	for _, f := range files {
		src, err := snap.read(f)
		if err != nil {
			continue
		}
		if first == nil {
			first = &protocol.Location{URI: src.URI}
		}
		if r, ok := findFunc(src.Path, src.Content, "exec_task"); ok {
			return &protocol.Location{URI: src.URI, Range: lspRange(src.Mapper, enc, r)}, true
		}
	}
	return first, first != nil
}

// findFunc returns the byte range of the name of top-level func name in a Go file.
func findFunc(filename string, content []byte, name string) (span.Range, bool) {
	fset := token.NewFileSet()
	f, _ := parser.ParseFile(fset, filename, content, parser.SkipObjectResolution)
	if f == nil {
		return span.Range{}, false
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Name.Name != name {
			continue
		}
		start := fset.Position(fd.Name.Pos()).Offset
		return span.Range{Start: start, End: start + len(name)}, true
	}
	return span.Range{}, false
}

// references serves textDocument/references in workflow.yaml: every source_topic and
// dest_topic with the subject under the cursor, or every component_name equal to
// the one under it.
func (s *Server) references(_ context.Context, snap *Snapshot, params []byte) (any, error) {
	p, err := decode[protocol.ReferenceParams](params)
	if err != nil {
		return nil, err
	}
	src, off, err := s.textDocumentPosition(snap, p.TextDocumentPositionParams)
	if err != nil || src == nil || !isWorkflowFile(src.Path) {
		return nil, err
	}
	w := src.workflow()
	at := locate(w, off)
	if at.task == nil || at.value == nil {
		return nil, nil
	}
	var keys []string
	switch at.field.Key {
	case "source_topic", "dest_topic":
		keys = []string{"source_topic", "dest_topic"}
	case "component_name":
		keys = []string{"component_name"}
	default:
		return nil, nil
	}
	var nodes []*workflow.Node
	for _, k := range keys {
		for _, n := range taskValues(w, k) {
			if n.Value == at.value.Value && (p.Context.IncludeDeclaration || n != at.value) {
				nodes = append(nodes, n)
			}
		}
	}
	slices.SortFunc(nodes, func(a, b *workflow.Node) int { return a.Range.Start - b.Range.Start })
	enc := s.encoding()
	out := []protocol.Location{}
	for _, n := range nodes {
		out = append(out, protocol.Location{URI: src.URI, Range: lspRange(src.Mapper, enc, n.Range)})
	}
	return out, nil
}
