package lsp

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"go.lsp.dev/protocol"
)

// TestCommandDocs: CommandDocs describes what a server offers: per-task and
// whole-workflow source actions and code lenses of each command, and the
// advertised commands.
func TestCommandDocs(t *testing.T) {
	docs := CommandDocs()
	c, root, _ := openProject(t, fullCaps(), "", "")
	wf := workflowPath(root)
	// Source actions on tasks/filter.go: its task (temp_filter) and the workflow.
	type offered struct{ task, workflow, taskLens, workflowLens bool }
	got := map[string]*offered{}
	at := func(name string) *offered {
		if got[name] == nil {
			got[name] = &offered{}
		}
		return got[name]
	}
	argTask := func(args []protocol.LSPAny) string {
		var a CommandArgs
		if len(args) > 0 {
			_ = json.Unmarshal(args[0], &a)
		}
		return a.Task
	}
	for _, a := range c.actionsAt(filepath.Join(root, "tasks", "filter.go"), 0, 0, SourceKind) {
		if argTask(a.Command.Arguments) != "" {
			at(a.Command.Command).task = true
		} else {
			at(a.Command.Command).workflow = true
		}
	}
	raw := c.mustCall(protocol.MethodTextDocumentCodeLens, &protocol.CodeLensParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileURI(wf)}})
	var lenses []protocol.CodeLens
	if err := json.Unmarshal(raw, &lenses); err != nil {
		t.Fatal(err)
	}
	for _, l := range lenses {
		if argTask(l.Command.Arguments) != "" {
			at(l.Command.Command).taskLens = true
		} else {
			at(l.Command.Command).workflowLens = true
		}
	}
	var names []string
	for _, d := range docs {
		names = append(names, d.Name)
		want := offered{d.Task, d.Workflow, d.TaskLens, d.WorkflowLens}
		if g := got[d.Name]; g == nil || *g != want {
			t.Errorf("%s: the server offers %+v, CommandDocs says %+v", d.Name, g, want)
		}
		if d.Verb != d.Name[len("pelato."):] || d.Label == "" {
			t.Errorf("%s: verb %q, label %q", d.Name, d.Verb, d.Label)
		}
	}
	for name := range got {
		if !slices.Contains(names, name) {
			t.Errorf("the server offers %s, which CommandDocs lacks", name)
		}
	}
	// Advertised: the documented commands and the quick-fix helper.
	s := New(Options{})
	defer s.stop()
	if adv := s.commandNames(); !slices.Equal(adv, slices.Sorted(slices.Values(append(names, CmdCreateFile)))) {
		t.Errorf("advertised %q, documented %q and %s", adv, names, CmdCreateFile)
	}
}
