package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pelato-dev/pelato/internal/pipeline"
	"github.com/pelato-dev/pelato/internal/wasmrun"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/spf13/cobra"
)

// Exit codes: every command follows exitCodes.
const (
	exitOK       = 0
	exitProblems = 1
	exitUsage    = 2
)

// exitCodes is pelato's one table of exit statuses. README.md ("Exit codes") shows it
// and `pelato help exit-codes` prints it; tests keep both in step with it and check
// every command against it.
var exitCodes = []struct {
	Code    int
	Meaning string
}{
	{exitOK, "success: the command did what was asked (for check: no errors; warnings and hints do not fail it)"},
	{exitProblems, "the command ran and found problems: the project has errors, a task failed or panicked, a component could not be written"},
	{exitUsage, "usage or configuration error: a bad flag or argument, no project (no workflow.yaml in the folder or above it), a bad setting, a missing tool such as go"},
}

// checksProject is the annotation of a command that checks the project before doing
// anything else and exits 1 when it has errors; the exit-code tests hold every command
// so annotated to that.
var checksProject = map[string]string{"pelato:checks-project": "true"}

// jsonLines is the annotation (value "true") of a command whose --format json writes
// an event stream, one JSON document a line, rather than one document.
const jsonLines = "pelato:json-lines"

// checksProjectJSONLines annotates a command that checks the project first and
// streams JSON lines.
var checksProjectJSONLines = map[string]string{"pelato:checks-project": "true", jsonLines: "true"}

// exitError carries an exit code and an optional message through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageError marks an error as exit code 2.
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// runError marks an error returned by a command's RunE (as opposed to cobra's own
// errors about flags and arguments, which are usage errors).
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// exitCodeOf classifies an error a command returned: its exit code, and the error to
// print (nil when the command already said everything). Errors the commands did not
// classify themselves follow the table: no project, a missing go command and bad
// settings are usage errors (2); anything else means the command ran and failed (1).
func exitCodeOf(err error) (int, error) {
	var ee *exitError
	var cf *pipeline.CheckFailedError
	switch {
	case errors.As(err, &ee):
		return ee.code, ee.err
	case errors.As(err, &cf):
		return exitProblems, err
	case errors.Is(err, workflow.ErrNoProject), errors.Is(err, wasmrun.ErrGoNotFound):
		return exitUsage, err
	case errors.Is(err, context.Canceled):
		return exitProblems, errors.New("interrupted")
	}
	return exitProblems, err
}

// exitCodesHelp is the text of `pelato help exit-codes`.
func exitCodesHelp() string {
	var b strings.Builder
	b.WriteString("Every pelato command exits with one of these statuses:\n\n")
	for _, c := range exitCodes {
		fmt.Fprintf(&b, "  %d  %s\n", c.Code, c.Meaning)
	}
	return b.String()
}

// exitCodesTopic is the help topic `pelato help exit-codes`.
func exitCodesTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "What pelato's exit statuses mean",
		Long:  exitCodesHelp(),
	}
}

// prepare finishes the command tree: every command's errors are marked as coming from
// its run (so exitCodeOf classifies them), and task and topic arguments get completion. It is
// generic, so commands added later get the same treatment.
func prepare(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if run := c.RunE; run != nil {
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if err := run(cmd, args); err != nil {
					return &runError{err}
				}
				return nil
			}
		}
		completeTaskArgs(c)
		completeTopics(c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
