package lsp

import (
	"path/filepath"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/check"
)

// TestWatchedTaskFileEdited edits a task file on disk, not open in the editor (as a
// formatter or `git checkout` does): once the client reports it, the project's
// session (which trusts the task files it read, check.FilesNotified) reads it again
// and the diagnostics follow.
func TestWatchedTaskFileEdited(t *testing.T) {
	ws := t.TempDir()
	a := filepath.Join(ws, "a")
	copyDir(t, filepath.Join("..", "..", "examples", "temperature"), a)
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", ws)
	c.waitFor("watcher registration", func(m message) bool { return m.method == protocol.MethodClientRegisterCapability })
	deadline := time.Now().Add(time.Minute)
	for {
		c.srv.tasks.mu.Lock()
		mode := c.srv.tasks.mode
		c.srv.tasks.mu.Unlock()
		if mode == check.FilesNotified {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sessions never trusted the watched files")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.diagnostics(workflowPath(a), nil)
	c.mustCall(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: CmdCheck}) // the files are read and cached
	task := filepath.Join(a, "tasks", "convert.go")
	src := read(t, task)
	event := func() {
		c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, &protocol.DidChangeWatchedFilesParams{
			Changes: []protocol.FileEvent{{URI: fileURI(task), Type: protocol.FileChangeTypeChanged}}})
	}
	write(t, task, src+"\nvar _ int = \"not a number\"\n")
	event()
	c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return hasCode(p, "PL402") })
	write(t, task, src)
	event()
	c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) == 0 })
}
