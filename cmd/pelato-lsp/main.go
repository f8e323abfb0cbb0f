// Command pelato-lsp is pelato's language server. It speaks the Language Server
// Protocol over stdin and stdout (editors start it as `pelato-lsp` or `pelato-lsp
// --stdio`); its log goes to the editor as window/logMessage (each line with the
// message type of its level) and to --logfile, never to stdout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/pelato-dev/pelato/internal/buildinfo"
	"github.com/pelato-dev/pelato/internal/lsp"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; without it the
// module version and revision recorded by the Go toolchain are used.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usage is the text of pelato-lsp --help, before the flags.
const usage = `pelato-lsp is pelato's language server: diagnostics, completion, hover, navigation,
quick fixes and pipeline commands for workflow.yaml and the task files of pelato
projects. Editors start it and speak the Language Server Protocol over its stdin and
stdout; it is also 'pelato lsp'. Editor configuration: editors/ in pelato's repository.

Usage: pelato-lsp [flags]

Flags:
`

// run parses the flags and serves; it returns the process exit code: 0 after an
// orderly shutdown (and for --help and --version), 1 when the connection ended
// otherwise, 2 for bad flags.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pelato-lsp", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run reports parse errors itself
	fs.Usage = func() {}
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, usage)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	logFile := fs.String("logfile", "", "also append the server's log to this file (it goes to the editor as window/logMessage; without a file, stderr gets only warnings no editor can receive)")
	logLevel := fs.String("loglevel", "info", "log level: debug, info, warn or error")
	showVersion := fs.Bool("version", false, "print the version and exit")
	_ = fs.Bool("stdio", true, "serve over stdin and stdout (the only transport; accepted for editors that pass it)")
	maxMessage := fs.String("max-message-size", "64MiB", "largest message read from the client (bytes, or with K/M/G); larger ones are refused")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			// Asked for: the help goes to stdout and is not an error.
			printUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "pelato-lsp: %v\nRun 'pelato-lsp --help' for usage.\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pelato-lsp: unexpected argument %q\nRun 'pelato-lsp --help' for usage.\n", fs.Arg(0))
		return 2
	}
	info := buildinfo.Read(version)
	limit, err := lsp.ParseSize(*maxMessage)
	if err != nil {
		fmt.Fprintln(stderr, "pelato-lsp: --max-message-size:", err)
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "pelato-lsp", info)
		return 0
	}
	code, err := lsp.ServeStdio(ctx, lsp.StdioOptions{In: stdin, Out: stdout, Log: stderr, LogFile: *logFile, LogLevel: *logLevel, Version: info.Version, MaxMessage: limit})
	if err != nil {
		fmt.Fprintln(stderr, "pelato-lsp:", err)
	}
	return code
}
