package lsp

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/span"
)

// brokenWorkflow is examples/temperature with an emoji in a name, a missing task
// file, a misspelt key and an uppercase component name.
const brokenWorkflow = `# yaml-language-server: $schema=https://raw.githubusercontent.com/pelato-dev/pelato/main/schemas/workflow.schema.json
project_name: Temperature data analysis
tasks:
  - name: Temp data conversion 🌡️
    type: http_producer_nats
    code: convert.go
    targets: [edge]
    source_topic: living_room_celsius_data
    dest_topic: living_room_kelvin_data
    component_name: celsius_to_kelvin_conversion
    version: 1.0.0
  - name: Data filter
    type: processor_nats
    code: missing.go
    taregts: [cloud]
    source_topic: living_room_kelvin_data
    dest_topic: filtered_kelvin_data
    component_name: TempFilter
    version: 1.0.2
`

// openProject starts a server on a copy of examples/temperature, opens its
// workflow.yaml with text (the file on disk when text is "") and waits for the
// diagnostics of that version.
func openProject(t *testing.T, caps protocol.ClientCapabilities, options, text string) (*client, string, *protocol.PublishDiagnosticsParams) {
	t.Helper()
	root := copyProject(t, "temperature")
	c := newClient(t, clientOptions{})
	c.initialize(caps, options, root)
	wf := workflowPath(root)
	if text == "" {
		text = read(t, wf)
	}
	c.open(wf, text, 1)
	d := c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 1 })
	return c, root, d
}

func TestDiagnostics(t *testing.T) {
	t.Run("initial", func(t *testing.T) {
		// Projects are checked at start-up, before any file is opened.
		root := copyProject(t, "temperature")
		c := newClient(t, clientOptions{})
		c.initialize(fullCaps(), "", root)
		d := c.diagnostics(workflowPath(root), nil)
		b, _ := protocol.Marshal(d)
		golden(t, "diagnostics_initial.json", normalize(t, b, root))
	})
	t.Run("broken", func(t *testing.T) {
		_, root, d := openProject(t, fullCaps(), "", brokenWorkflow)
		b, _ := protocol.Marshal(d)
		golden(t, "diagnostics_broken.json", normalize(t, b, root))
	})
}

// applyEdits applies LSP text edits (UTF-16 columns) to text.
func applyEdits(t *testing.T, text string, edits []protocol.TextEdit) string {
	t.Helper()
	m := span.NewMapper([]byte(text))
	type rep struct {
		r    span.Range
		text string
	}
	var reps []rep
	for _, e := range edits {
		reps = append(reps, rep{rangeOffsets(m, span.UTF16, e.Range), e.NewText})
	}
	slices.SortFunc(reps, func(a, b rep) int { return b.r.Start - a.r.Start })
	for _, r := range reps {
		text = text[:r.r.Start] + r.text + text[r.r.End:]
	}
	return text
}

// codeActions requests the code actions of the whole of path.
func (c *client) codeActions(path string) []*protocol.CodeAction {
	c.t.Helper()
	raw := c.mustCall(protocol.MethodTextDocumentCodeAction, &protocol.CodeActionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: fileURI(path)},
		Range:        protocol.Range{End: protocol.Position{Line: 10000}},
	})
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		c.t.Fatal(err)
	}
	var out []*protocol.CodeAction
	for _, r := range list {
		a := new(protocol.CodeAction)
		if err := protocol.Unmarshal(r, a); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// textEdits returns the text edits an action makes to uri and whether it creates
// files.
func textEdits(a *protocol.CodeAction, u string) (edits []protocol.TextEdit, creates []string) {
	if a.Edit == nil {
		return nil, nil
	}
	for k, es := range a.Edit.Changes {
		if string(k) == u {
			edits = append(edits, es...)
		}
	}
	for _, dc := range a.Edit.DocumentChanges {
		switch d := dc.(type) {
		case *protocol.CreateFile:
			creates = append(creates, string(d.URI))
		case *protocol.TextDocumentEdit:
			if string(d.TextDocument.URI) != u {
				continue
			}
			for _, e := range d.Edits {
				if te, ok := e.(*protocol.TextEdit); ok {
					edits = append(edits, *te)
				}
			}
		}
	}
	return edits, creates
}

func TestCodeActions(t *testing.T) {
	c, root, _ := openProject(t, fullCaps(), "", brokenWorkflow)
	wf := workflowPath(root)
	actions := c.codeActions(wf)
	var summary strings.Builder
	for _, a := range actions {
		var codes []string
		for _, d := range a.Diagnostics {
			codes = append(codes, fmt.Sprint(d.Code))
		}
		edits, creates := textEdits(a, string(fileURI(wf)))
		fmt.Fprintf(&summary, "%s [%s] preferred=%v diagnostics=%v edits=%d creates=%v\n", a.Title, *a.Kind,
			a.IsPreferred != nil && *a.IsPreferred, codes, len(edits), creates)
	}
	golden(t, "codeactions.txt", []byte(strings.ReplaceAll(summary.String(), string(fileURI(root)), "file:///$ROOT")))

	// Apply the preferred text fix of one diagnostic at a time, as a user would, until
	// none is left; then compare the text with the golden file.
	text, v := brokenWorkflow, int32(1)
	for range 10 {
		var applied bool
		for _, a := range c.codeActions(wf) {
			edits, creates := textEdits(a, string(fileURI(wf)))
			if a.IsPreferred == nil || !*a.IsPreferred || len(edits) == 0 || len(creates) > 0 {
				continue
			}
			text = applyEdits(t, text, edits)
			v++
			c.replace(wf, text, v)
			c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == v })
			applied = true
			break
		}
		if !applied {
			break
		}
	}
	golden(t, "codeactions_applied.yaml", []byte(text))

	// The suppression comment silences its diagnostic.
	for _, a := range c.codeActions(wf) {
		if strings.HasPrefix(a.Title, "Ignore PL202") {
			edits, _ := textEdits(a, string(fileURI(wf)))
			text = applyEdits(t, text, edits)
			break
		}
	}
	golden(t, "codeactions_suppressed.yaml", []byte(text))
	v++
	c.replace(wf, text, v)
	d := c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == v })
	for _, x := range d.Diagnostics {
		if fmt.Sprint(x.Code) == "PL202" {
			t.Errorf("PL202 still reported after the suppression comment")
		}
	}

	// The create-file fix creates tasks/missing.go with a stub.
	for _, a := range c.codeActions(wf) {
		_, creates := textEdits(a, "")
		if len(creates) == 1 {
			for _, dc := range a.Edit.DocumentChanges {
				if te, ok := dc.(*protocol.TextDocumentEdit); ok {
					if e := te.Edits[0].(*protocol.TextEdit); !strings.Contains(e.NewText, "func exec_task(arg string) string") {
						t.Errorf("stub lacks exec_task: %q", e.NewText)
					}
				}
			}
		}
	}
}

func TestCodeActionsWithoutDocumentChanges(t *testing.T) {
	c, root, _ := openProject(t, protocol.ClientCapabilities{}, "", brokenWorkflow)
	wf := workflowPath(root)
	var create *protocol.CodeAction
	for _, a := range c.codeActions(wf) {
		if a.Edit != nil && len(a.Edit.DocumentChanges) > 0 {
			t.Errorf("%q uses documentChanges the client does not support", a.Title)
		}
		if a.Command.Command == CmdCreateFile {
			create = a
		}
	}
	if create == nil {
		t.Fatal("no create-file fix through the pelato.createFile command")
	}
	c.mustCall(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: create.Command.Command, Arguments: create.Command.Arguments})
	b, err := os.ReadFile(filepath.Join(root, "tasks", "missing.go"))
	if err != nil || !strings.Contains(string(b), "func exec_task") {
		t.Fatalf("tasks/missing.go not created from the stub: %v %q", err, b)
	}
	// Creating it again fails: files are never overwritten.
	if err := c.call(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: create.Command.Command, Arguments: create.Command.Arguments}, nil); err == nil {
		t.Error("pelato.createFile overwrote a file")
	}
}

func TestCompletion(t *testing.T) {
	text := `proj
platform: 
tasks:
  - name: Temp data conversion 🌡️
    type: http_producer_nats
    code: convert.go
    targets: [edge, cloud]
    source_topic: living_room_celsius_data
    dest_topic: living_room_kelvin_data
    component_name: celsius_to_kelvin_conversion
    version: 1.0.0
  - name: Data filter
    type: 
    code: 
    targets: [edge, ]
    source_topic: 
    com
  - 
`
	c, root, _ := openProject(t, fullCaps(), "", text)
	wf := workflowPath(root)
	cases := []struct {
		name   string
		needle string
		delta  int
	}{
		{"top-level key", "proj", 4},
		{"platform value", "platform: \n", 10},
		{"type value", "type: \n", 6},
		{"code value", "code: \n", 6},
		{"targets list", "[edge, ]", 7},
		{"source_topic value", "source_topic: \n", 14},
		{"task key", "    com", 7},
		{"new task item", "  - \n", 4},
	}
	var out strings.Builder
	for _, tc := range cases {
		p := positionOf(t, text, tc.needle, tc.delta)
		raw := c.mustCall(protocol.MethodTextDocumentCompletion, &protocol.CompletionParams{TextDocumentPositionParams: pos(wf, p.Line, p.Character)})
		var list protocol.CompletionList
		if err := protocol.Unmarshal(raw, &list); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "== %s (%d:%d)\n", tc.name, p.Line, p.Character)
		for _, it := range list.Items {
			te, _ := it.TextEdit.(*protocol.TextEdit)
			var edit string
			if te != nil {
				edit = fmt.Sprintf("%d:%d-%d:%d %q", te.Range.Start.Line, te.Range.Start.Character, te.Range.End.Line, te.Range.End.Character, te.NewText)
			}
			detail, _ := it.Detail.Get()
			fmt.Fprintf(&out, "%s (%d) %s | %s\n", it.Label, it.Kind, detail, edit)
		}
	}
	golden(t, "completion.txt", []byte(out.String()))
}

func TestHover(t *testing.T) {
	c, root, _ := openProject(t, fullCaps(), `{"pelato": {"registryUrl": "ghcr.io/acme"}}`, brokenWorkflow)
	wf := workflowPath(root)
	cases := []struct{ needle string }{{"taregts"}, {"  targets"}, {"http_producer_nats"}, {"TempFilter"}, {"version: 1.0.2"}, {"project_name"}, {"source_topic: living_room_kelvin"}}
	var out strings.Builder
	hover := func(name string) {
		for _, tc := range cases {
			p := positionOf(t, brokenWorkflow, strings.TrimSpace(tc.needle), 1)
			raw := c.mustCall(protocol.MethodTextDocumentHover, &protocol.HoverParams{TextDocumentPositionParams: pos(wf, p.Line, p.Character)})
			fmt.Fprintf(&out, "== %s %q\n%s\n", name, tc.needle, normalize(t, raw, root))
		}
	}
	hover("registryUrl")
	// A configuration change applies to later hovers.
	c.notify(protocol.MethodWorkspaceDidChangeConfiguration, jsonrpc2.RawMessage(`{"settings": {"pelato": {"registryUrl": "registry.example:5000/"}}}`))
	p := positionOf(t, brokenWorkflow, "TempFilter", 1)
	raw := c.mustCall(protocol.MethodTextDocumentHover, &protocol.HoverParams{TextDocumentPositionParams: pos(wf, p.Line, p.Character)})
	fmt.Fprintf(&out, "== after didChangeConfiguration\n%s\n", normalize(t, raw, root))
	golden(t, "hover.txt", []byte(out.String()))
}

func TestNavigation(t *testing.T) {
	c, root, _ := openProject(t, fullCaps(), "", "")
	wf := workflowPath(root)
	text := read(t, wf)
	var out strings.Builder
	for _, tc := range []struct{ method, needle string }{
		{protocol.MethodTextDocumentDefinition, "code: convert.go"},
		{protocol.MethodTextDocumentDefinition, "source_topic: living_room_kelvin"},
		{protocol.MethodTextDocumentDefinition, "dest_topic: living_room_kelvin"},
		{protocol.MethodTextDocumentReferences, "dest_topic: living_room_kelvin"},
		{protocol.MethodTextDocumentReferences, "component_name: temp_filter"},
	} {
		i := strings.Index(tc.needle, ": ")
		p := positionOf(t, text, tc.needle, i+3)
		var params any = &protocol.DefinitionParams{TextDocumentPositionParams: pos(wf, p.Line, p.Character)}
		if tc.method == protocol.MethodTextDocumentReferences {
			params = &protocol.ReferenceParams{TextDocumentPositionParams: pos(wf, p.Line, p.Character), Context: protocol.ReferenceContext{IncludeDeclaration: true}}
		}
		raw := c.mustCall(tc.method, params)
		fmt.Fprintf(&out, "== %s %q\n%s", tc.method, tc.needle, normalize(t, raw, root))
	}
	golden(t, "navigation.txt", []byte(out.String()))
}

func TestSymbolsLinksFolding(t *testing.T) {
	c, root, _ := openProject(t, fullCaps(), "", brokenWorkflow)
	td := protocol.TextDocumentIdentifier{URI: fileURI(workflowPath(root))}
	var out strings.Builder
	for _, r := range []struct {
		method string
		params any
	}{
		{protocol.MethodTextDocumentDocumentSymbol, &protocol.DocumentSymbolParams{TextDocument: td}},
		{protocol.MethodTextDocumentDocumentLink, &protocol.DocumentLinkParams{TextDocument: td}},
		{protocol.MethodTextDocumentFoldingRange, &protocol.FoldingRangeParams{TextDocument: td}},
	} {
		fmt.Fprintf(&out, "== %s\n%s", r.method, normalize(t, c.mustCall(r.method, r.params), root))
	}
	golden(t, "symbols.txt", []byte(out.String()))
}

func TestCodeLens(t *testing.T) {
	c, root, _ := openProject(t, fullCaps(), "", "")
	raw := c.mustCall(protocol.MethodTextDocumentCodeLens, &protocol.CodeLensParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileURI(workflowPath(root))}})
	golden(t, "codelens.json", normalize(t, raw, root))
}
