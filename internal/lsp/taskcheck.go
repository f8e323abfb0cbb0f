package lsp

import (
	"github.com/pelato-dev/pelato/internal/check"
)

// taskChecker holds the server's one long-lived checker of task Go code: its import
// cache and memo survive from one check to the next, which keeps re-checks of an
// edited task file fast.
type taskChecker struct {
	c *check.TaskChecker
}

// newTaskChecker returns the server's task checker.
func newTaskChecker() *taskChecker {
	return &taskChecker{c: check.NewTaskChecker(check.TaskCheckerOptions{})}
}

// configure makes a project check use the task checker.
func (t *taskChecker) configure(opts *check.Options) {
	opts.Tasks = t.c
}
