package lsp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/hostile"
)

// Bounds the language server keeps against a hostile project (docs/PERFORMANCE.md).
// Times carry a margin for a loaded machine: they guard against hangs and blow-ups;
// the benchmarks measure.
const (
	lspFileTime   = 3 * time.Second // documented: a diagnostic within 1 s
	lspFileMemory = 100 << 20       // peak heap above the baseline
	lspBigTime    = 8 * time.Second // 10 000 tasks: documented under 2 s for check
	lspBigMemory  = 300 << 20       // documented: RSS under 300 MB
	lspBigPayload = 5 << 20         // bytes of one file's diagnostics
)

// lspAttack is one hostile project opened in the language server.
type lspAttack struct {
	name  string
	build func(t *testing.T, dir string)
	file  string // the file whose diagnostics answer the attack, relative to the project
	code  string // a diagnostic code that must be among them
	says  string // a substring of that diagnostic's message
	count int    // when set, how many diagnostics of code there must be
	big   bool
}

func hostileFile(kind, rel string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if err := hostile.MakeFile(filepath.Join(dir, rel), kind); err != nil {
			t.Skipf("cannot make a %s here: %v", kind, err)
		}
	}
}

func hostileProject(shape hostile.Shape) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		os.RemoveAll(filepath.Join(dir, "tasks"))
		if _, err := hostile.Project(dir, shape, 10000); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLSPHostileProjects opens each hostile project as a workspace folder: the
// server must publish the diagnostic that names the file and the problem within its
// time bound, hold no more heap than its memory bound, keep the payload bounded, and
// still stop when asked (the harness checks exit at the end of each case).
func TestLSPHostileProjects(t *testing.T) {
	for _, a := range []lspAttack{
		{name: "workflow.yaml is a FIFO", build: hostileFile(hostile.FIFO, "workflow.yaml"), file: "workflow.yaml", code: "PL010", says: "workflow.yaml is a named pipe (FIFO), not a regular file"},
		{name: "workflow.yaml links to /dev/zero", build: hostileFile(hostile.DevZero, "workflow.yaml"), file: "workflow.yaml", code: "PL010", says: "symbolic link to /dev/zero, a character device"},
		{name: "workflow.yaml is 8 GiB", build: hostileFile(hostile.HugeSparse, "workflow.yaml"), file: "workflow.yaml", code: "PL006", says: "is 8 GiB; pelato reads at most 2 MiB"},
		{name: "task file is a FIFO", build: hostileFile(hostile.FIFO, "tasks/filter.go"), file: "tasks/filter.go", code: "PL411", says: "it is a named pipe (FIFO)"},
		{name: "task file links to /dev/zero", build: hostileFile(hostile.DevZero, "tasks/filter.go"), file: "workflow.yaml", code: "PL203", says: "symbolic link that leads out of tasks/"},
		{name: "task file is 8 GiB", build: hostileFile(hostile.HugeSparse, "tasks/filter.go"), file: "tasks/filter.go", code: "PL411", says: "too large to check"},
		{name: "10 000-task ring", build: hostileProject(hostile.Ring), file: "workflow.yaml", code: "PL302", says: "… (9992 more) → c0 form a cycle", count: 1, big: true},
		{name: "10 000 tasks on one wildcard", build: hostileProject(hostile.Wildcard), file: "workflow.yaml", code: "PL302", says: "(10000 tasks in all feed each other", count: 1, big: true},
		{name: "10 000 missing code files", build: hostileProject(hostile.MissingCode), file: "workflow.yaml", code: "PL202", says: "tasks/missing_9999.go` does not exist", count: 10000, big: true},
	} {
		t.Run(a.name, func(t *testing.T) {
			dir := copyProject(t, "temperature")
			a.build(t, dir)
			c := newClient(t, clientOptions{})
			path := filepath.Join(dir, filepath.FromSlash(a.file))
			var got *protocol.PublishDiagnosticsParams
			var payload int
			u := hostile.Measure(func() {
				c.initialize(fullCaps(), "", dir)
				got = c.diagnostics(path, func(p *protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) > 0 })
			})
			for _, m := range c.messages() {
				if m.method == protocol.MethodTextDocumentPublishDiagnostics {
					payload = max(payload, len(m.params))
				}
			}
			timeBound, memBound, payloadBound := lspFileTime, uint64(lspFileMemory), 64<<10
			if a.big {
				timeBound, memBound, payloadBound = lspBigTime, lspBigMemory, lspBigPayload
			}
			if u.Took > timeBound || u.PeakHeap > memBound || payload > payloadBound {
				t.Errorf("cost %s with a payload of %d bytes; bounds: %v, %d MB, %d bytes", u, payload, timeBound, memBound>>20, payloadBound)
			}
			n, found := 0, false
			for _, d := range got.Diagnostics {
				if d.Code == protocol.String(a.code) {
					n++
					msg, _ := d.Message.(protocol.String)
					found = found || strings.Contains(string(msg), a.says)
				}
			}
			if !found || (a.count > 0 && n != a.count) {
				b, _ := json.Marshal(got.Diagnostics[:min(3, len(got.Diagnostics))])
				t.Errorf("want %d×%s saying %q, got %d of %d diagnostics: %s", a.count, a.code, a.says, n, len(got.Diagnostics), b)
			}
			t.Logf("%s, largest payload %d bytes", u, payload)
		})
	}
}

// pelato.createFile and the create-file quick fix refuse a path that a symbolic link
// inside tasks/ leads out of the project.
func TestCreateFileRefusesLinksOut(t *testing.T) {
	dir := copyProject(t, "temperature")
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "tasks", "shared")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "victim.go"), filepath.Join(dir, "tasks", "dangling.go")); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", dir)
	for _, rel := range []string{"tasks/shared/new.go", "tasks/dangling.go"} {
		args := `{"uri":"` + string(fileURI(filepath.Join(dir, rel))) + `","content":"package main\n"}`
		err := c.call(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: CmdCreateFile, Arguments: []protocol.LSPAny{protocol.LSPAny(args)}}, nil)
		if err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("%s: want a refusal naming the link, got %v", rel, err)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("files were written outside the project: %v", entries)
	}

	// The quick fix for a missing task file under the link is offered disabled.
	wf := filepath.Join(dir, "workflow.yaml")
	b, _ := os.ReadFile(wf)
	text := strings.Replace(string(b), "code: filter.go", "code: shared/new.go", 1)
	c.open(wf, text, 1)
	diags := c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool {
		for _, d := range p.Diagnostics {
			if d.Code == protocol.String("PL202") {
				return true
			}
		}
		return false
	})
	var missing protocol.Diagnostic
	for _, d := range diags.Diagnostics {
		if d.Code == protocol.String("PL202") {
			missing = d
		}
	}
	var actions []protocol.CodeAction
	raw := c.mustCall(protocol.MethodTextDocumentCodeAction, &protocol.CodeActionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: fileURI(wf)}, Range: missing.Range,
		Context: protocol.CodeActionContext{Diagnostics: []protocol.Diagnostic{missing}}})
	if err := protocol.Unmarshal(raw, &actions); err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, a := range actions {
		if strings.HasPrefix(a.Title, "Create tasks/shared/new.go") {
			seen = true
			if a.Disabled.Reason == "" || a.Edit != nil || a.Command.Command != "" {
				t.Errorf("the create-file fix through a link out must be disabled, got %+v", a)
			}
		}
	}
	if !seen {
		t.Errorf("no create-file action among %d", len(actions))
	}
}

// A .env that is not a regular file (a link to /dev/zero, a FIFO) is refused at once
// when a command reads the settings: the command fails naming it, the server lives.
func TestLSPSettingsFileHostile(t *testing.T) {
	for _, kind := range []string{hostile.DevZero, hostile.FIFO, hostile.HugeSparse} {
		t.Run(kind, func(t *testing.T) {
			dir := copyProject(t, "temperature")
			hostileFile(kind, ".env")(t, dir)
			c := newClient(t, clientOptions{})
			c.initialize(fullCaps(), "", dir)
			args := `{"uri":"` + string(fileURI(filepath.Join(dir, "workflow.yaml"))) + `"}`
			var err error
			u := hostile.Measure(func() {
				err = c.call(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: CmdGen, Arguments: []protocol.LSPAny{protocol.LSPAny(args)}}, nil)
			})
			if err == nil || !strings.Contains(err.Error(), ".env") {
				t.Errorf("want pelato.gen to fail naming .env, got %v", err)
			}
			if u.Took > lspFileTime || u.PeakHeap > lspFileMemory {
				t.Errorf("cost %s", u)
			}
			c.mustCall(protocol.MethodTextDocumentDocumentSymbol, &protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileURI(filepath.Join(dir, "workflow.yaml"))}})
		})
	}
}
