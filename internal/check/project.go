package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pelato-dev/pelato/internal/plural"
	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/userfile"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// Options configures a project check.
type Options struct {
	// Root is the project folder (holding workflow.yaml).
	Root string
	// Registry is the template registry; nil means the embedded one.
	Registry *templates.Registry
	// Overlay returns unsaved editor text for an absolute path, or false to read the disk.
	Overlay func(path string) ([]byte, bool)
	// Tasks type-checks task code; nil creates one for this call. Keep one for the life
	// of a process (a language server) so imports are loaded once.
	Tasks *TaskChecker
	// SkipTasks leaves out the Go checks of task code (workflow rules only).
	SkipTasks bool
	// NoWait does not wait for the go command: tasks whose imports' type information
	// is not loaded yet are left out (Result.Loading says when to check again), so a
	// cold start still reports everything else at once.
	NoWait bool
	// Session, when set, carries the previous check's parse, files and clean tasks
	// to this one (session.go): keep one per project to re-check it incrementally.
	Session *Session
	// Platform, when set, overrides the workflow's `platform:` key for the
	// platform rules (a command's --platform flag); see workflow.ResolvePlatform.
	Platform string
}

// Result is the outcome of checking a project.
type Result struct {
	// Workflow is the parsed workflow.yaml.
	Workflow *workflow.Workflow
	// Diagnostics are sorted and suppression comments applied.
	Diagnostics []Diagnostic
	// Files holds the content of every file a diagnostic names, by its relative path, so
	// front ends can turn byte ranges into lines and columns.
	Files map[string][]byte
	// Tasks are the task-check results, by task index (nil for a task not checked).
	Tasks []*TaskResult
	// Err is set when checking stopped early (ctx ended, the go command failed): the
	// diagnostics are then incomplete.
	Err error
	// Loading, with Options.NoWait, is closed when the type information the pending
	// tasks (TaskResult.Pending) wait for is loaded; nil when no task is pending.
	Loading <-chan struct{}
}

// Pending reports whether some tasks were left out because their imports' type
// information is still loading (Options.NoWait).
func (r *Result) Pending() bool { return r.Loading != nil }

// ErrNoWorkflow is returned when the project folder has no workflow.yaml.
var ErrNoWorkflow = errors.New("no " + workflow.FileName + " in the project folder")

// ReadFile reads workflow.yaml (or another project file of at most
// workflow.MaxFileSize bytes) through the overlay, then the disk: only a regular file
// is read from the disk, and only when it is within the size cap (see
// internal/userfile).
func (o Options) ReadFile(path string) ([]byte, error) {
	if o.Overlay != nil {
		if b, ok := o.Overlay(path); ok {
			return b, nil
		}
	}
	return userfile.Read(path, workflow.MaxFileSize)
}

// UnreadableError is Project's error when the project cannot be read at all (no such
// folder, no workflow.yaml, an I/O error): a usage error for the commands, not a
// problem of the project.
type UnreadableError struct{ Err error }

// Error returns the wrapped error's message.
func (e *UnreadableError) Error() string { return e.Err.Error() }

// Unwrap returns the cause, so errors.Is(err, ErrNoWorkflow) holds.
func (e *UnreadableError) Unwrap() error { return e.Err }

// Project checks the workflow of the project at opts.Root. It fails only when the
// project cannot be read at all; everything else is a diagnostic.
func Project(ctx context.Context, opts Options) (*Result, error) {
	if opts.Registry == nil {
		opts.Registry = templates.Default()
	}
	if st, err := os.Stat(opts.Root); err != nil {
		return nil, &UnreadableError{fmt.Errorf("check %s: %w", opts.Root, err)}
	} else if !st.IsDir() {
		return nil, &UnreadableError{fmt.Errorf("check %s: not a folder; give the project folder that holds %s", opts.Root, workflow.FileName)}
	}
	wfPath := filepath.Join(opts.Root, workflow.FileName)
	content, err := opts.ReadFile(wfPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &UnreadableError{fmt.Errorf("check %s: %w (run `pelato init` to create one)", opts.Root, ErrNoWorkflow)}
	}
	var refused *userfile.Error
	if errors.As(err, &refused) {
		return refusedWorkflow(refused), nil
	}
	if err != nil {
		return nil, &UnreadableError{fmt.Errorf("check %s: %w", opts.Root, err)}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts.Session.Files().begin(opts.Root)
	w := workflow.New(opts.parse(content))
	ds := Workflow(w, WorkflowOptions{Root: opts.Root, Registry: opts.Registry, Platform: opts.Platform, session: opts.Session})
	res := &Result{Workflow: w, Files: map[string][]byte{workflow.FileName: content}}
	if !opts.SkipTasks {
		ds = append(ds, taskDiagnostics(ctx, opts, w, ds, res)...)
	}
	ds = Suppress(ds, workflow.FileName, content, "#")
	// The settings in .env: a file that is absent or cannot be read is left to the
	// commands that load the settings, which say why.
	if env, err := opts.ReadFile(filepath.Join(opts.Root, DotEnvFile)); err == nil {
		if sd := Settings(env); len(sd) > 0 {
			ds = append(ds, sd...)
			res.Files[DotEnvFile] = env
		}
	}
	Sort(ds)
	res.Diagnostics = dedupe(ds)
	return res, nil
}

// taskDiagnostics type-checks the code of every task whose `code:` is sound, and adds a
// summary diagnostic on the `code:` value of each task whose code has errors.
func taskDiagnostics(ctx context.Context, opts Options, w *workflow.Workflow, wf []Diagnostic, res *Result) []Diagnostic {
	bad := map[int]bool{} // start offsets of `code:` values with their own problems
	for _, d := range wf {
		switch d.Code {
		case CodeCodeMissing, CodeCodeEscapes, CodeBadCodeKind, CodeEmptyValue, CodeWrongType:
			bad[d.Range.Start] = true
		}
	}
	var reqs []TaskRequest
	var tasks []*workflow.Task
	for _, t := range w.Tasks {
		f := t.Field("code")
		if f == nil || f.Value.Kind != workflow.Scalar || f.Value.Value == "" || bad[f.Value.At().Start] {
			continue
		}
		req := TaskRequest{Root: opts.Root, Code: f.Value.Value, Overlay: opts.Overlay, Files: opts.Session.Files()}
		if tpl, ok := opts.Registry.Lookup(t.Str("type")); ok {
			req.Template, req.Signature, req.Kind = tpl.Name, tpl.Signature, tpl.Kind
		} else {
			// An unknown (or missing) template: the code is still checked, against the
			// closest template's signature or the common one, and the message says so.
			tpl, near, note := assumedTemplate(opts.Registry, t)
			if tpl == nil {
				continue
			}
			req.TemplateNote, req.Signature, req.Kind = note, tpl.Signature, tpl.Kind
			against := "the common signature " + tpl.Signature
			if near {
				req.Template = tpl.Name
				against = fmt.Sprintf("the signature of %s, %s", tpl.Name, tpl.Signature)
			}
			noteUnknownType(wf, t, against)
		}
		reqs = append(reqs, req)
		tasks = append(tasks, t)
	}
	if len(reqs) == 0 {
		return nil
	}
	checker := opts.Tasks
	if checker == nil {
		checker = NewTaskChecker(TaskCheckerOptions{})
		defer checker.Close()
	}
	res.Tasks = make([]*TaskResult, len(w.Tasks))
	var results []TaskResult
	if opts.NoWait {
		results, res.Loading = checker.CheckReady(ctx, reqs)
	} else {
		results = checker.CheckAll(ctx, reqs)
	}
	var out []Diagnostic
	for i, r := range results {
		r := r
		t := tasks[i]
		res.Tasks[t.Index] = &r
		if r.Err != nil && res.Err == nil {
			res.Err = r.Err
		}
		for file, content := range r.Contents {
			res.Files[file] = content
		}
		out = append(out, r.Diagnostics...)
		var first *Diagnostic
		n := 0
		for j := range r.Diagnostics {
			if d := &r.Diagnostics[j]; d.Severity == Error {
				if n++; first == nil {
					first = d
				}
			}
		}
		if first == nil {
			continue
		}
		p := span.NewMapper(r.Contents[first.File]).Point(first.Range.Start)
		code := t.Field("code").Value
		msg := fmt.Sprintf("the code of task %s has %s; first: %s:%d:%d: %s", t.Label(), plural.Count(n, "error"), first.File, p.Line, p.Col, first.Message)
		if n == 1 {
			msg = fmt.Sprintf("the code of task %s has an error: %s:%d:%d: %s", t.Label(), first.File, p.Line, p.Col, first.Message)
		}
		// Information, not an error: the errors are the task file's own diagnostics;
		// this points at them from workflow.yaml and is not counted (Derived).
		out = append(out, Diagnostic{File: workflow.FileName, Range: code.At(), Severity: Info, Code: CodeTaskHasErrors, Message: msg, Derived: true,
			Related: []Related{{File: first.File, Range: first.Range, Message: first.Message}}})
	}
	return out
}

// assumedTemplate returns the template whose signature the code of task t is checked
// against when t's type names no template: the closest by name to what it names
// (near is then true), else the first template calling the common func
// exec_task(arg string) string. note says so, for messages.
func assumedTemplate(reg *templates.Registry, t *workflow.Task) (tpl *templates.Template, near bool, note string) {
	name := t.Str("type")
	if name != "" {
		if best, ok := closest(name, reg.Names()); ok {
			if tpl, ok := reg.Lookup(best); ok {
				return tpl, true, fmt.Sprintf(" (assumed: `%s` is not a template; %s is the closest)", name, tpl.Name)
			}
		}
	}
	for _, tpl := range reg.All() {
		if tpl.Kind == templates.KindString {
			if name == "" {
				return tpl, false, " (assumed, with the common signature: the task names no template)"
			}
			return tpl, false, fmt.Sprintf(" (assumed, with the common signature: `%s` is not a template)", name)
		}
	}
	return nil, false, ""
}

// noteUnknownType adds to the PL201 diagnostic of task t's `type:` what its code was
// checked against. wf holds the workflow diagnostics; it is changed in place.
func noteUnknownType(wf []Diagnostic, t *workflow.Task, against string) {
	f := t.Field("type")
	if f == nil {
		return
	}
	at := f.Value.At()
	for i := range wf {
		if d := &wf[i]; d.Code == CodeUnknownType && d.Range == at {
			d.Message += "; meanwhile its code is checked against " + against
		}
	}
}

// dedupe drops exact repeats (a file shared by tasks with one template is reported once).
func dedupe(ds []Diagnostic) []Diagnostic {
	out := ds[:0]
	for i, d := range ds {
		if i > 0 {
			p := ds[i-1]
			if p.File == d.File && p.Range == d.Range && p.Code == d.Code && p.Message == d.Message {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

// refusedWorkflow is the result of a project whose workflow.yaml exists but is not
// read: it is not a regular file (a FIFO, a device, a link to one) or is larger than
// workflow.MaxFileSize. One error says which and why; nothing else is checked.
func refusedWorkflow(e *userfile.Error) *Result {
	code, msg := CodeNotRegular, workflow.FileName+" "+e.Reason
	if errors.Is(e, userfile.ErrTooLarge) {
		code = CodeTooLarge
		msg = fmt.Sprintf("%s %s (a 200-task workflow is about 40 KB)", workflow.FileName, e.Reason)
	}
	return &Result{
		Workflow:    workflow.New(workflow.Parse(workflow.FileName, nil)),
		Files:       map[string][]byte{workflow.FileName: nil},
		Diagnostics: []Diagnostic{{File: workflow.FileName, Severity: Error, Code: code, Message: msg}},
	}
}
