package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pelato-dev/pelato/internal/pipeline"
	"github.com/pelato-dev/pelato/internal/termsafe"
	"github.com/pelato-dev/pelato/internal/wasmrun"
	"github.com/spf13/cobra"
)

// maxInvokeInput bounds the input read from standard input (`-`): a message body.
const maxInvokeInput = 64 << 20

func invokeCmd() *cobra.Command {
	var format, key, cacheDir string
	var verbose bool
	var limits limitFlags
	cmd := &cobra.Command{
		Use:         "invoke [dir] TASK [INPUT|-]",
		Annotations: checksProject,
		Short:       "Run one task once, locally, and print its result",
		Long: `invoke compiles a task with your Go toolchain to WebAssembly (WASI), runs it in an
embedded runtime and prints its result: no cluster, registry or Docker needed. TASK is a
component_name or a task name; INPUT is the message body ("-" reads standard input;
absent means empty). For a nats_to_nats-kv task INPUT is the template's JSON message
{"key": ..., "data": ...}, or give --key and the data; it prints the key and the value.
Compiled modules are cached by the hash of their inputs ('pelato cache' shows the
cache). The first run compiles Go's standard library for WebAssembly too, which takes
a while; invoke says so while it waits. A call that runs past --timeout, needs more
than --memory or recurses past --stack is stopped and reported (exit 1).`,
		Args: cobra.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			dirArg, task, input, err := invokeArgs(args)
			if err != nil {
				return usageError(err)
			}
			dir, err := projectDir(dirArg)
			if err != nil {
				return err
			}
			if input == "-" {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxInvokeInput+1))
				if err != nil {
					return usageError(fmt.Errorf("read input: %w", err))
				}
				if len(b) > maxInvokeInput {
					return usageError(fmt.Errorf("read input: standard input holds more than %d MiB; a message body is at most that", maxInvokeInput>>20))
				}
				input = string(b)
			}
			lim, err := limits.limits()
			if err != nil {
				return err
			}
			cacheLim, err := cacheLimits(dir)
			if err != nil {
				return err
			}
			// What the task prints, escaped a line at a time as pelato dev does.
			taskOut := termsafe.Lines(cmd.ErrOrStderr())
			opts := pipeline.InvokeOptions{Root: dir, Task: task, Input: input, CacheDir: cacheDir, CacheLimits: cacheLim, TaskOutput: taskOut, Limits: lim}
			if cmd.Flags().Changed("key") {
				opts.Key = &key
			}
			if verbose {
				opts.Reporter = &pipeline.TextReporter{W: cmd.ErrOrStderr(), Verbose: true}
			} else {
				// What a long first compile is doing, and nothing else.
				opts.Reporter = logsOnly{&pipeline.TextReporter{W: cmd.ErrOrStderr()}}
			}
			res, err := pipeline.Invoke(cmd.Context(), opts)
			taskOut.Flush()
			if err != nil {
				return invokeFailure(cmd, dir, err)
			}
			out := cmd.OutOrStdout()
			switch {
			case format == "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			case res.Kind == "kv":
				fmt.Fprintf(out, "key: %s\nvalue: %s\n", termsafe.Line(res.Key), termsafe.Line(res.Value))
			default:
				// Control characters escaped, line breaks kept; --format json gives
				// the exact bytes.
				text := termsafe.Text(res.Output)
				fmt.Fprint(out, text)
				if !strings.HasSuffix(text, "\n") {
					fmt.Fprintln(out)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "the key, for a nats_to_nats-kv task (INPUT is then the data)")
	cmd.Flags().StringVar(&cacheDir, "cache-dir", "", "cache of compiled modules (default: the user cache folder)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show compile and call timings")
	limits.register(cmd, "the call")
	formatFlag(cmd, &format, "text", "json")
	return cmd
}

// logsOnly passes on Log events only (warnings, errors and notices such as a long
// compile's), not the steps of the operation.
type logsOnly struct{ pipeline.Reporter }

// Event implements pipeline.Reporter.
func (l logsOnly) Event(e pipeline.Event) {
	if e.Kind == pipeline.Log {
		l.Reporter.Event(e)
	}
}

// invokeArgs splits [dir] TASK [INPUT]: with three arguments the first is the folder;
// with two, the first is the folder when it is an existing folder.
func invokeArgs(args []string) (dir []string, task, input string, err error) {
	switch len(args) {
	case 3:
		return args[:1], args[1], args[2], nil
	case 2:
		if st, err := os.Stat(args[0]); err == nil && st.IsDir() {
			return args[:1], args[1], "", nil
		}
		return nil, args[0], args[1], nil
	case 1:
		return nil, args[0], "", nil
	}
	return nil, "", "", errors.New("usage: pelato invoke [dir] TASK [INPUT|-]")
}

// invokeFailure turns an Invoke error into output and an exit code: the task's own
// errors (diagnostics, compile errors, a panic with its stack) exit 1, an unknown task
// 2.
func invokeFailure(cmd *cobra.Command, dir string, err error) error {
	var cf *pipeline.CheckFailedError
	var pe *wasmrun.PanicError
	var be *wasmrun.BuildError
	var le *wasmrun.LimitError
	switch {
	case errors.As(err, &le):
		return &exitError{code: exitProblems, err: fmt.Errorf("%w; %s", err, limitHint(le))}
	case errors.As(err, &cf):
		return printCheckFailure(cmd, dir, err)
	case errors.As(err, &pe):
		fmt.Fprintf(cmd.ErrOrStderr(), "panic: %s\n\n%s\n", termsafe.Text(pe.Value), termsafe.Text(strings.TrimRight(pe.Stack, "\n")))
		return &exitError{code: exitProblems, err: errors.New("the task panicked")}
	case errors.As(err, &be):
		return &exitError{code: exitProblems, err: err}
	case errors.As(err, new(*pipeline.UnknownTaskError)):
		return usageError(err)
	}
	return err // classified by exitCodeOf: a missing go command is a usage error
}
