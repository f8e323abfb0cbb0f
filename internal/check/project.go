package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
}

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

// Project checks the workflow of the project at opts.Root. It fails only when the
// project cannot be read at all; everything else is a diagnostic.
func Project(ctx context.Context, opts Options) (*Result, error) {
	if opts.Registry == nil {
		opts.Registry = templates.Default()
	}
	if st, err := os.Stat(opts.Root); err != nil {
		return nil, fmt.Errorf("check %s: %w", opts.Root, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("check %s: not a folder; give the project folder that holds %s", opts.Root, workflow.FileName)
	}
	wfPath := filepath.Join(opts.Root, workflow.FileName)
	content, err := opts.ReadFile(wfPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("check %s: %w (run `pelato init` to create one)", opts.Root, ErrNoWorkflow)
	}
	var refused *userfile.Error
	if errors.As(err, &refused) {
		return refusedWorkflow(refused), nil
	}
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", opts.Root, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := workflow.New(workflow.Parse(workflow.FileName, content))
	ds := Workflow(w, WorkflowOptions{Root: opts.Root, Registry: opts.Registry})
	res := &Result{Workflow: w, Files: map[string][]byte{workflow.FileName: content}}
	if !opts.SkipTasks {
		ds = append(ds, taskDiagnostics(ctx, opts, w, ds, res)...)
	}
	ds = Suppress(ds, workflow.FileName, content, "#")
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
		tpl, ok := opts.Registry.Lookup(t.Str("type"))
		if f == nil || f.Value.Kind != workflow.Scalar || f.Value.Value == "" || bad[f.Value.At().Start] || !ok {
			continue
		}
		reqs = append(reqs, TaskRequest{Root: opts.Root, Code: f.Value.Value, Template: tpl.Name, Signature: tpl.Signature, Kind: tpl.Kind, Overlay: opts.Overlay})
		tasks = append(tasks, t)
	}
	if len(reqs) == 0 {
		return nil
	}
	checker := opts.Tasks
	if checker == nil {
		checker = NewTaskChecker(TaskCheckerOptions{})
	}
	res.Tasks = make([]*TaskResult, len(w.Tasks))
	var out []Diagnostic
	for i, r := range checker.CheckAll(ctx, reqs) {
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
		msg := fmt.Sprintf("the code of task %s has %d error(s); first: %s:%d:%d: %s", t.Label(), n, first.File, p.Line, p.Col, first.Message)
		if n == 1 {
			msg = fmt.Sprintf("the code of task %s has an error: %s:%d:%d: %s", t.Label(), first.File, p.Line, p.Col, first.Message)
		}
		out = append(out, Diagnostic{File: workflow.FileName, Range: code.At(), Severity: Error, Code: CodeTaskHasErrors, Message: msg,
			Related: []Related{{File: first.File, Range: first.Range, Message: first.Message}}})
	}
	return out
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
