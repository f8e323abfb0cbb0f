// Command pelato checks, generates and runs pelato workflows: Go functions that become
// WebAssembly components on wasmCloud. It is a thin front end: flags go in, internal
// packages do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/pelato-dev/pelato/internal/termsafe"
	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// newCLI returns the root command with every command added and prepared: errors of
// the commands classified for the exit-code table, task arguments completed.
func newCLI(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := newRoot(stdin, stdout, stderr)
	prepare(root)
	return root
}

// run executes the CLI with args and returns the process exit code (see exitCodes).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newCLI(stdin, stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ran *runError
	if !errors.As(err, &ran) {
		// cobra's own errors: unknown command, bad flag, wrong number of arguments.
		fmt.Fprintln(stderr, "pelato:", termsafe.Text(err.Error()))
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	code, shown := exitCodeOf(ran.err)
	if shown != nil {
		fmt.Fprintln(stderr, "pelato:", termsafe.Text(shown.Error()))
	}
	return code
}
