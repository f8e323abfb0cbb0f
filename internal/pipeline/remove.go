package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/pelato-dev/pelato/internal/plural"

	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/templates"
)

// The actions Remove takes for a component.
const (
	// ActionRemoved: the application was undeployed and every version deleted.
	ActionRemoved = "removed"
	// ActionAbsent: wadm had no such application; nothing was done.
	ActionAbsent = "absent"
)

// RemoveOptions configures Remove.
type RemoveOptions struct {
	// Root is the project folder.
	Root string
	// Tasks selects tasks by component_name or name; empty means every task.
	Tasks []string
	// Templates is the template registry; nil means the embedded one.
	Templates *templates.Registry
	// Lattice says how to reach the lattice.
	Lattice LatticeConn
	// NoWait returns once wadm acknowledged, without waiting for "undeployed".
	NoWait bool
	// Timeout bounds the wait; 0 means DefaultDeployTimeout.
	Timeout time.Duration
	// PollInterval is how often the status is asked for; 0 means DefaultPollInterval.
	PollInterval time.Duration
	// Reporter receives progress; nil means Discard.
	Reporter Reporter
	// Kube says how to reach the cluster when the project's platform is wasmcloud2.
	Kube KubeConn
}

// RemovedComponent is the outcome of removing one task's application.
type RemovedComponent struct {
	ComponentName string `json:"component_name"`
	Task          string `json:"task"`
	App           string `json:"app"`
	// Action is ActionRemoved or ActionAbsent ("" when it failed).
	Action string `json:"action,omitempty"`
	// Versions lists the versions deleted.
	Versions []string `json:"versions,omitempty"`
	// Status is the last status type seen ("" when not waited for).
	Status   string        `json:"status,omitempty"`
	Err      string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// RemoveResult is the outcome of Remove.
type RemoveResult struct {
	// Platform, Namespace and Context: as in DeployResult.
	Platform   string             `json:"platform,omitempty"`
	Namespace  string             `json:"namespace,omitempty"`
	Context    string             `json:"context,omitempty"`
	Lattice    string             `json:"lattice"`
	URL        string             `json:"nats_url"`
	Components []RemovedComponent `json:"components"`
	// Err is what stopped the command early, when something did; Stopped says it in
	// a few words ("no wadm answers on lattice default").
	Err      string        `json:"error,omitempty"`
	Stopped  string        `json:"stopped,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// stop records what stopped the run: every application without an outcome yet is
// marked not removed, with the reason.
func (r *RemoveResult) stop(err error) {
	r.Err, r.Stopped = err.Error(), stopReason(err)
	for i := range r.Components {
		if c := &r.Components[i]; c.Err == "" && c.Action == "" {
			c.Err = "not removed: " + r.Stopped
		}
	}
}

// Failed counts the components that could not be removed.
func (r *RemoveResult) Failed() int {
	n := 0
	for _, c := range r.Components {
		if c.Err != "" {
			n++
		}
	}
	return n
}

// Summary describes the outcome in one line.
func (r *RemoveResult) Summary() string {
	removed, absent := 0, 0
	for _, c := range r.Components {
		switch {
		case c.Err != "":
		case c.Action == ActionRemoved:
			removed++
		case c.Action == ActionAbsent:
			absent++
		}
	}
	s := fmt.Sprintf("removed %s from %s", plural.Count(removed, "application"), where(r.Platform, r.Lattice))
	if absent > 0 {
		s += fmt.Sprintf(" (%d not there)", absent)
	}
	if r.Stopped != "" {
		s += "; stopped: " + r.Stopped
	}
	return s
}

// Remove undeploys the application of each selected task and deletes every version
// of it, then waits until wadm reports it undeployed. Removing what is not there is
// not an error. It needs only workflow.yaml (the component names), not gen/.
func Remove(ctx context.Context, opts RemoveOptions) (*RemoveResult, error) {
	start := time.Now()
	rep := opts.Reporter
	if rep == nil {
		rep = Discard
	}
	if opts.Templates == nil {
		opts.Templates = templates.Default()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultDeployTimeout
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	res, apps, err := projectApps(ctx, opts.Root, opts.Templates, opts.Tasks, false)
	if err != nil {
		return nil, err
	}
	if isKube(res.Workflow) {
		return removeKube(ctx, opts, res.Workflow, apps, start, rep)
	}
	c, release, err := opts.Lattice.open(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	out := &RemoveResult{Lattice: c.Lattice(), URL: c.URL(), Components: make([]RemovedComponent, len(apps))}
	total := len(apps)
	if !opts.NoWait {
		total *= 2
	}
	rep.Event(Event{Kind: Begin, Title: fmt.Sprintf("Removing %s from lattice %s at %s", plural.Count(len(apps), "application"), c.Lattice(), c.URL()), Total: total})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	fatal := &firstFatal{cancel: cancel}
	progress := &steps{rep: rep, total: total}
	began := make([]time.Time, len(apps))
	pool(runCtx, len(apps), latticeJobs, func(i int) {
		a := apps[i]
		comp := &out.Components[i]
		*comp = RemovedComponent{ComponentName: a.spec.ComponentName, Task: a.spec.Name, App: a.name}
		began[i] = time.Now()
		msg, err := removeOne(runCtx, c, comp)
		comp.Duration = time.Since(began[i])
		if err != nil {
			if fatal.check(err) || runCtx.Err() != nil {
				return
			}
			comp.Err = err.Error()
			msg = "not removed"
			rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
		}
		progress.step(Event{Task: comp.ComponentName, Message: msg})
	})
	if err := stopped(ctx, fatal); err != nil {
		out.Duration = time.Since(start)
		out.stop(err)
		rep.Event(Event{Kind: End, Message: out.Summary(), Err: err})
		return out, err
	}
	if !opts.NoWait {
		waitUndeployed(runCtx, opts, c, out, began, fatal, rep, len(apps))
		if err := stopped(ctx, fatal); err != nil {
			out.Duration = time.Since(start)
			out.stop(err)
			rep.Event(Event{Kind: End, Message: out.Summary(), Err: err})
			return out, err
		}
	}
	out.Duration = time.Since(start)
	var endErr error
	if n := out.Failed(); n > 0 {
		endErr = fmt.Errorf("%d of %s not removed", n, plural.Count(len(apps), "application"))
	}
	rep.Event(Event{Kind: End, Message: out.Summary() + " in " + out.Duration.Round(time.Millisecond).String(), Err: endErr})
	return out, nil
}

// removeOne undeploys an application and deletes all its versions.
func removeOne(ctx context.Context, c *lattice.Client, comp *RemovedComponent) (string, error) {
	vers, err := c.Versions(ctx, comp.App)
	if err != nil {
		return "", err
	}
	u, err := c.Undeploy(ctx, comp.App)
	if err != nil {
		return "", err
	}
	d, err := c.Delete(ctx, comp.App, "")
	if err != nil {
		return "", err
	}
	if u.Result == lattice.ResultNotFound && d.Result == lattice.ResultNoop {
		comp.Action = ActionAbsent
		return "not in the lattice", nil
	}
	comp.Action = ActionRemoved
	for _, v := range vers.Versions {
		comp.Versions = append(comp.Versions, v.Version)
	}
	return fmt.Sprintf("undeployed, %s deleted", plural.Count(len(comp.Versions), "version")), nil
}

// waitUndeployed polls until every removed application reports "undeployed".
func waitUndeployed(ctx context.Context, opts RemoveOptions, c *lattice.Client, out *RemoveResult, began []time.Time, fatal *firstFatal, rep Reporter, n int) {
	var pending []int
	for i, comp := range out.Components {
		if comp.Err == "" && comp.Action == ActionRemoved {
			pending = append(pending, i)
		}
	}
	deadline := time.Now().Add(opts.Timeout)
	finished := n + n - len(pending) // the first n steps were the undeploys and deletes
	for len(pending) > 0 {
		statuses := make([]*lattice.StatusReply, len(pending))
		pool(ctx, len(pending), latticeJobs, func(k int) {
			st, err := c.Status(ctx, out.Components[pending[k]].App)
			if err != nil {
				if !fatal.check(err) && ctx.Err() == nil {
					out.Components[pending[k]].Err = err.Error()
				}
				return
			}
			statuses[k] = st
		})
		if ctx.Err() != nil {
			return
		}
		var still []int
		for k, i := range pending {
			comp := &out.Components[i]
			st := statuses[k]
			if st == nil {
				finished++
				continue
			}
			changed := st.Status.Info.Type != comp.Status
			comp.Status = st.Status.Info.Type
			comp.Duration = time.Since(began[i])
			if comp.Status == lattice.StatusUndeployed {
				finished++
				rep.Event(Event{Kind: Step, Task: comp.ComponentName, Done: finished, Total: 2 * n, Message: "undeployed"})
				continue
			}
			if changed {
				rep.Event(Event{Kind: Step, Task: comp.ComponentName, Done: finished, Total: 2 * n, Message: describeStatus(*st.Status)})
			}
			still = append(still, i)
		}
		pending = still
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, i := range pending {
				comp := &out.Components[i]
				comp.Err = fmt.Sprintf("deleted, but still %s after %s: wadm is stopping it; `pelato status` shows when it is gone", comp.Status, opts.Timeout)
				rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
			}
			return
		}
		if sleep(ctx, opts.PollInterval) != nil {
			return
		}
	}
}
