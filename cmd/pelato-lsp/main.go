// Command pelato-lsp is pelato's language server. It speaks the Language Server
// Protocol over stdin and stdout (editors start it as `pelato-lsp` or `pelato-lsp
// --stdio`); its log goes to stderr or to --logfile, never to stdout.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"

	"github.com/pelato-dev/pelato/internal/lsp"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the flags and serves; it returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pelato-lsp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logFile := fs.String("logfile", "", "append the server's log to this file instead of stderr")
	logLevel := fs.String("loglevel", "info", "log level: debug, info, warn or error")
	showVersion := fs.Bool("version", false, "print the version and exit")
	_ = fs.Bool("stdio", true, "serve over stdin and stdout (the only transport; accepted for editors that pass it)")
	maxMessage := fs.String("max-message-size", "64MiB", "largest message read from the client (bytes, or with K/M/G); larger ones are refused")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	limit, err := lsp.ParseSize(*maxMessage)
	if err != nil {
		fmt.Fprintln(stderr, "pelato-lsp: --max-message-size:", err)
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "pelato-lsp", buildVersion())
		return 0
	}
	code, err := lsp.ServeStdio(ctx, lsp.StdioOptions{In: stdin, Out: stdout, Log: stderr, LogFile: *logFile, LogLevel: *logLevel, Version: buildVersion(), MaxMessage: limit})
	if err != nil {
		fmt.Fprintln(stderr, "pelato-lsp:", err)
	}
	return code
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
