package lsp

import (
	"path/filepath"
	"sync"

	"github.com/pelato-dev/pelato/internal/check"
)

// taskChecker holds the server's one long-lived checker of task Go code: its import
// cache and memo survive from one check to the next, which keeps re-checks of an
// edited task file fast. It also keeps one check.Session per project, so a re-check
// after an edit re-parses only the task entry the edit touched, re-runs the per-task
// rules of that task only, and reads again only the task files that changed.
type taskChecker struct {
	c *check.TaskChecker

	mu       sync.Mutex
	mode     check.FileMode            // how sessions read task files again
	sessions map[string]*check.Session // by project folder
}

// newTaskChecker returns the server's task checker. Its sessions stat the task files
// on each check until the client reports file changes (watching).
func newTaskChecker() *taskChecker {
	return &taskChecker{c: check.NewTaskChecker(check.TaskCheckerOptions{}), mode: check.FilesStat, sessions: map[string]*check.Session{}}
}

// configure makes a project check use the task checker and the project's session.
func (t *taskChecker) configure(opts *check.Options) {
	opts.Tasks = t.c
	opts.Session = t.session(opts.Root)
}

// session returns the session of the project at root, made on first use.
func (t *taskChecker) session(root string) *check.Session {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.sessions[root]
	if s == nil {
		s = check.NewSession(t.mode)
		t.sessions[root] = s
	}
	return s
}

// watching records that the client now reports changes of task files
// (workspace/didChangeWatchedFiles is registered): sessions made from now on trust
// the files they read until told otherwise (check.FilesNotified). The sessions made
// before are dropped, with what they read before the watch began.
func (t *taskChecker) watching() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mode = check.FilesNotified
	t.sessions = map[string]*check.Session{}
}

// changed tells the sessions of the projects holding paths that those files (or
// folders) changed on disk.
func (t *taskChecker) changed(paths ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for root, s := range t.sessions {
		for _, p := range paths {
			if p == root || within(p, root) {
				s.Files().Changed(p)
			}
		}
	}
}

// forget drops the session of the project at root.
func (t *taskChecker) forget(root string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.sessions, filepath.Clean(root))
}

// attach makes an open workflow.yaml parse through its project's session, so that the
// features reading it (outline, hover, completion) re-parse an edit incrementally and
// share the parse of the check of the same text.
func (t *taskChecker) attach(d *Document) {
	if isWorkflowFile(d.Path) {
		d.parse = t.session(filepath.Dir(d.Path)).Parse
	}
}
