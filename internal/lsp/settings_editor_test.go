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

// TestMinSeverity: with minSeverity "warning" (Vim's ALE shows hints as warnings), the
// hints of examples/temperature are not published; "hint" brings them back.
func TestMinSeverity(t *testing.T) {
	root := copyProject(t, "temperature")
	wf := workflowPath(root)
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), `{"pelato":{"minSeverity":"warning"}}`, root)
	text := read(t, wf)
	c.open(wf, text, 1)
	// The check of the open buffer has nothing to publish; a command's check returns
	// once it has published (nothing).
	c.mustCall(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: CmdCheck})
	for _, m := range c.messages() {
		if m.method == protocol.MethodTextDocumentPublishDiagnostics && contains(m.params, `"severity":4`) {
			t.Errorf("hints published despite minSeverity warning: %s", m.params)
		}
	}
	c.notify(protocol.MethodWorkspaceDidChangeConfiguration, &protocol.DidChangeConfigurationParams{Settings: protocol.LSPAny(`{"pelato":{"minSeverity":"hint"}}`)})
	d := c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) > 0 })
	for _, x := range d.Diagnostics {
		if x.Severity != protocol.DiagnosticSeverityHint {
			t.Errorf("unexpected %+v", x)
		}
	}
	if _, err := DefaultConfig().apply([]byte(`{"minSeverity":"loud"}`)); err == nil || !strings.Contains(err.Error(), `minSeverity "loud"`) {
		t.Errorf("a bad minSeverity: %v", err)
	}
}
