package lsp

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/span"
)

// emojiWorkflow has an emoji (a surrogate pair plus a variation selector) and a
// combining accent before a diagnostic on the same line.
const emojiWorkflow = "# pelato:ignore-file PL303,PL304\n" +
	"project_name: \"🌡️ Temp e\u0301\"\n" +
	"tasks:\n" +
	"  - {name: \"🌡️ e\u0301\", type: processor_nats, code: filter.go, targets: [edge], source_topic: in, dest_topic: out, component_name: Up, version: 1.0.0}\n"

// column returns the column of the first needle in text counted in enc, and its line.
func column(t *testing.T, text, needle string, enc span.Encoding) (uint32, uint32) {
	t.Helper()
	i := strings.Index(text, needle)
	if i < 0 {
		t.Fatalf("%q not found", needle)
	}
	line, col := span.NewMapper([]byte(text)).Position(i, enc)
	return uint32(line), uint32(col)
}

// partial is an incremental change of the text between two positions.
func partial(sl, sc, el, ec uint32, text string) protocol.TextDocumentContentChangeEvent {
	return &protocol.TextDocumentContentChangePartial{Range: protocol.Range{
		Start: protocol.Position{Line: sl, Character: sc}, End: protocol.Position{Line: el, Character: ec}}, Text: text}
}

func testIncremental(t *testing.T, enc span.Encoding, encodings []protocol.PositionEncodingKind, want protocol.PositionEncodingKind) {
	root := copyProject(t, "temperature")
	c := newClient(t, clientOptions{})
	caps := fullCaps()
	caps.General = &protocol.GeneralClientCapabilities{PositionEncodings: encodings}
	res := c.initialize(caps, "", root)
	if !strings.Contains(string(res), `"positionEncoding":"`+string(want)+`"`) {
		t.Fatalf("initialize did not choose %s: %s", want, res)
	}
	wf := workflowPath(root)
	text := emojiWorkflow
	c.open(wf, text, 1)
	check := func(v int32) {
		t.Helper()
		d := c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == v })
		if got := string(c.srv.snapshot().Doc(wf).Content); got != text {
			t.Fatalf("v%d: server text\n%q\nwant\n%q", v, got, text)
		}
		line, col := column(t, text, "Up,", enc)
		for _, x := range d.Diagnostics {
			if fmt.Sprint(x.Code) == "PL215" {
				r := x.Range
				if r.Start.Line != line || r.Start.Character != col || r.End.Character != col+2 {
					t.Fatalf("v%d: PL215 at %+v, want line %d columns %d-%d", v, r, line, col, col+2)
				}
				return
			}
		}
		t.Fatalf("v%d: no PL215 in %+v", v, d.Diagnostics)
	}
	check(1)

	change := func(v int32, changes ...protocol.TextDocumentContentChangeEvent) {
		c.notify(protocol.MethodTextDocumentDidChange, &protocol.DidChangeTextDocumentParams{
			TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: fileURI(wf)}, Version: v},
			ContentChanges: changes,
		})
	}
	// Replace "Temp" (after the emoji) with "Heat 🔥".
	l, col := column(t, text, "Temp", enc)
	change(2, partial(l, col, l, col+4, "Heat 🔥"))
	text = strings.Replace(text, "Temp", "Heat 🔥", 1)
	check(2)

	// Delete the emoji of line 3 and, in the same notification, insert after the
	// combining accent that follows it.
	l, col = column(t, text, "🌡️ e\u0301\",", enc)
	width := uint32(len("🌡️"))
	if enc == span.UTF16 {
		width = 3 // a surrogate pair and U+FE0F
	}
	text = strings.Replace(text, "🌡️ e\u0301\",", " e\u0301\",", 1)
	accentEnd := col + 1 + 2 // " e" + U+0301 (one unit in UTF-16, two bytes in UTF-8)
	if enc == span.UTF8 {
		accentEnd = col + 1 + 3
	}
	change(3, partial(l, col, l, col+width, ""), partial(l, accentEnd, l, accentEnd, "ñ"))
	text = strings.Replace(text, " e\u0301\",", " e\u0301ñ\",", 1)
	check(3)

	// A whole-document change after incremental ones.
	text = strings.Replace(text, "Heat 🔥", "🧊🧊", 1)
	change(4, &protocol.TextDocumentContentChangeWholeDocument{Text: text})
	check(4)
}

func TestIncrementalSyncUTF16(t *testing.T) {
	testIncremental(t, span.UTF16, nil, protocol.PositionEncodingKindUTF16)
}

func TestPositionEncodingUTF8(t *testing.T) {
	testIncremental(t, span.UTF8, []protocol.PositionEncodingKind{protocol.PositionEncodingKindUTF32, protocol.PositionEncodingKindUTF8, protocol.PositionEncodingKindUTF16}, protocol.PositionEncodingKindUTF8)
}

func TestStaleDiagnosticsDropped(t *testing.T) {
	root := copyProject(t, "temperature")
	wf := workflowPath(root)
	blocked, release := make(chan struct{}), make(chan struct{})
	c := newClient(t, clientOptions{setup: func(s *Server) {
		s.hooks.beforePublish = func(snap *Snapshot) {
			if d := snap.Doc(wf); d != nil && d.Version == 1 {
				close(blocked)
				<-release
			}
		}
	}})
	c.initialize(fullCaps(), "", root)
	c.open(wf, brokenWorkflow, 1)
	<-blocked // the check of version 1 is done and about to publish
	c.replace(wf, read(t, wf), 2)
	c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 2 })
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for c.srv.dropped.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if c.srv.dropped.Load() == 0 {
		t.Fatal("the result of version 1 was not dropped")
	}
	for _, v := range publishedVersions(t, c, wf) {
		if v == 1 {
			t.Fatal("diagnostics of version 1 were published after version 2")
		}
	}
}

// publishedVersions lists the versions of every publication of path's diagnostics.
func publishedVersions(t *testing.T, c *client, path string) []int32 {
	var out []int32
	for _, m := range c.messages() {
		if m.method != protocol.MethodTextDocumentPublishDiagnostics {
			continue
		}
		var p protocol.PublishDiagnosticsParams
		if err := protocol.Unmarshal(m.params, &p); err != nil {
			t.Fatal(err)
		}
		if p.URI == fileURI(path) {
			out = append(out, version(&p))
		}
	}
	return out
}

func TestClosedFileDiagnosticsCleared(t *testing.T) {
	root := copyProject(t, "temperature")
	wf := workflowPath(root)
	write(t, wf, "# pelato:ignore-file PL303,PL304\n"+read(t, wf)) // no diagnostics on disk
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", root)
	c.open(wf, brokenWorkflow, 1)
	c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 1 && len(p.Diagnostics) > 0 })
	c.notify(protocol.MethodTextDocumentDidClose, &protocol.DidCloseTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileURI(wf)}})
	c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == -1 && len(p.Diagnostics) == 0 })
}

func TestWatchedFiles(t *testing.T) {
	ws := t.TempDir()
	a := filepath.Join(ws, "a")
	copyDir(t, filepath.Join("..", "..", "examples", "temperature"), a)
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", ws)
	reg := c.waitFor("watcher registration", func(m message) bool { return m.method == protocol.MethodClientRegisterCapability })
	for _, glob := range []string{"**/workflow.yaml", "**/tasks/**/*.go", "**/go.mod"} {
		if !strings.Contains(string(reg.params), glob) {
			t.Errorf("registration lacks %s: %s", glob, reg.params)
		}
	}
	c.diagnostics(workflowPath(a), nil)

	event := func(path string, typ protocol.FileChangeType) {
		c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, &protocol.DidChangeWatchedFilesParams{
			Changes: []protocol.FileEvent{{URI: fileURI(path), Type: typ}}})
	}
	// A task file deleted on disk: the project is re-checked.
	if err := os.Remove(filepath.Join(a, "tasks", "convert.go")); err != nil {
		t.Fatal(err)
	}
	event(filepath.Join(a, "tasks", "convert.go"), protocol.FileChangeTypeDeleted)
	c.diagnostics(workflowPath(a), func(p *protocol.PublishDiagnosticsParams) bool { return hasCode(p, "PL202") })

	// A new project appears.
	b := filepath.Join(ws, "b")
	write(t, workflowPath(b), brokenWorkflow)
	event(workflowPath(b), protocol.FileChangeTypeCreated)
	c.diagnostics(workflowPath(b), func(p *protocol.PublishDiagnosticsParams) bool { return hasCode(p, "PL101") })

	// And goes away: its diagnostics are cleared.
	if err := os.Remove(workflowPath(b)); err != nil {
		t.Fatal(err)
	}
	event(workflowPath(b), protocol.FileChangeTypeDeleted)
	c.diagnostics(workflowPath(b), func(p *protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) == 0 })
}

func hasCode(p *protocol.PublishDiagnosticsParams, code string) bool {
	for _, d := range p.Diagnostics {
		if fmt.Sprint(d.Code) == code {
			return true
		}
	}
	return false
}

func TestMultiRoot(t *testing.T) {
	ws1, ws2 := t.TempDir(), t.TempDir()
	ex := filepath.Join("..", "..", "examples", "temperature")
	a, b, nested, c3 := filepath.Join(ws1, "a"), filepath.Join(ws1, "deep", "b"), filepath.Join(ws1, "a", "sub"), filepath.Join(ws2, "c")
	for _, d := range []string{a, b, c3, filepath.Join(ws1, "gen", "x"), filepath.Join(ws1, "node_modules", "y"), filepath.Join(ws1, ".git", "z")} {
		copyDir(t, ex, d)
	}
	write(t, workflowPath(nested), brokenWorkflow)
	write(t, filepath.Join(nested, "tasks", "missing.go"), "package main\n")
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", ws1, ws2)
	for _, root := range []string{a, b, c3} {
		c.diagnostics(workflowPath(root), func(p *protocol.PublishDiagnosticsParams) bool { return hasCode(p, "PL303") })
	}
	c.diagnostics(workflowPath(nested), func(p *protocol.PublishDiagnosticsParams) bool { return hasCode(p, "PL101") })
	want := []string{a, nested, b, c3}
	slices.Sort(want)
	if got := c.srv.snapshot().Roots(); !slices.Equal(got, want) {
		t.Fatalf("projects %v, want %v (gen/, node_modules/ and .git/ skipped)", got, want)
	}
	snap := c.srv.snapshot()
	for file, root := range map[string]string{
		filepath.Join(a, "tasks", "convert.go"):          a,
		filepath.Join(nested, "tasks", "missing.go"):     nested,
		filepath.Join(c3, "tasks", "filter.go"):          c3,
		filepath.Join(a, "workflow.yaml"):                a,
		filepath.Join(nested, "workflow.yaml"):           nested,
		filepath.Join(a, "sub", "tasks", "x", "y.go"):    nested,
		filepath.Join(ws1, "deep", "b", "tasks", "f.go"): b,
	} {
		if got, ok := snap.projectOf(file); !ok || got != root {
			t.Errorf("projectOf(%s) = %s, %v; want %s", file, got, ok, root)
		}
	}
	if _, ok := snap.projectOf(filepath.Join(a, "other.go")); ok {
		t.Error("a Go file outside tasks/ belongs to no project")
	}
}

func TestTaskFileDiagnostics(t *testing.T) {
	root := copyProject(t, "temperature")
	task := filepath.Join(root, "tasks", "filter.go")
	good := read(t, task)
	bad := strings.Replace(good, "return string(out)", "return 42", 1)
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", root)
	c.open(task, bad, 1)
	d := c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 1 && hasCode(p, "PL402") })
	w := c.diagnostics(workflowPath(root), func(p *protocol.PublishDiagnosticsParams) bool { return hasCode(p, "PL410") })
	// One Go error is one error: PL410 on the workflow's code: line is information
	// pointing at it, never a second error.
	for _, x := range w.Diagnostics {
		if fmt.Sprint(x.Code) == "PL410" && x.Severity != protocol.DiagnosticSeverityInformation {
			t.Errorf("PL410 published with severity %v, want information", x.Severity)
		}
		if x.Severity == protocol.DiagnosticSeverityError {
			t.Errorf("workflow.yaml has an error for the task file's Go errors: %+v", x)
		}
	}
	line, col := column(t, bad, "42", span.UTF16)
	found := false
	for _, x := range d.Diagnostics {
		found = found || (x.Range.Start.Line == line && x.Range.Start.Character == col)
	}
	if !found {
		t.Errorf("no diagnostic at %d:%d (the 42) in %+v", line, col, d.Diagnostics)
	}
	var suppress *protocol.CodeAction
	for _, a := range c.codeActions(task) {
		if strings.HasPrefix(a.Title, "Ignore PL402") {
			suppress = a
		}
	}
	if suppress == nil {
		t.Fatal("no suppression action on the task file")
	}
	edits, _ := textEdits(suppress, string(fileURI(task)))
	fixed := applyEdits(t, bad, edits)
	if !strings.Contains(fixed, "\t// pelato:ignore PL402\n\treturn 42") {
		t.Errorf("suppression comment not inserted above the line:\n%s", fixed)
	}
	// Closing the buffer returns to the file on disk, which has no errors: the task
	// file's diagnostics are cleared.
	c.notify(protocol.MethodTextDocumentDidClose, &protocol.DidCloseTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileURI(task)}})
	c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == -1 && len(p.Diagnostics) == 0 })
}

func TestCheckTasksOnSave(t *testing.T) {
	root := copyProject(t, "temperature")
	task := filepath.Join(root, "tasks", "filter.go")
	good := read(t, task)
	bad := strings.Replace(good, "return string(out)", "return 42", 1)
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), `{"checkTasksOn": "save"}`, root)
	c.open(task, good, 1)
	c.replace(task, bad, 2)
	c.mustCall(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: CmdCheck})
	for _, m := range c.messages() {
		if m.method == protocol.MethodTextDocumentPublishDiagnostics && contains(m.params, "PL402") {
			t.Fatal("an unsaved task buffer was checked with checkTasksOn: save")
		}
	}
	write(t, task, bad)
	c.notify(protocol.MethodTextDocumentDidSave, &protocol.DidSaveTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileURI(task)}})
	c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return hasCode(p, "PL402") })
}

func TestWorkspaceFoldersChange(t *testing.T) {
	ws1, ws2 := t.TempDir(), t.TempDir()
	ex := filepath.Join("..", "..", "examples", "temperature")
	a, b := filepath.Join(ws1, "a"), filepath.Join(ws2, "b")
	copyDir(t, ex, a)
	copyDir(t, ex, b)
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", ws1)
	c.diagnostics(workflowPath(a), func(p *protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) > 0 })
	folder := func(dir string) []protocol.WorkspaceFolder {
		return []protocol.WorkspaceFolder{{URI: fileURI(dir), Name: filepath.Base(dir)}}
	}
	c.notify(protocol.MethodWorkspaceDidChangeWorkspaceFolders, &protocol.DidChangeWorkspaceFoldersParams{
		Event: protocol.WorkspaceFoldersChangeEvent{Added: folder(ws2), Removed: folder(ws1)}})
	c.diagnostics(workflowPath(b), func(p *protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) > 0 })
	c.diagnostics(workflowPath(a), func(p *protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) == 0 })
	if got := c.srv.snapshot().Roots(); !slices.Equal(got, []string{b}) {
		t.Errorf("projects after the change: %v, want [%s]", got, b)
	}
}

// TestExecTaskNearMissQuickFix: `func Exec_task` gets a did-you-mean diagnostic and a
// preferred quick fix that renames it.
func TestExecTaskNearMissQuickFix(t *testing.T) {
	root := copyProject(t, "temperature")
	task := filepath.Join(root, "tasks", "filter.go")
	bad := strings.Replace(read(t, task), "func exec_task(", "func Exec_task(", 1)
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", root)
	c.open(task, bad, 1)
	c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool {
		for _, d := range p.Diagnostics {
			if fmt.Sprint(d.Code) == "PL404" && strings.Contains(fmt.Sprint(d.Message), "did you mean `Exec_task`") {
				return true
			}
		}
		return false
	})
	var rename *protocol.CodeAction
	for _, a := range c.codeActions(task) {
		if a.Title == "Rename Exec_task to exec_task" {
			rename = a
		}
	}
	if rename == nil || rename.IsPreferred == nil || !*rename.IsPreferred {
		t.Fatalf("no preferred rename quick fix: %+v", rename)
	}
	edits, _ := textEdits(rename, string(fileURI(task)))
	if fixed := applyEdits(t, bad, edits); !strings.Contains(fixed, "func exec_task(") || strings.Contains(fixed, "Exec_task") {
		t.Errorf("rename did not apply:\n%s", fixed)
	}
}
