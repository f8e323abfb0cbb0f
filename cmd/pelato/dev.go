package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pelato-dev/pelato/internal/plural"

	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/devrun"
	"github.com/pelato-dev/pelato/internal/pipeline"
	"github.com/pelato-dev/pelato/internal/wasmrun"
	"github.com/spf13/cobra"
)

func devCmd() *cobra.Command {
	var format, natsURL, host, cacheDir, storeDir, budget string
	var port, maxHops int
	var maxMessages int64
	var maxWait time.Duration
	var quiet, noWatch bool
	var send, httpPorts []string
	var limits limitFlags
	cmd := &cobra.Command{
		Use:         "dev [dir]",
		Annotations: checksProjectJSONLines,
		Short:       "Run the whole workflow locally: embedded NATS, every task live, reload on save",
		Long: `dev runs every task of the workflow on this machine, with no cluster, registry or
Docker: an embedded NATS server (JetStream on, for key-value tasks; data under the user
cache folder), each task compiled by your Go toolchain to WebAssembly and served by its
instances (instances:) subscribed to its source_topic in a queue group, HTTP producers
on their http_port. Each task behaves as its generated component does. It prints the
NATS URL to connect any client to, then one line per message:
time, topic → task → topic, duration and result.

Saving a task file or workflow.yaml re-checks the project: on errors the diagnostics
are printed and the running version keeps serving; otherwise only the tasks that
changed are rebuilt and swapped in without losing a message, and changed topics,
ports or tasks are re-wired.

--send TOPIC=DATA (repeatable) publishes after start-up, prints what flows through
the workflow and exits once it has settled (no message in flight), saying how long it
waited: exit 1 if a task failed, or if a bound stopped it first (--max-wait,
--max-messages; it says which). A message passes through at most --max-hops tasks:
past that, a loop in the workflow is stopped and logged.
--http-port TASK=PORT serves an HTTP producer on another port than its http_port (when
that one is busy on this machine), for dev only.
Publish to a running dev from another terminal with 'pelato publish TOPIC DATA'.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			dir, err := projectDir(args)
			if err != nil {
				return err
			}
			lim, err := limits.limits()
			if err != nil {
				return err
			}
			var msgs []pipeline.DevMessage
			for _, s := range send {
				topic, data, ok := strings.Cut(s, "=")
				if !ok || topic == "" {
					return usageError(fmt.Errorf("--send %q: write it as TOPIC=DATA", s))
				}
				msgs = append(msgs, pipeline.DevMessage{Subject: topic, Data: []byte(data)})
			}
			memBudget, err := wasmrun.ParseBytes(budget)
			if err != nil || memBudget == 0 {
				return usageError(fmt.Errorf("--memory-budget %q: give a size such as 4GiB", budget))
			}
			ports := map[string]int{}
			for _, s := range httpPorts {
				name, num, ok := strings.Cut(s, "=")
				p, err := strconv.Atoi(num)
				if !ok || name == "" || err != nil || p < 1 || p > 65535 {
					return usageError(fmt.Errorf("--http-port %q: write it as TASK=PORT, with a port from 1 to 65535", s))
				}
				ports[name] = p
			}
			log := newDevLog(cmd.OutOrStdout(), cmd.ErrOrStderr(), format == "json", quiet)
			cwd, _ := os.Getwd()
			opts := pipeline.DevOptions{
				Options: devrun.Options{
					Root: dir, NATSURL: natsURL, Host: host, Port: port, StoreDir: storeDir, CacheDir: cacheDir,
					Limits: lim, Watch: !noWatch && len(msgs) == 0, Events: log.Event, Record: natsURL == "" && len(msgs) == 0,
					Base: cwd, MaxHops: maxHops, HTTPPorts: ports, MemoryBudget: memBudget,
				},
				Send: msgs, MaxWait: maxWait, MaxMessages: maxMessages,
			}
			res, err := pipeline.Dev(cmd.Context(), opts)
			var pe *devrun.ProblemsError
			if format == "json" && err != nil && !errors.As(err, &pe) && !errors.Is(err, context.Canceled) && res == nil {
				// Problems were an event already; a failure to start is one too.
				e := devrun.Event{Time: time.Now(), Kind: devrun.Failed, Text: err.Error()}
				var pu *devrun.PortInUseError
				if errors.As(err, &pu) {
					e.Task, e.Port = pu.Task, pu.Port
				}
				log.Event(e)
			}
			switch {
			case errors.Is(err, context.Canceled):
				// Ctrl-C, even during the first compile: not a problem of the project
				// (the exit-code table's "interrupted").
				return err
			case errors.As(err, &pe):
				if format != "json" {
					fmt.Fprint(cmd.ErrOrStderr(), pe.Text)
				}
				return &exitError{code: exitProblems, err: errors.New("the project has errors; fix them and run dev again")}
			case errors.Is(err, pipeline.ErrTasksFailed):
				return &exitError{code: exitProblems, err: err}
			case errors.Is(err, pipeline.ErrNotSettled):
				// The done event said which bound stopped it.
				return &exitError{code: exitProblems, err: errors.New("the workflow did not settle")}
			case errors.Is(err, wasmrun.ErrGoNotFound):
				return usageError(err)
			case err != nil && res == nil:
				return usageError(err)
			case err != nil:
				return &exitError{code: exitProblems, err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&natsURL, "nats", "", "use this NATS server instead of starting one")
	cmd.Flags().IntVar(&port, "port", 0, "port of the embedded NATS server (default 4222, or a free one when 4222 is taken)")
	cmd.Flags().StringVar(&host, "host", "127.0.0.1", "address the embedded NATS server and the HTTP producers listen on")
	cmd.Flags().StringArrayVar(&send, "send", nil, "publish DATA to TOPIC after start-up, print the flow and exit when quiet (TOPIC=DATA, repeatable)")
	cmd.Flags().StringArrayVar(&httpPorts, "http-port", nil, "serve this HTTP producer on another port in dev, leaving workflow.yaml as it is (TASK=PORT, repeatable)")
	cmd.Flags().StringVar(&budget, "memory-budget", "4GiB", "most memory all task instances may use together (instances × --memory, summed over the tasks)")
	cmd.Flags().IntVar(&maxHops, "max-hops", devrun.DefaultMaxHops, "most tasks a message may pass through; past it a loop is stopped (the result is not published, the message fails)")
	cmd.Flags().DurationVar(&maxWait, "max-wait", pipeline.DefaultDevMaxWait, "with --send: longest wait for the workflow to settle")
	cmd.Flags().Int64Var(&maxMessages, "max-messages", pipeline.DefaultDevMaxMessages, "with --send: most messages handled before stopping")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only failed messages, problems and status")
	cmd.Flags().BoolVar(&noWatch, "no-watch", false, "do not reload when files change")
	cmd.Flags().StringVar(&cacheDir, "cache-dir", "", "cache of compiled modules (default: the user cache folder)")
	cmd.Flags().StringVar(&storeDir, "store-dir", "", "JetStream data of the embedded server (default: under the user cache folder)")
	limits.register(cmd, "one message's call")
	formatFlag(cmd, &format, "text", "json")
	return cmd
}

// newDevLog returns the live log for out (messages) and status (the rest): colour and
// the width of the terminal when out is one, JSON lines on out with json.
func newDevLog(out, status io.Writer, json, quiet bool) *devrun.Log {
	l := &devrun.Log{W: out, Status: status, JSON: json, Quiet: quiet}
	if f, ok := out.(*os.File); ok && !json {
		if term, width := devrun.Terminal(f); term {
			l.Width = width
			_, noColor := os.LookupEnv("NO_COLOR")
			l.Color = !noColor && os.Getenv("TERM") != "dumb"
		}
	}
	return l
}

func publishCmd() *cobra.Command {
	var natsURL string
	cmd := &cobra.Command{
		Use:   "publish [--nats URL] TOPIC DATA|-",
		Short: "Publish a message to a running 'pelato dev' (or any NATS server)",
		Long: `publish sends DATA ("-" reads standard input) to TOPIC. Without --nats it uses
NATS_URL (or NATS_HOST/NATS_PORT) when set in the environment, else the 'pelato dev'
running on this machine, else nats://localhost:4222.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			data := []byte(args[1])
			if args[1] == "-" {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxInvokeInput+1))
				if err != nil {
					return usageError(fmt.Errorf("read input: %w", err))
				}
				if len(b) > maxInvokeInput {
					return usageError(fmt.Errorf("read input: standard input holds more than %d MiB; a message body is at most that", maxInvokeInput>>20))
				}
				data = b
			}
			cfg, err := config.Loader{}.Load()
			if err != nil {
				return usageError(err)
			}
			url := natsURL
			for _, name := range []string{"NATS_URL", "NATS_HOST", "NATS_PORT"} {
				if url == "" && cfg.Lookup(name).Source == config.FromEnv {
					url = cfg.NATSURL()
				}
			}
			used, err := pipeline.Publish(cmd.Context(), pipeline.PublishOptions{URL: url, Subject: args[0], Data: data})
			if err != nil {
				return &exitError{code: exitProblems, err: err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "published %s to %s on %s\n", plural.Count(len(data), "byte"), args[0], config.RedactURL(used))
			return nil
		},
	}
	cmd.Flags().StringVar(&natsURL, "nats", "", "NATS server URL")
	return cmd
}
