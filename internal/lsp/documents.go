package lsp

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// Document is an open editor buffer: an overlay over the file on disk. A Document
// never changes; an edit makes a new one.
type Document struct {
	// URI is the document's URI as the server writes it.
	URI uri.URI
	// Path is the absolute, cleaned file path.
	Path string
	// Version is the client's version of the text.
	Version int32
	// Content is the buffer's text.
	Content []byte

	mapperOnce sync.Once
	mapper     *span.Mapper
	wfOnce     sync.Once
	wf         *workflow.Workflow
	// parse parses a workflow.yaml (its project's session: incrementally, shared
	// with the checks); nil parses in full.
	parse func([]byte) *workflow.File
}

// newDocument returns the Document for path holding content.
func newDocument(path string, version int32, content []byte) *Document {
	return &Document{URI: fileURI(path), Path: path, Version: version, Content: content}
}

// Mapper returns the position mapper of the content, built once.
func (d *Document) Mapper() *span.Mapper {
	d.mapperOnce.Do(func() { d.mapper = span.NewMapper(d.Content) })
	return d.mapper
}

// Workflow returns the content parsed as a workflow.yaml, parsed once.
func (d *Document) Workflow() *workflow.Workflow {
	d.wfOnce.Do(func() {
		if d.parse != nil {
			d.wf = workflow.New(d.parse(d.Content))
			return
		}
		d.wf = workflow.New(workflow.Parse(workflow.FileName, d.Content))
	})
	return d.wf
}

// applyChanges applies the content changes of one didChange notification, in order,
// to content. Incremental ranges count columns in enc.
func applyChanges(content []byte, changes []protocol.TextDocumentContentChangeEvent, enc span.Encoding) ([]byte, error) {
	for i, ch := range changes {
		switch c := ch.(type) {
		case *protocol.TextDocumentContentChangeWholeDocument:
			content = []byte(c.Text)
		case *protocol.TextDocumentContentChangePartial:
			m := span.NewMapper(content)
			r := rangeOffsets(m, enc, c.Range)
			next := make([]byte, 0, len(content)-(r.End-r.Start)+len(c.Text))
			next = append(next, content[:r.Start]...)
			next = append(next, c.Text...)
			next = append(next, content[r.End:]...)
			content = next
		default:
			return nil, fmt.Errorf("content change %d has no text", i)
		}
	}
	return content, nil
}

// isWorkflowFile reports whether path names a workflow.yaml.
func isWorkflowFile(path string) bool { return filepath.Base(path) == workflow.FileName }

// isDotEnvFile reports whether path names a project's settings file, .env.
func isDotEnvFile(path string) bool { return filepath.Base(path) == check.DotEnvFile }

// isGoFile reports whether path names a Go file.
func isGoFile(path string) bool { return filepath.Ext(path) == ".go" }

// fileURI returns the file URI of an absolute path.
func fileURI(path string) uri.URI { return uri.File(path) }

// pathOf returns the cleaned file path of a file URI.
func pathOf(u uri.URI) (string, error) {
	if !strings.HasPrefix(strings.ToLower(string(u)), "file:") {
		return "", fmt.Errorf("URI %q is not a file URI", string(u))
	}
	parsed, err := uri.Parse(string(u))
	if err != nil {
		return "", fmt.Errorf("parse URI %q: %w", string(u), err)
	}
	if !parsed.IsFile() {
		return "", fmt.Errorf("URI %q is not a file URI", string(u))
	}
	p := parsed.FsPath()
	if p == "" || !filepath.IsAbs(p) {
		return "", fmt.Errorf("URI %q has no absolute path", string(u))
	}
	return filepath.Clean(p), nil
}
