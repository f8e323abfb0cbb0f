// Command pelato checks, generates, builds, deploys and runs pelato workflows: Go
// functions that become WebAssembly components on wasmCloud. It is a thin front end:
// flags go in, internal packages do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/pelato-dev/pelato/internal/termsafe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK       = 0
	exitProblems = 1 // the command ran and found errors (or a task failed)
	exitUsage    = 2 // the project cannot be read or the arguments are wrong
)

// exitError carries an exit code through cobra.
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

// run executes the CLI with args and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	// Errors quote paths, names and tool output from the project: control
	// characters in them are escaped, so that printing cannot drive the terminal.
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "pelato:", termsafe.Text(ee.err.Error()))
		}
		return ee.code
	}
	// cobra's own errors: unknown command, bad flag, wrong argument count.
	fmt.Fprintln(stderr, "pelato:", termsafe.Text(err.Error()))
	fmt.Fprintln(stderr, "Run 'pelato --help' for usage.")
	return exitUsage
}
