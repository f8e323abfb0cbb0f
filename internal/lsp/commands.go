package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/lines"
	"github.com/pelato-dev/pelato/internal/pipeline"
	"github.com/pelato-dev/pelato/internal/plural"
	"github.com/pelato-dev/pelato/internal/userfile"
	"github.com/pelato-dev/pelato/internal/wasmrun"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// The commands the server executes through workspace/executeCommand.
const (
	CmdCheck      = "pelato.check"
	CmdGen        = "pelato.gen"
	CmdInvoke     = "pelato.invoke"
	CmdCreateFile = "pelato.createFile"
)

// CommandFunc runs a command. args is the command's first argument (JSON, "null"
// when absent); progress receives the pipeline's events. The result is returned to
// the client as the command's result.
type CommandFunc func(ctx context.Context, args json.RawMessage, progress pipeline.Reporter) (any, error)

// Command is an entry of the server's command table.
type Command struct {
	// Title names the operation in progress reports and messages ("pelato: Generate").
	Title string
	// Run does the work.
	Run CommandFunc
	// Silent commands report no progress and show no message (helpers of quick fixes).
	// They are never offered as code lenses or source actions.
	Silent bool

	// Where editors offer the command (code lenses and `source.pelato.<verb>` source
	// actions, see offers in codeaction.go). The zero value offers a pipeline command
	// for one task and for the whole workflow, as a lens and as a source action.

	// NoTask marks a command that takes no task: offered for the whole workflow only.
	NoTask bool
	// NoWorkflow marks a command that needs a task: offered per task only.
	NoWorkflow bool
	// NoLens offers the command as a source action but not as a code lens.
	NoLens bool
	// NoTaskLens offers the whole-workflow code lens but no lens on each task (the
	// per-task source actions stay): for commands too heavy to sit on every task.
	NoTaskLens bool
	// Input marks a command that takes CommandArgs.Input: editors ask for it, and its
	// titles end in "…".
	Input bool
	// WorkflowTitle, when set, is the title of the whole-workflow source action, for
	// a label the default wording ("<label> the workflow") does not fit.
	WorkflowTitle string
}

// CommandArgs is the argument object of pelato's commands.
type CommandArgs struct {
	// URI is a file of the project: its workflow.yaml or a task file.
	URI string `json:"uri"`
	// Task selects one task by component_name or name; "" means every task.
	Task string `json:"task,omitempty"`
	// Input is the input of pelato.invoke.
	Input string `json:"input,omitempty"`
}

// RegisterCommand adds or replaces a command. Call it before Run: the command list
// is announced at initialize.
func (s *Server) RegisterCommand(name string, c Command) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands[name] = c
}

// hasCommand reports whether a command is registered.
func (s *Server) hasCommand(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.commands[name]
	return ok
}

// commandNames returns the registered commands, sorted.
func (s *Server) commandNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.commands))
	for n := range s.commands {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// builtinCommands returns the commands every server has.
func (s *Server) builtinCommands() map[string]Command {
	cmds := map[string]Command{
		CmdCheck:      {Title: "pelato: Check", Run: s.cmdCheck, NoTask: true},
		CmdGen:        {Title: "pelato: Generate", Run: s.cmdGen},
		CmdCreateFile: {Title: "pelato: Create file", Run: s.cmdCreateFile, Silent: true},
	}
	cmds[CmdInvoke] = Command{Title: "pelato: Invoke", Run: s.cmdInvoke, NoWorkflow: true, Input: true}
	maps.Copy(cmds, s.buildCommands())   // pelato.build, pelato.push (build.go)
	maps.Copy(cmds, s.latticeCommands()) // pelato.deploy, pelato.remove, pelato.status (lattice.go)
	return cmds
}

// executeCommand serves workspace/executeCommand.
func (s *Server) executeCommand(ctx context.Context, _ *Snapshot, params []byte) (any, error) {
	p, err := decode[protocol.ExecuteCommandParams](params)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	cmd, ok := s.commands[p.Command]
	s.mu.Unlock()
	if !ok {
		return nil, invalidParams(fmt.Errorf("unknown command %q", clip(p.Command, maxEcho)))
	}
	args := json.RawMessage("null")
	if len(p.Arguments) > 0 {
		args = json.RawMessage(p.Arguments[0])
	}
	if cmd.Silent {
		res, err := cmd.Run(ctx, args, pipeline.Discard)
		if err != nil {
			return nil, commandError(p.Command, err)
		}
		return encodeResult(res)
	}
	wctx, w := s.beginWork(ctx, cmd.Title, p.WorkDoneToken)
	res, err := cmd.Run(wctx, args, w)
	if err == nil && wctx.Err() != nil && ctx.Err() == nil {
		err = context.Canceled // the client cancelled the progress
	}
	summary := ""
	if str, ok := res.(interface{ Summary() string }); ok {
		summary = str.Summary()
	}
	w.finish(summary, err)
	if err != nil {
		return nil, commandError(p.Command, err)
	}
	return encodeResult(res)
}

// encodeResult encodes a command's result with encoding/json, so any Go value a
// command returns reaches the client as it would print.
func encodeResult(res any) (any, error) {
	b, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encode command result: %w", err)
	}
	return jsonrpc2.RawMessage(b), nil
}

// commandError is a command's failure as a JSON-RPC error.
func commandError(name string, err error) error {
	var wire *jsonrpc2.Error
	if errors.As(err, &wire) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return protocol.ErrRequestCancelled
	}
	const requestFailed jsonrpc2.Code = -32803 // LSP RequestFailed
	return jsonrpc2.Errorf(requestFailed, "%s", clip(name+": "+err.Error(), maxShown))
}

// parseArgs decodes pelato's command argument object.
func parseArgs(raw json.RawMessage, needURI bool) (CommandArgs, error) {
	var a CommandArgs
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &a); err != nil {
			return a, invalidParams(fmt.Errorf("command argument: %w", err))
		}
	}
	if needURI && a.URI == "" {
		return a, invalidParams(errors.New("command argument: uri is required"))
	}
	return a, nil
}

// rootOf returns the project of a file or folder URI.
func (s *Server) rootOf(snap *Snapshot, u string) (string, error) {
	path, err := pathOf(uri.URI(u))
	if err != nil {
		return "", invalidParams(err)
	}
	root, ok := snap.projectOf(path)
	if !ok && !(root != "" && isWorkflowFile(path)) {
		if root, ok = enclosingRoot(snap, path); !ok {
			if root, ok = findRootOnDisk(path); !ok {
				return "", invalidParams(fmt.Errorf("%s is not in a pelato project (no %s above it)", clip(path, maxEcho), workflow.FileName))
			}
		}
	}
	if err := s.inWorkspace(snap, root); err != nil {
		return "", invalidParams(err)
	}
	return root, nil
}

// checkSummary is pelato.check's result: the number of diagnostics.
type checkSummary int

// Summary describes the result for the outcome message.
func (n checkSummary) Summary() string { return plural.Count(int(n), "diagnostic") }

// cmdCheck re-checks the project of args.uri (every project without it) now and
// returns the number of diagnostics.
func (s *Server) cmdCheck(ctx context.Context, raw json.RawMessage, progress pipeline.Reporter) (any, error) {
	a, err := parseArgs(raw, false)
	if err != nil {
		return nil, err
	}
	snap := s.snapshot()
	roots := snap.Roots()
	if a.URI != "" {
		root, err := s.rootOf(snap, a.URI)
		if err != nil {
			return nil, err
		}
		roots = []string{root}
	}
	progress.Event(pipeline.Event{Kind: pipeline.Begin, Title: "Checking " + plural.Count(len(roots), "project"), Total: len(roots)})
	total := 0
	for i, root := range roots {
		n, err := s.checkNow(ctx, snap, root)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", root, err)
		}
		total += n
		progress.Event(pipeline.Event{Kind: pipeline.Step, Done: i + 1, Total: len(roots), Message: fmt.Sprintf("%s: %s", root, plural.Count(n, "diagnostic"))})
	}
	return checkSummary(total), nil
}

// savedTarget returns the argument, project and settings (projectConfig: the
// editor's settings over the environment over .env) of a command that works on the
// files as saved — build, push, deploy, remove, status, brush — with a warning for
// each unsaved file.
func (s *Server) savedTarget(raw json.RawMessage, progress pipeline.Reporter) (CommandArgs, string, *config.Config, error) {
	a, err := parseArgs(raw, true)
	if err != nil {
		return a, "", nil, err
	}
	snap := s.snapshot()
	root, err := s.rootOf(snap, a.URI)
	if err != nil {
		return a, "", nil, err
	}
	cfg, err := s.projectConfig(snap, root)
	if err != nil {
		return a, "", nil, err
	}
	for _, path := range unsaved(snap, root) {
		progress.Event(pipeline.Event{Kind: pipeline.Log, Level: "warning", Message: path + " has unsaved changes: the saved version is used"})
	}
	return a, root, cfg, nil
}

// genSummary is pelato.gen's result.
type genSummary struct {
	*pipeline.GenResult
}

// Summary describes the result for the outcome message.
func (g genSummary) Summary() string { return g.GenResult.Summary() }

// cmdGen generates the workflow of args.uri, or its task args.task.
func (s *Server) cmdGen(ctx context.Context, raw json.RawMessage, progress pipeline.Reporter) (any, error) {
	a, err := parseArgs(raw, true)
	if err != nil {
		return nil, err
	}
	snap := s.snapshot()
	root, err := s.rootOf(snap, a.URI)
	if err != nil {
		return nil, err
	}
	cfg, err := s.projectConfig(snap, root) // a .env that cannot be read is said, not skipped
	if err != nil {
		return nil, err
	}
	opts := pipeline.GenOptions{Root: root, Registry: strings.TrimSpace(cfg.Get("REGISTRY_URL")), Templates: s.reg, Overlay: snap.overlay, Reporter: progress, TaskChecker: s.tasks.c}
	if a.Task != "" {
		opts.Tasks = []string{a.Task}
	}
	res, err := pipeline.Gen(ctx, opts)
	if err != nil {
		var cf *pipeline.CheckFailedError
		if errors.As(err, &cf) {
			return nil, fmt.Errorf("%s: %s", err, firstError(cf.Result))
		}
		return nil, err
	}
	if n := res.Failed(); n > 0 {
		return nil, fmt.Errorf("%d of %s failed", n, plural.Count(len(res.Components), "component"))
	}
	return genSummary{res}, nil
}

// firstError describes the first error diagnostic of res.
func firstError(res *check.Result) string {
	for _, d := range res.Diagnostics {
		if d.Severity == check.Error {
			return fmt.Sprintf("first: %s %s: %s", d.File, d.Code, d.Message)
		}
	}
	return ""
}

// cmdInvoke runs args.task of the project of args.uri once with args.input, locally
// (the task compiled to WASI and run in wazero), and returns its result string.
func (s *Server) cmdInvoke(ctx context.Context, raw json.RawMessage, progress pipeline.Reporter) (any, error) {
	a, err := parseArgs(raw, true)
	if err != nil {
		return nil, err
	}
	if a.Task == "" {
		return nil, invalidParams(errors.New("command argument: task is required"))
	}
	snap := s.snapshot()
	root, err := s.rootOf(snap, a.URI)
	if err != nil {
		return nil, err
	}
	for _, path := range unsaved(snap, root) {
		progress.Event(pipeline.Event{Kind: pipeline.Log, Level: "warning", Message: path + " has unsaved changes: the saved version runs"})
	}
	rt, err := s.runtime(ctx)
	if err != nil {
		return nil, err
	}
	res, err := pipeline.Invoke(ctx, pipeline.InvokeOptions{Root: root, Task: a.Task, Input: a.Input, Runtime: rt, Templates: s.reg, Reporter: progress, Limits: snap.cfg.Invoke})
	if err != nil {
		var cf *pipeline.CheckFailedError
		if errors.As(err, &cf) {
			return nil, fmt.Errorf("%s: %s", err, firstError(cf.Result))
		}
		return nil, err
	}
	if res.Kind == string(templates.KindKV) {
		b, err := json.Marshal(map[string]string{"key": res.Key, "value": res.Value})
		if err != nil {
			return nil, err
		}
		return invokeResult(b), nil
	}
	return invokeResult(res.Output), nil
}

// invokeResult is pelato.invoke's result: the task's output.
type invokeResult string

// Summary describes the result for the outcome message.
func (r invokeResult) Summary() string {
	const max = 200
	if len(r) > max {
		return string(r[:max]) + "…"
	}
	return string(r)
}

// unsaved returns the open files of the project whose buffers differ from the disk.
func unsaved(snap *Snapshot, root string) []string {
	var out []string
	for _, path := range slices.Sorted(maps.Keys(snap.docs)) {
		if !within(path, root) {
			continue
		}
		if b, err := userfile.Read(path, int64(len(snap.docs[path].Content))); err != nil || !bytes.Equal(b, snap.docs[path].Content) {
			rel, _ := filepath.Rel(root, path)
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out
}

// runtime returns the server's local runtime, created on first use; it lives until
// the server stops, so compiled modules and instances are reused.
func (s *Server) runtime(ctx context.Context) (*wasmrun.Runtime, error) {
	s.rtMu.Lock()
	defer s.rtMu.Unlock()
	if s.rt != nil {
		return s.rt, nil
	}
	out := &lines.Writer{Emit: func(line string) {
		s.notify(protocol.MethodWindowLogMessage, &protocol.LogMessageParams{Type: protocol.MessageTypeLog, Message: "task: " + line})
	}}
	rt, err := wasmrun.NewRuntime(ctx, wasmrun.Options{CacheDir: s.cacheDir, Stdout: out, Stderr: out})
	if err != nil {
		return nil, fmt.Errorf("start the local runtime: %w", err)
	}
	s.rt = rt
	return rt, nil
}

// cmdCreateFile creates a file with content: the quick fix for a missing task file
// when the client cannot create files through a workspace edit.
func (s *Server) cmdCreateFile(_ context.Context, raw json.RawMessage, _ pipeline.Reporter) (any, error) {
	var a struct {
		URI     string `json:"uri"`
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, invalidParams(err)
	}
	path, err := pathOf(uri.URI(a.URI))
	if err != nil {
		return nil, invalidParams(err)
	}
	snap := s.snapshot()
	root, err := s.rootOf(snap, a.URI)
	if err != nil {
		return nil, err
	}
	if !within(path, filepath.Join(root, workflow.TasksDir)) {
		return nil, invalidParams(fmt.Errorf("%s is not under the project's tasks/ folder", path))
	}
	if err := createFile(root, path, []byte(a.Content)); err != nil {
		return nil, err
	}
	s.update(func(next *Snapshot) []string { return []string{root} })
	return nil, nil
}

// registryURL returns the registry for image references: the registryUrl setting,
// else REGISTRY_URL from the environment or the project's .env, else "".
func (s *Server) registryURL(snap *Snapshot, root string) string {
	cfg, err := s.projectConfig(snap, root)
	if err != nil {
		return snap.cfg.RegistryURL
	}
	return strings.TrimSpace(cfg.Get("REGISTRY_URL"))
}
