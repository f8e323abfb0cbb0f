package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
}

// ErrNoWorkflow is returned when the project folder has no workflow.yaml.
var ErrNoWorkflow = errors.New("no " + workflow.FileName + " in the project folder")

// ReadFile reads an absolute path through the overlay, then the disk.
func (o Options) ReadFile(path string) ([]byte, error) {
	if o.Overlay != nil {
		if b, ok := o.Overlay(path); ok {
			return b, nil
		}
	}
	return os.ReadFile(path)
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
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", opts.Root, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := workflow.New(workflow.Parse(workflow.FileName, content))
	ds := Workflow(w, WorkflowOptions{Root: opts.Root, Registry: opts.Registry})
	ds = Suppress(ds, workflow.FileName, content, "#")
	Sort(ds)
	return &Result{Workflow: w, Diagnostics: ds, Files: map[string][]byte{workflow.FileName: content}}, nil
}
