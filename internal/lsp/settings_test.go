package lsp

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

// TestDotEnvDiagnostics: a misspelled setting in .env is published on .env with a
// did-you-mean quick fix, and cleared once the buffer is fixed.
func TestDotEnvDiagnostics(t *testing.T) {
	root := copyProject(t, "temperature")
	env := filepath.Join(root, ".env")
	write(t, env, "# settings\nREGISTY_URL=registry.example:5000\n")
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", root)
	d := c.diagnostics(env, func(p *protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) > 0 })
	got := d.Diagnostics[0]
	if got.Code != protocol.String("PL501") || got.Severity != protocol.DiagnosticSeverityWarning || got.Range.Start.Line != 1 ||
		got.Range.Start.Character != 0 || got.Range.End.Character != 11 || !strings.Contains(fmt.Sprint(got.Message), "did you mean REGISTRY_URL?") {
		t.Fatalf("diagnostic %+v", got)
	}
	text := read(t, env)
	c.open(env, text, 1)
	raw := c.mustCall(protocol.MethodTextDocumentCodeAction, &protocol.CodeActionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: fileURI(env)},
		Range:        protocol.Range{Start: protocol.Position{Line: 1, Character: 3}, End: protocol.Position{Line: 1, Character: 3}},
		Context:      protocol.CodeActionContext{Diagnostics: []protocol.Diagnostic{got}},
	})
	var actions []struct {
		Title string          `json:"title"`
		Edit  json.RawMessage `json:"edit"`
	}
	if err := json.Unmarshal(raw, &actions); err != nil || len(actions) == 0 || actions[0].Title != "Rename to REGISTRY_URL" ||
		!strings.Contains(string(actions[0].Edit), `"newText":"REGISTRY_URL"`) {
		t.Fatalf("code actions: %v %s", err, raw)
	}
	c.replace(env, strings.Replace(text, "REGISTY_URL", "REGISTRY_URL", 1), 2)
	c.diagnostics(env, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 2 && len(p.Diagnostics) == 0 })
}
