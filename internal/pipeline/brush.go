package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pelato-dev/pelato/internal/plural"
)

// BrushOptions configures Brush: the original PELATO's whole pipeline. Build carries
// the project (Root, Tasks, Registry, Templates, TaskChecker, Overlay) for every
// stage; Push and Deploy carry only their own settings (their Root, Tasks, Registry,
// Templates and Reporter are taken from Build and Reporter).
type BrushOptions struct {
	Build  BuildOptions
	Push   PushOptions
	Deploy DeployOptions
	// Reporter receives every stage's progress; nil means Discard.
	Reporter Reporter
}

// The stages of Brush, in order.
const (
	StageBuild  = "build" // check, gen and build
	StagePush   = "push"
	StageDeploy = "deploy"
)

// BrushResult is the outcome of Brush: one result per stage that ran.
type BrushResult struct {
	Build  *BuildResult  `json:"build,omitempty"`
	Push   *PushResult   `json:"push,omitempty"`
	Deploy *DeployResult `json:"deploy,omitempty"`
	// StoppedBefore names the first stage that did not run because an earlier one
	// failed for some component ("push" or "deploy"); empty when every stage ran.
	StoppedBefore string        `json:"stopped_before,omitempty"`
	Duration      time.Duration `json:"duration_ns"`
}

// Failed counts the failures of every stage that ran.
func (r *BrushResult) Failed() int {
	n := 0
	if r.Build != nil {
		n += r.Build.Failed()
	}
	if r.Push != nil {
		n += r.Push.Failed()
	}
	if r.Deploy != nil {
		n += r.Deploy.Failed()
	}
	return n
}

// Summary says in one line what each stage did and where the run stopped.
func (r *BrushResult) Summary() string {
	var parts []string
	if r.Build != nil {
		parts = append(parts, r.Build.Summary())
	}
	if r.Push != nil {
		parts = append(parts, r.Push.Summary())
	}
	if r.Deploy != nil {
		parts = append(parts, r.Deploy.Summary())
	}
	if r.StoppedBefore != "" {
		parts = append(parts, "stopped before "+r.StoppedBefore)
	}
	return strings.Join(parts, "; ")
}

// Brush runs check → gen → build → push → deploy on the selected tasks, with one
// Reporter for every stage. Every component that built is pushed, but nothing is
// deployed when a component failed to build or push: a lattice never gets half of a
// workflow because of a compile error. The error is what stopped the whole run
// (the project has errors, Docker or the lattice cannot be reached); per-component
// failures are in the result, and the result holds every stage that ran even when
// an error is returned.
func Brush(ctx context.Context, opts BrushOptions) (*BrushResult, error) {
	start := time.Now()
	rep := opts.Reporter
	if rep == nil {
		rep = Discard
	}
	res := &BrushResult{}
	defer func() { res.Duration = time.Since(start) }()

	b := opts.Build
	b.Reporter = rep
	built, err := Build(ctx, b)
	res.Build = built
	if err != nil {
		return res, err
	}
	var ok []string
	for _, c := range built.Components {
		if c.Status == StatusBuilt || c.Status == StatusSkipped {
			ok = append(ok, c.ComponentName)
		}
	}
	if len(ok) == 0 {
		res.StoppedBefore = StagePush
		rep.Event(Event{Kind: Log, Level: "error", Message: "nothing built: not pushing or deploying"})
		return res, nil
	}

	p := opts.Push
	p.Root, p.Tasks, p.Registry, p.Templates, p.Reporter = b.Root, ok, b.Registry, b.Templates, rep
	pushed, err := Push(ctx, p)
	res.Push = pushed
	if err != nil {
		return res, err
	}
	if n := built.Failed() + pushed.Failed(); n > 0 {
		res.StoppedBefore = StageDeploy
		rep.Event(Event{Kind: Log, Level: "error", Message: fmt.Sprintf("%s not built or not pushed: nothing deployed (fix it and run brush again; built components are skipped)", plural.Count(n, "component"))})
		return res, nil
	}

	d := opts.Deploy
	d.Root, d.Tasks, d.Registry, d.Templates, d.Reporter = b.Root, b.Tasks, b.Registry, b.Templates, rep
	deployed, err := Deploy(ctx, d)
	res.Deploy = deployed
	if err != nil {
		return res, err
	}
	return res, nil
}
