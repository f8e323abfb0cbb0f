package pipeline

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/wasmrun"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// InvokeOptions configures Invoke.
type InvokeOptions struct {
	// Root is the project folder.
	Root string
	// Task is a component_name or a task name.
	Task string
	// Input is the message body. For a key-value task it is the template's message,
	// JSON {"key": ..., "data": ...}, unless Key is set (then Input is the data).
	Input string
	// Key, when non-nil, is the key of a key-value task.
	Key *string
	// Runtime runs the task; nil creates one for this call (closed at the end).
	Runtime *wasmrun.Runtime
	// CacheDir is the runtime's cache root when Runtime is nil ("" = user cache).
	CacheDir string
	// CacheLimits bound that runtime's compile cache (zero: the defaults).
	CacheLimits wasmrun.CacheLimits
	// TaskOutput receives what the task prints (fmt.Println, ...) when Runtime is nil.
	TaskOutput io.Writer
	// Limits bound the call (time, memory, stack); zero fields take the runtime's
	// defaults (wasmrun.DefaultTimeout, ...). A call past a limit fails with a
	// *wasmrun.LimitError.
	Limits wasmrun.Limits
	// Templates is the template registry; nil means the embedded one.
	Templates *templates.Registry
	// Reporter receives progress; nil means Discard.
	Reporter Reporter

	// slowAfter is how long a compile runs before Invoke says it is compiling (0:
	// wasmrun.SlowCompile); tests shorten it.
	slowAfter time.Duration
}

// InvokeResult is the outcome of Invoke.
type InvokeResult struct {
	ComponentName string `json:"component_name"`
	Task          string `json:"task"`
	Kind          string `json:"kind"`
	// Output is the result of a string task.
	Output string `json:"output,omitempty"`
	// Key and Value are the result of a key-value task.
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
	// Cached reports whether the compiled module came from the cache.
	Cached      bool          `json:"cached"`
	CompileTime time.Duration `json:"compile_ns"`
	CallTime    time.Duration `json:"call_ns"`
}

// Invoke runs one task once, locally: the task's code compiled by the host's Go
// toolchain to a WASI module and run in wazero. Errors in the task's own code or
// keys stop it with a CheckFailedError; a task panic is a *wasmrun.PanicError.
func Invoke(ctx context.Context, opts InvokeOptions) (*InvokeResult, error) {
	rep := opts.Reporter
	if rep == nil {
		rep = Discard
	}
	if opts.Templates == nil {
		opts.Templates = templates.Default()
	}
	// Workflow rules only: the task's Go code is checked by its compilation below, which
	// reports errors at their positions, and a cached module proves it compiled.
	res, err := check.Project(ctx, check.Options{Root: opts.Root, Registry: opts.Templates, SkipTasks: true})
	if err != nil {
		return nil, err
	}
	t, ok := res.Workflow.Find(opts.Task)
	if !ok {
		return nil, unknownTask(res.Workflow, opts.Task)
	}
	if errs := taskErrors(res, t); len(errs) > 0 {
		filtered := *res
		filtered.Diagnostics = errs
		return nil, &CheckFailedError{Result: &filtered}
	}
	spec := t.Spec()
	tpl, _ := opts.Templates.Lookup(spec.Type)
	out := &InvokeResult{ComponentName: spec.ComponentName, Task: spec.Name, Kind: string(tpl.Kind)}

	key, data := "", opts.Input
	if tpl.Kind == templates.KindKV {
		if opts.Key != nil {
			key = *opts.Key
		} else {
			// The template's own decoding rule (templates.DecodeKVMessage), as pelato dev
			// and the generated component apply it.
			k, d, err := templates.DecodeKVMessage([]byte(opts.Input))
			if err != nil {
				return nil, fmt.Errorf("invoke %s: the %s template takes a JSON message {\"key\": ..., \"data\": ...} (or give --key and the data): %v", spec.ComponentName, tpl.Name, err)
			}
			key, data = k, d
		}
		if key == "" {
			key = spec.SourceTopic // as the template does: an empty key means the subject
		}
	}

	rt := opts.Runtime
	if rt == nil {
		rt, err = wasmrun.NewRuntime(ctx, wasmrun.Options{CacheDir: opts.CacheDir, CacheLimits: opts.CacheLimits, Stdout: opts.TaskOutput, Stderr: opts.TaskOutput})
		if err != nil {
			return nil, fmt.Errorf("invoke %s: %w", spec.ComponentName, err)
		}
		defer rt.Close(context.WithoutCancel(ctx))
	}
	rep.Event(Event{Kind: Begin, Title: "Invoking " + spec.ComponentName, Total: 2})
	start := time.Now()
	slow := opts.slowAfter
	if slow <= 0 {
		slow = wasmrun.SlowCompile
	}
	done := tellWhileCompiling(rep, spec.ComponentName, slow)
	mod, err := rt.CompileWith(ctx, wasmrun.Source{
		Path:       filepath.Join(opts.Root, workflow.TasksDir, filepath.FromSlash(spec.Code)),
		Kind:       wasmrun.Kind(tpl.Kind),
		ProjectDir: opts.Root,
	}, wasmrun.CompileOptions{Instances: 1, Limits: opts.Limits})
	done(err)
	if err != nil {
		rep.Event(Event{Kind: End, Task: spec.ComponentName, Message: "compile failed", Err: err})
		return nil, fmt.Errorf("invoke %s: %w", spec.ComponentName, err)
	}
	// Closing the module frees its instance's memory at once: a long-lived caller
	// (the language server) does not keep what a run used.
	defer mod.Close(context.WithoutCancel(ctx))
	out.CompileTime, out.Cached = time.Since(start), mod.FromCache()
	rep.Event(Event{Kind: Step, Task: spec.ComponentName, Done: 1, Total: 2, Message: fmt.Sprintf("compiled in %s (cached: %v)", out.CompileTime.Round(time.Millisecond), out.Cached)})
	start = time.Now()
	if tpl.Kind == templates.KindKV {
		out.Key, out.Value, err = mod.CallKV(ctx, key, data)
	} else {
		out.Output, err = mod.Call(ctx, data)
	}
	out.CallTime = time.Since(start)
	if err != nil {
		rep.Event(Event{Kind: End, Task: spec.ComponentName, Message: "call failed", Err: err})
		return nil, fmt.Errorf("invoke %s: %w", spec.ComponentName, err)
	}
	rep.Event(Event{Kind: End, Task: spec.ComponentName, Message: fmt.Sprintf("ran in %s", out.CallTime.Round(time.Microsecond))})
	return out, nil
}

// tellWhileCompiling reports a slow compile of task as "notice" Log events, which
// terminals show without -v (see wasmrun.WhileCompiling).
func tellWhileCompiling(rep Reporter, task string, after time.Duration) (done func(error)) {
	return wasmrun.WhileCompiling(after, func(msg string) {
		rep.Event(Event{Kind: Log, Level: "notice", Task: task, Message: msg})
	})
}

// taskErrors returns the errors that concern task t: in its files, in its entry of
// workflow.yaml, or about workflow.yaml as a whole (it could not be read).
func taskErrors(res *check.Result, t *workflow.Task) []check.Diagnostic {
	files := map[string]bool{}
	if r := res.Tasks; t.Index < len(r) && r[t.Index] != nil {
		for _, f := range r[t.Index].Files {
			files[f] = true
		}
	}
	var out []check.Diagnostic
	for _, d := range res.Diagnostics {
		if d.Severity != check.Error {
			continue
		}
		inTask := d.File == workflow.FileName && d.Range.Start >= t.Node.Range.Start && d.Range.Start < t.Node.Range.End
		wholeFile := d.File == workflow.FileName && res.Workflow.File.Root == nil
		if files[d.File] || inTask || wholeFile {
			out = append(out, d)
		}
	}
	return out
}
