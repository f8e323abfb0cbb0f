package lsp

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/pipeline"
)

// actionsAt requests the code actions at a position of path with context.only.
func (c *client) actionsAt(path string, line, char uint32, only ...protocol.CodeActionKind) []*protocol.CodeAction {
	c.t.Helper()
	pos := protocol.Position{Line: line, Character: char}
	raw := c.mustCall(protocol.MethodTextDocumentCodeAction, &protocol.CodeActionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: fileURI(path)},
		Range:        protocol.Range{Start: pos, End: pos},
		Context:      protocol.CodeActionContext{Only: only},
	})
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		c.t.Fatal(err)
	}
	out := []*protocol.CodeAction{}
	for _, r := range list {
		a := new(protocol.CodeAction)
		if err := protocol.Unmarshal(r, a); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// describe lists actions as "kind title -> command {args}" lines, with root
// replaced by $ROOT.
func describe(t *testing.T, actions []*protocol.CodeAction, root string) []string {
	t.Helper()
	var out []string
	for _, a := range actions {
		kind := ""
		if a.Kind != nil {
			kind = string(*a.Kind)
		}
		line := kind + " " + a.Title
		if a.Command.Command != "" {
			line += " -> " + a.Command.Command
			for _, arg := range a.Command.Arguments {
				line += " " + string(arg)
			}
		}
		out = append(out, strings.ReplaceAll(line, string(fileURI(root)), "$ROOT"))
	}
	return out
}

// lineOf returns the 0-based line of the first line of text containing s.
func lineOf(t *testing.T, text, s string) uint32 {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return uint32(i)
		}
	}
	t.Fatalf("no line contains %q", s)
	return 0
}

func TestSourceActions(t *testing.T) {
	c, root, _ := openProject(t, fullCaps(), "", "")
	wf := workflowPath(root)
	text := read(t, wf)
	task := filepath.Join(root, "tasks", "filter.go")

	gen := `{"uri":"$ROOT/workflow.yaml","task":"temp_filter"}`
	all := `{"uri":"$ROOT/workflow.yaml"}`
	forFilter := []string{
		"source.pelato.gen pelato: Generate task temp_filter -> pelato.gen " + gen,
		"source.pelato.build pelato: Build task temp_filter -> pelato.build " + gen,
		"source.pelato.push pelato: Push task temp_filter -> pelato.push " + gen,
		"source.pelato.deploy pelato: Deploy task temp_filter -> pelato.deploy " + gen,
		"source.pelato.remove pelato: Remove task temp_filter -> pelato.remove " + gen,
		"source.pelato.brush pelato: Brush task temp_filter -> pelato.brush " + gen,
		"source.pelato.invoke pelato: Invoke task temp_filter… -> pelato.invoke " + gen,
	}
	whole := []string{
		"source.pelato.gen pelato: Generate all tasks -> pelato.gen " + all,
		"source.pelato.build pelato: Build all tasks -> pelato.build " + all,
		"source.pelato.push pelato: Push all tasks -> pelato.push " + all,
		"source.pelato.deploy pelato: Deploy all tasks -> pelato.deploy " + all,
		"source.pelato.remove pelato: Remove all tasks -> pelato.remove " + all,
		"source.pelato.status pelato: Status of the workflow in the lattice -> pelato.status " + all,
		"source.pelato.brush pelato: Brush all tasks -> pelato.brush " + all,
		"source.pelato.check pelato: Check the workflow -> pelato.check " + all,
	}
	for _, tc := range []struct {
		name string
		path string
		line uint32
		only []protocol.CodeActionKind
		want []string
	}{
		{"workflow, on a task's key", wf, lineOf(t, text, "component_name: temp_filter"), nil, append(slices.Clone(forFilter), whole...)},
		{"workflow, on a task's first line", wf, lineOf(t, text, "- name: Data filter"), nil, append(slices.Clone(forFilter), whole...)},
		{"workflow, outside any task", wf, lineOf(t, text, "project_name"), nil, whole},
		{"task file, first line", task, 0, nil, append(slices.Clone(forFilter), whole...)},
		{"task file, only source", task, 3, []protocol.CodeActionKind{protocol.CodeActionKindSource}, append(slices.Clone(forFilter), whole...)},
		{"only source.pelato", wf, lineOf(t, text, "temp_filter"), []protocol.CodeActionKind{SourceKind}, append(slices.Clone(forFilter), whole...)},
		{"only source.pelato.gen", wf, lineOf(t, text, "temp_filter"), []protocol.CodeActionKind{"source.pelato.gen"}, []string{forFilter[0], whole[0]}},
		{"only quickfix", wf, lineOf(t, text, "temp_filter"), []protocol.CodeActionKind{protocol.CodeActionKindQuickFix}, nil},
		{"only another source kind", task, 0, []protocol.CodeActionKind{protocol.CodeActionKindSourceOrganizeImports}, nil},
		{"only a kind below a command's", wf, lineOf(t, text, "temp_filter"), []protocol.CodeActionKind{"source.pelato.gen.more"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := describe(t, c.actionsAt(tc.path, tc.line, 2, tc.only...), root)
			if !slices.Equal(got, tc.want) {
				t.Errorf("actions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}

	// A task file no task uses gets the whole workflow only.
	other := filepath.Join(root, "tasks", "unused.go")
	write(t, other, "package main\n\nfunc exec_task(arg string) string { return arg }\n")
	if got := describe(t, c.actionsAt(other, 0, 0), root); !slices.Equal(got, whole) {
		t.Errorf("unused task file: %q, want the whole workflow only", got)
	}
}

// TestSourceActionsQuickFixesFirst: on a line with a diagnostic, its quick fixes
// come before the source actions, and context.only "source" drops them.
func TestSourceActionsQuickFixesFirst(t *testing.T) {
	c, root, _ := openProject(t, fullCaps(), "", brokenWorkflow)
	wf := workflowPath(root)
	line := lineOf(t, brokenWorkflow, "taregts")
	acts := c.actionsAt(wf, line, 5)
	if len(acts) == 0 || *acts[0].Kind != protocol.CodeActionKindQuickFix {
		t.Fatalf("first action is not a quick fix: %q", describe(t, acts, root))
	}
	seenSource := false
	for _, a := range acts {
		isSource := strings.HasPrefix(string(*a.Kind), string(SourceKind)+".")
		if seenSource && !isSource {
			t.Errorf("quick fix %q after a source action", a.Title)
		}
		seenSource = seenSource || isSource
	}
	if !seenSource {
		t.Error("no source action next to the quick fixes")
	}
	for _, a := range c.actionsAt(wf, line, 5, protocol.CodeActionKindSource) {
		if *a.Kind == protocol.CodeActionKindQuickFix {
			t.Errorf("only=source returned the quick fix %q", a.Title)
		}
	}
}

// TestSourceActionsFolderTask: every Go file of a task folder offers that task.
func TestSourceActionsFolderTask(t *testing.T) {
	root := copyProject(t, "temperature")
	wf := workflowPath(root)
	text := strings.Replace(read(t, wf), "code: filter.go", "code: filter", 1)
	write(t, wf, text)
	if err := os.Remove(filepath.Join(root, "tasks", "filter.go")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "tasks", "filter", "main.go"), "package main\n\nfunc exec_task(arg string) string { return arg }\n")
	write(t, filepath.Join(root, "tasks", "filter", "sub", "help.go"), "package sub\n")
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", root)
	for _, f := range []string{"main.go", "sub/help.go"} {
		got := describe(t, c.actionsAt(filepath.Join(root, "tasks", "filter", f), 0, 0, "source.pelato.gen"), root)
		want := []string{
			`source.pelato.gen pelato: Generate task temp_filter -> pelato.gen {"uri":"$ROOT/workflow.yaml","task":"temp_filter"}`,
			`source.pelato.gen pelato: Generate all tasks -> pelato.gen {"uri":"$ROOT/workflow.yaml"}`,
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", f, got, want)
		}
	}
}

// TestSourceActionRuns executes a source action's command as an editor would:
// Generate for the task of a task file writes that task's gen/ folder.
func TestSourceActionRuns(t *testing.T) {
	c, root, _ := openProject(t, fullCaps(), "", "")
	acts := c.actionsAt(filepath.Join(root, "tasks", "convert.go"), 2, 0, "source.pelato.gen")
	if len(acts) != 2 {
		t.Fatalf("actions: %q", describe(t, acts, root))
	}
	var res json.RawMessage
	if err := c.call(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{
		Command: acts[0].Command.Command, Arguments: acts[0].Command.Arguments,
	}, &res); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "gen", "celsius_to_kelvin_conversion", "wadm.yaml")); err != nil {
		t.Errorf("the Generate action did not generate the task: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "gen", "temp_filter")); err == nil {
		t.Error("the Generate action of one task generated another")
	}
}

// TestNewCommandOffered: a command registered in the table (as the build, push,
// deploy … commands are) is offered as source actions and code lenses with no
// other change, with its flags honoured; running the action runs it with the
// task's arguments.
func TestNewCommandOffered(t *testing.T) {
	var mu sync.Mutex
	var ran []CommandArgs
	run := func(ctx context.Context, raw json.RawMessage, _ pipeline.Reporter) (any, error) {
		a, err := parseArgs(raw, true)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		ran = append(ran, a)
		mu.Unlock()
		return "ok", nil
	}
	root := copyProject(t, "temperature")
	c := newClient(t, clientOptions{setup: func(s *Server) {
		s.RegisterCommand("pelato.deploy", Command{Title: "pelato: Deploy", Run: run})
		s.RegisterCommand("pelato.frobnicate", Command{Title: "pelato: Frobnicate", Run: run, NoLens: true})
		s.RegisterCommand("pelato.helper", Command{Title: "pelato: Helper", Run: run, Silent: true})
	}})
	init := c.initialize(fullCaps(), "", root)
	for _, k := range []string{`"source.pelato.deploy"`, `"source.pelato.frobnicate"`, `"pelato.deploy"`} {
		if !contains(init, k) {
			t.Errorf("initialize result lacks %s", k)
		}
	}
	if contains(init, `"source.pelato.helper"`) {
		t.Error("a silent command is announced as a code action kind")
	}
	wf := workflowPath(root)
	text := read(t, wf)
	acts := c.actionsAt(wf, lineOf(t, text, "temp_filter"), 2, SourceKind)
	got := describe(t, acts, root)
	args := `{"uri":"$ROOT/workflow.yaml","task":"temp_filter"}`
	all := `{"uri":"$ROOT/workflow.yaml"}`
	for _, want := range []string{
		"source.pelato.deploy pelato: Deploy task temp_filter -> pelato.deploy " + args,
		"source.pelato.deploy pelato: Deploy all tasks -> pelato.deploy " + all,
		"source.pelato.frobnicate pelato: Frobnicate task temp_filter -> pelato.frobnicate " + args,
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no action %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
	// The order: known verbs in pipeline order, then others by name.
	idx := func(prefix string) int {
		return slices.IndexFunc(got, func(s string) bool { return strings.HasPrefix(s, prefix) })
	}
	if !(idx("source.pelato.gen") < idx("source.pelato.deploy") && idx("source.pelato.deploy") < idx("source.pelato.invoke") && idx("source.pelato.invoke") < idx("source.pelato.frobnicate")) {
		t.Errorf("actions out of order:\n%s", strings.Join(got, "\n"))
	}
	for _, g := range got {
		if strings.Contains(g, "helper") {
			t.Errorf("silent command offered: %s", g)
		}
	}

	// Lenses: Deploy on the file and on each task; Frobnicate (NoLens) nowhere.
	raw := c.mustCall(protocol.MethodTextDocumentCodeLens, &protocol.CodeLensParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileURI(wf)}})
	var lenses []protocol.CodeLens
	if err := json.Unmarshal(raw, &lenses); err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, l := range lenses {
		titles = append(titles, l.Command.Title+" "+l.Command.Command+" "+strings.ReplaceAll(string(l.Command.Arguments[0]), string(fileURI(root)), "$ROOT"))
	}
	for _, want := range []string{"Deploy all pelato.deploy " + all, "Deploy pelato.deploy " + args} {
		if !slices.Contains(titles, want) {
			t.Errorf("no lens %q in\n%s", want, strings.Join(titles, "\n"))
		}
	}
	for _, l := range titles {
		if strings.Contains(l, "frobnicate") || strings.Contains(l, "helper") {
			t.Errorf("lens for a NoLens or silent command: %s", l)
		}
	}

	// Running the action runs the command with the task's arguments.
	for _, a := range acts {
		if a.Title == "pelato: Deploy task temp_filter" {
			if err := c.call(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: a.Command.Command, Arguments: a.Command.Arguments}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ran) != 1 || ran[0].Task != "temp_filter" || ran[0].URI != string(fileURI(wf)) {
		t.Errorf("the deploy command ran with %+v", ran)
	}
}

func TestKindWanted(t *testing.T) {
	for _, tc := range []struct {
		only []protocol.CodeActionKind
		kind protocol.CodeActionKind
		want bool
	}{
		{nil, "source.pelato.gen", true},
		{[]protocol.CodeActionKind{"source"}, "source.pelato.gen", true},
		{[]protocol.CodeActionKind{"source.pelato"}, "source.pelato.gen", true},
		{[]protocol.CodeActionKind{"source.pelato.gen"}, "source.pelato.gen", true},
		{[]protocol.CodeActionKind{"source.pel"}, "source.pelato.gen", false},
		{[]protocol.CodeActionKind{"quickfix"}, "source.pelato.gen", false},
		{[]protocol.CodeActionKind{"quickfix", "source.pelato.deploy"}, "source.pelato.deploy", true},
		{[]protocol.CodeActionKind{""}, "quickfix", false},
		{[]protocol.CodeActionKind{"quickfix"}, "quickfix", true},
	} {
		if got := kindWanted(tc.only, tc.kind); got != tc.want {
			t.Errorf("kindWanted(%q, %q) = %v, want %v", tc.only, tc.kind, got, tc.want)
		}
	}
}
