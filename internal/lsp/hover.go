package lsp

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// hover serves textDocument/hover in workflow.yaml: the documentation of a key, the
// template behind a `type:` value, and the OCI reference of a task's component.
func (s *Server) hover(_ context.Context, snap *Snapshot, params []byte) (any, error) {
	p, err := decode[protocol.HoverParams](params)
	if err != nil {
		return nil, err
	}
	src, off, err := s.textDocumentPosition(snap, p.TextDocumentPositionParams)
	if err != nil || src == nil || !isWorkflowFile(src.Path) {
		return nil, err
	}
	w := src.workflow()
	at := locate(w, off)
	if at.field == nil {
		return nil, nil
	}
	var text string
	var r span.Range
	if at.onKey {
		text, r = s.keyDoc(at), at.field.KeyRange
	} else {
		text, r = s.valueDoc(snap, filepath.Dir(src.Path), at), at.value.Range
	}
	if at.task != nil && (at.field.Key == "component_name" || at.field.Key == "version") {
		text += "\n\n" + s.imageDoc(snap, filepath.Dir(src.Path), at.task)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	s.mu.Lock()
	kind := protocol.MarkupKindPlainText
	if s.caps.markdown {
		kind = protocol.MarkupKindMarkdown
	}
	s.mu.Unlock()
	rng := lspRange(src.Mapper, s.encoding(), r)
	return &protocol.Hover{Contents: &protocol.MarkupContent{Kind: kind, Value: text}, Range: &rng}, nil
}

// keyDoc documents the key under the cursor.
func (s *Server) keyDoc(at spot) string {
	spec, ok := workflow.LookupKey(at.field.Key, at.task != nil)
	if !ok {
		return fmt.Sprintf("`%s` is not a key of workflow.yaml here.", at.field.Key)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**: %s", spec.Key, spec.Type)
	switch {
	case spec.Replacement != "":
		fmt.Fprintf(&b, " (deprecated: use `%s`)", spec.Replacement)
	case spec.Scope == workflow.TemplateKey:
		if tpl, ok := s.reg.Lookup(at.task.Str("type")); ok {
			if role := tpl.KeyRole(spec.Key); role != "" {
				fmt.Fprintf(&b, " (%s for `%s`)", role, tpl.Name)
			} else {
				fmt.Fprintf(&b, " (not used by `%s`)", tpl.Name)
			}
		}
	case spec.Required:
		b.WriteString(" (required)")
	default:
		b.WriteString(" (optional)")
	}
	b.WriteString("\n\n" + spec.Description)
	if spec.Default != "" {
		fmt.Fprintf(&b, "\n\nDefault: `%s`", spec.Default)
	}
	if spec.Example != "" {
		fmt.Fprintf(&b, "\n\nExample: `%s: %s`", spec.Key, spec.Example)
	}
	return b.String()
}

// valueDoc documents the value under the cursor: a template for `type:`, else the
// documentation of its key.
func (s *Server) valueDoc(snap *Snapshot, root string, at spot) string {
	if at.task != nil && at.field.Key == "type" {
		tpl, ok := s.reg.Lookup(at.value.Value)
		if !ok {
			return fmt.Sprintf("`%s` is not a template; the templates are %s.", at.value.Value, strings.Join(s.reg.Names(), ", "))
		}
		return fmt.Sprintf("**%s** (template v%d)\n\n%s\n\n```go\n%s\n```", tpl.Name, tpl.Version, tpl.Description, tpl.Signature)
	}
	if at.task != nil && (at.field.Key == "component_name" || at.field.Key == "version") {
		return "" // the image reference says it all
	}
	return s.keyDoc(spot{task: at.task, field: at.field, onKey: true})
}

// imageDoc returns the OCI reference a task's component gets.
func (s *Server) imageDoc(snap *Snapshot, root string, t *workflow.Task) string {
	reg := s.registryURL(snap, root)
	if reg == "" {
		reg = "<registry>"
	}
	name, version := t.Str("component_name"), t.Str("version")
	if name == "" {
		name = "<component_name>"
	}
	if version == "" {
		version = "<version>"
	}
	return fmt.Sprintf("Image: `%s/%s:%s`", strings.TrimSuffix(reg, "/"), name, version)
}
