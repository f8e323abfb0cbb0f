package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pelato-dev/pelato/internal/plural"

	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/userfile"
	"github.com/pelato-dev/pelato/internal/wadm"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// maxManifestSize caps the wadm.yaml deploy reads.
const maxManifestSize = 1 << 20

// The actions Deploy takes for a component.
const (
	// ActionCreated: the first version of the application was put, then deployed.
	ActionCreated = "created"
	// ActionNewVersion: a version was put beside older ones, then deployed.
	ActionNewVersion = "new_version"
	// ActionDeployed: wadm already had this exact version; it was deployed.
	ActionDeployed = "deployed"
	// ActionUnchanged: this exact version was already deployed; nothing was changed.
	ActionUnchanged = "unchanged"
)

// DeployOptions configures Deploy.
type DeployOptions struct {
	// Root is the project folder; its gen/ must hold the components (pelato gen).
	Root string
	// Tasks selects tasks by component_name or name; empty means every task.
	Tasks []string
	// Registry is REGISTRY_URL as gen was given it ("" means DefaultRegistry): deploy
	// checks that gen/ is what gen would write now.
	Registry string
	// Templates is the template registry; nil means the embedded one.
	Templates *templates.Registry
	// Lattice says how to reach the lattice.
	Lattice LatticeConn
	// NoWait returns once wadm acknowledged the deploys, without waiting for the
	// applications to be placed.
	NoWait bool
	// Timeout bounds the wait for placement; 0 means DefaultDeployTimeout.
	Timeout time.Duration
	// PollInterval is how often the status is asked for while wadm publishes none (a
	// fallback: deploy takes the statuses wadm publishes as they come); 0 means
	// DefaultStatusFallback, or DefaultPollInterval when the status stream cannot be
	// subscribed to.
	PollInterval time.Duration
	// Reporter receives progress, the scalers' status included; nil means Discard.
	Reporter Reporter
	// Kube says how to reach the cluster when the project's platform is wasmcloud2.
	Kube KubeConn
	// ForceConflicts takes over fields another field manager owns (wasmcloud2).
	ForceConflicts bool
}

// DeployedComponent is the outcome of deploying one task.
type DeployedComponent struct {
	ComponentName string `json:"component_name"`
	Task          string `json:"task"`
	// App is the wadm application name.
	App     string `json:"app"`
	Version string `json:"version"`
	// Action is what was done: ActionCreated, ActionNewVersion, ActionDeployed or
	// ActionUnchanged ("" when it failed before).
	Action string `json:"action,omitempty"`
	// Status is the application's last status type seen (lattice.StatusDeployed, ...);
	// "" when not waited for.
	Status string `json:"status,omitempty"`
	// Message is wadm's status message, as it sent it.
	Message string                 `json:"message,omitempty"`
	Scalers []lattice.ScalerStatus `json:"scalers,omitempty"`
	// Err says why the component is not deployed, in the user's terms, with the fix.
	Err string `json:"error,omitempty"`
	// Duration runs from the first request to the last status seen.
	Duration time.Duration `json:"duration_ns"`
}

// DeployResult is the outcome of Deploy.
type DeployResult struct {
	// Platform is "wasmcloud2" when deployed to Kubernetes ("" for wasmCloud 1).
	Platform string `json:"platform,omitempty"`
	// Namespace and Context are the Kubernetes namespace and kubeconfig context
	// (wasmcloud2; Lattice then holds the namespace too, URL the API server).
	Namespace  string              `json:"namespace,omitempty"`
	Context    string              `json:"context,omitempty"`
	Lattice    string              `json:"lattice"`
	URL        string              `json:"nats_url"`
	Components []DeployedComponent `json:"components"`
	// Hosts are the lattice's hosts, gathered when a placement failed.
	Hosts []lattice.Host `json:"hosts,omitempty"`
	// Err is what stopped the command early, when something did; Stopped says it in
	// a few words ("no wadm answers on lattice default").
	Err      string        `json:"error,omitempty"`
	Stopped  string        `json:"stopped,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// stop records what stopped the run: every component without an outcome yet is
// marked not deployed, with the reason, so that the result never counts as deployed
// what was not. waiting says the run stopped while waiting for placement (an
// acknowledged deploy is then not yet an outcome).
func (r *DeployResult) stop(err error, waiting bool) {
	r.Err, r.Stopped = err.Error(), stopReason(err)
	for i := range r.Components {
		c := &r.Components[i]
		switch {
		case c.Err != "" || c.Action == ActionUnchanged || c.Status == lattice.StatusDeployed:
		case c.Action == "":
			c.Err = "not deployed: " + r.Stopped
		case waiting:
			c.Err = "deploy acknowledged, but the run stopped before wadm reported it deployed: " + r.Stopped
		}
	}
}

// Failed counts the components that are not deployed.
func (r *DeployResult) Failed() int {
	n := 0
	for _, c := range r.Components {
		if c.Err != "" {
			n++
		}
	}
	return n
}

// Summary describes the outcome in one line.
func (r *DeployResult) Summary() string {
	unchanged := 0
	for _, c := range r.Components {
		if c.Action == ActionUnchanged && c.Err == "" {
			unchanged++
		}
	}
	s := fmt.Sprintf("deployed %d of %s to %s", len(r.Components)-r.Failed(), plural.Count(len(r.Components), "component"), where(r.Platform, r.Lattice))
	if unchanged > 0 {
		s += fmt.Sprintf(" (%d unchanged)", unchanged)
	}
	if r.Stopped != "" {
		s += "; stopped: " + r.Stopped
	}
	return s
}

// VersionConflictError refuses a manifest whose version wadm already stores with
// other content: wadm keeps each version once, so the version must change.
type VersionConflictError struct {
	Task, App, Version, Lattice string
	// Line is the line of the task's version: in workflow.yaml (0 if unknown).
	Line int
	// Differences are the first paths where the manifests differ.
	Differences []string
	// Next is a suggested next version ("" if none).
	Next string
}

// Error implements error.
func (e *VersionConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wadm on lattice %q already has version %s of %s with other content (differs at %s", e.Lattice, e.Version, e.App, strings.Join(e.Differences, ", "))
	for _, d := range e.Differences {
		if strings.Contains(d, wadm.AnnotationSourceHash) {
			b.WriteString("; the task's code changed")
			break
		}
	}
	b.WriteString("); wadm stores each version once: bump `version:` of task " + e.Task + " in workflow.yaml")
	if e.Line > 0 {
		fmt.Fprintf(&b, ", line %d", e.Line)
	}
	if e.Next != "" {
		fmt.Fprintf(&b, " (e.g. to %s)", e.Next)
	}
	b.WriteString(", then gen, build, push and deploy again")
	return b.String()
}

// Deploy puts the wadm manifest of each selected task (gen/<component>/wadm.yaml) and
// deploys it, then waits until every application is deployed or failed. A version
// wadm already has with the same content is not put again (a no-op when it is the
// deployed one); the same version with other content is refused with the fix. A
// failed placement is explained with the targets no host carries and the hosts that
// exist. The error is for what stopped the whole run (no server, no wadm, a lost
// connection, ctx); per-component failures are in the result.
func Deploy(ctx context.Context, opts DeployOptions) (*DeployResult, error) {
	start := time.Now()
	rep := opts.Reporter
	if rep == nil {
		rep = Discard
	}
	if opts.Templates == nil {
		opts.Templates = templates.Default()
	}
	if opts.Registry == "" {
		opts.Registry = DefaultRegistry
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultDeployTimeout
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultStatusFallback
	}
	res, apps, err := projectApps(ctx, opts.Root, opts.Templates, opts.Tasks, true)
	if err != nil {
		return nil, err
	}
	w := res.Workflow
	if isKube(w) {
		return deployKube(ctx, opts, w, apps, start, rep)
	}
	out := &DeployResult{Components: make([]DeployedComponent, len(apps))}
	manifests := make([]*wadm.Manifest, len(apps))
	bodies := make([][]byte, len(apps))
	var warnings []Event
	for i, a := range apps {
		out.Components[i] = DeployedComponent{ComponentName: a.spec.ComponentName, Task: a.spec.Name, App: a.name, Version: a.spec.Version}
		if err := platformMismatch(opts.Root, a.spec.ComponentName, w.Platform()); err != nil {
			out.Components[i].Err = err.Error()
			continue
		}
		m, body, err := loadManifest(opts, w, a, func(msg string) {
			warnings = append(warnings, Event{Kind: Log, Level: "warning", Task: a.spec.ComponentName, Message: msg})
		})
		if err != nil {
			out.Components[i].Err = err.Error()
			continue
		}
		manifests[i], bodies[i] = m, body
		out.Components[i].Version = m.Metadata.Annotations[wadm.AnnotationVersion]
	}

	out.Lattice, out.URL = opts.Lattice.names()
	if len(apps) > 0 && out.Failed() == len(apps) {
		// Nothing to send: every component failed here (gen/ missing or stale).
		for _, comp := range out.Components {
			rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
		}
		out.Duration = time.Since(start)
		rep.Event(Event{Kind: End, Message: out.Summary(), Err: fmt.Errorf("%d of %s not deployed", len(apps), plural.Count(len(apps), "component"))})
		return out, nil
	}
	c, release, err := opts.Lattice.open(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	out.Lattice, out.URL = c.Lattice(), c.URL()
	total := len(apps)
	if !opts.NoWait {
		total *= 2
	}
	rep.Event(Event{Kind: Begin, Title: fmt.Sprintf("Deploying %s to lattice %s at %s", plural.Count(len(apps), "component"), c.Lattice(), c.URL()), Total: total})
	for _, e := range warnings {
		rep.Event(e)
	}
	for _, comp := range out.Components {
		if comp.Err != "" {
			rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
		}
	}

	// Subscribe to the status wadm publishes before the first deploy, so no status is
	// missed; without it (a server that refuses the subscription) deploy polls.
	var watch *lattice.StatusWatch
	if !opts.NoWait {
		names := make([]string, len(apps))
		for i, a := range apps {
			names[i] = a.name
		}
		if watch, err = c.WatchStatus(ctx, names); err != nil {
			rep.Event(Event{Kind: Log, Level: "info", Message: fmt.Sprintf("%v; asking wadm for the status every %s instead", err, DefaultPollInterval)})
			watch = nil
			opts.PollInterval = min(opts.PollInterval, DefaultPollInterval)
		}
		defer watch.Stop()
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	fatal := &firstFatal{cancel: cancel}
	replacing := make([]bool, len(apps))
	began := make([]time.Time, len(apps))
	progress := &steps{rep: rep, total: total}
	pool(runCtx, len(apps), latticeJobs, func(i int) {
		comp := &out.Components[i]
		if manifests[i] == nil {
			return
		}
		began[i] = time.Now()
		msg, repl, err := putAndDeploy(runCtx, c, w, apps[i], comp, bodies[i])
		replacing[i] = repl
		comp.Duration = time.Since(began[i])
		if err != nil {
			if fatal.check(err) || runCtx.Err() != nil {
				return
			}
			comp.Err = err.Error()
			msg = "not deployed"
			rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
		}
		progress.step(Event{Task: comp.ComponentName, Message: msg})
	})
	if err := stopped(ctx, fatal); err != nil {
		out.Duration = time.Since(start)
		out.stop(err, false)
		rep.Event(Event{Kind: End, Message: out.Summary(), Err: err})
		return out, err
	}

	if !opts.NoWait {
		waitPlaced(runCtx, opts, c, w, apps, manifests, out, replacing, began, fatal, rep, len(apps), watch)
		if err := stopped(ctx, fatal); err != nil {
			out.Duration = time.Since(start)
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("stopped waiting (%w); wadm carries on with what it acknowledged: `pelato status` shows where it is", err)
			}
			out.stop(err, true)
			rep.Event(Event{Kind: End, Message: out.Summary(), Err: err})
			return out, err
		}
	}
	out.Duration = time.Since(start)
	var endErr error
	if n := out.Failed(); n > 0 {
		endErr = fmt.Errorf("%d of %s not deployed", n, plural.Count(len(apps), "component"))
	}
	rep.Event(Event{Kind: End, Message: out.Summary() + " in " + out.Duration.Round(time.Millisecond).String(), Err: endErr})
	return out, nil
}

// stopped returns why a run stopped early: the fatal error, else ctx's.
func stopped(ctx context.Context, f *firstFatal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	return ctx.Err()
}

// loadManifest reads gen/<component>/wadm.yaml, checks that it is what gen would
// write now, and returns it with its JSON form (the body of model.put).
func loadManifest(opts DeployOptions, w *workflow.Workflow, a app, warn func(string)) (*wadm.Manifest, []byte, error) {
	rel := filepath.ToSlash(filepath.Join(GenDir, a.spec.ComponentName, templates.ManifestFile))
	data, err := userfile.Read(filepath.Join(opts.Root, filepath.FromSlash(rel)), maxManifestSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s does not exist: run `pelato gen` (then build and push) before deploying", rel)
	}
	if err != nil {
		return nil, nil, err
	}
	files, rec, err := renderTask(GenOptions{Root: opts.Root, Registry: opts.Registry, Templates: opts.Templates}, w, a.spec)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot tell whether %s is current: %w", rel, err)
	}
	// The image is built and pushed by pelato build --push, or by other means: a build
	// that does not match is worth a warning, not a refusal.
	switch b, ok := readBuildRecord(buildRecordPath(opts.Root, a.spec.ComponentName)); {
	case !ok:
		warn("not built by `pelato build` on this machine: make sure " + imageOf(files[templates.ManifestFile]) + " is pushed (`pelato build --push`)")
	case b.GenInputHash != rec.InputHash:
		warn("built from other sources than gen/ holds now: the image wadm deploys may be old; run `pelato build --push`")
	}
	if !bytes.Equal(files[templates.ManifestFile], data) {
		return nil, nil, fmt.Errorf("%s is not what `pelato gen` writes now (workflow.yaml, the task's code or REGISTRY_URL changed since): run `pelato gen`, then build and push, before deploying", rel)
	}
	m, err := wadm.Decode(data)
	if err == nil {
		err = m.Validate()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", rel, err)
	}
	body, err := wadm.MarshalJSON(m)
	if err != nil {
		return nil, nil, err
	}
	return m, body, nil
}

// imageOf returns the first image reference of a manifest's YAML, for messages.
func imageOf(manifest []byte) string {
	if m, err := wadm.Decode(manifest); err == nil && len(m.Spec.Components) > 0 && m.Spec.Components[0].Properties.Image != "" {
		return m.Spec.Components[0].Properties.Image
	}
	return "its image"
}

// putAndDeploy makes wadm hold and deploy one manifest. It returns the progress
// message and whether another version of the application was deployed before.
func putAndDeploy(ctx context.Context, c *lattice.Client, w *workflow.Workflow, a app, comp *DeployedComponent, body []byte) (string, bool, error) {
	name, version := comp.App, comp.Version
	for attempt := 0; ; attempt++ {
		stored, err := c.Get(ctx, name, version)
		if err != nil {
			return "", false, err
		}
		if stored.Result == lattice.ResultSuccess {
			same, diffs, err := sameManifest(stored.Manifest, body)
			if err != nil {
				return "", false, fmt.Errorf("compare with the stored version %s: %w", version, err)
			}
			if !same {
				return "", false, &VersionConflictError{Task: a.task.Label(), App: name, Version: version, Lattice: c.Lattice(),
					Line: versionLine(w, a.task), Differences: diffs, Next: nextVersion(version)}
			}
			vers, err := c.Versions(ctx, name)
			if err != nil {
				return "", false, err
			}
			other := false
			for _, v := range vers.Versions {
				if v.Deployed && v.Version == version {
					comp.Action = ActionUnchanged
					return "unchanged (" + version + " is deployed)", false, nil
				}
				other = other || v.Deployed
			}
			comp.Action = ActionDeployed
			msg, err := deployVersion(ctx, c, name, version, "stored "+version)
			return msg, other, err
		}
		put, err := c.Put(ctx, name, body)
		if lattice.IsVersionExists(err) && attempt == 0 {
			continue // put meanwhile (by a retried request or another deploy): compare again
		}
		if err != nil {
			return "", false, err
		}
		other := false
		comp.Action = ActionCreated
		if put.Result == lattice.ResultNewVersion {
			comp.Action = ActionNewVersion
			if vers, err := c.Versions(ctx, name); err == nil {
				for _, v := range vers.Versions {
					other = other || v.Deployed
				}
			}
		}
		msg, err := deployVersion(ctx, c, name, version, "put "+version+" ("+put.Result+")")
		return msg, other, err
	}
}

func deployVersion(ctx context.Context, c *lattice.Client, name, version, did string) (string, error) {
	d, err := c.Deploy(ctx, name, version)
	if err != nil {
		return "", err
	}
	if d.Result != lattice.ResultAcknowledged {
		return "", fmt.Errorf("wadm on lattice %q answered %s to the deploy of %s %s: %s", c.Lattice(), d.Result, name, version, d.Message)
	}
	return did + ", deploy acknowledged", nil
}

// waitPlaced waits until every acknowledged application is deployed or failed, or
// opts.Timeout passes. It asks wadm for the status once, then takes the statuses
// wadm publishes (watch), and asks again only as a fallback: every poll interval
// while a status is awaited (wadm publishes a status only when it changes), and when
// a replaced version's status must be asked for again. Without watch it polls.
func waitPlaced(ctx context.Context, opts DeployOptions, c *lattice.Client, w *workflow.Workflow, apps []app, manifests []*wadm.Manifest,
	out *DeployResult, replacing []bool, began []time.Time, fatal *firstFatal, rep Reporter, n int, watch *lattice.StatusWatch) {
	var pending []int
	for i, comp := range out.Components {
		if comp.Err == "" && comp.Action != "" {
			pending = append(pending, i)
		}
	}
	deadline := time.Now().Add(opts.Timeout)
	// After a deploy replaces a deployed version, wadm reports the old version's
	// "deployed" until it has taken the new one up: do not believe it at once.
	settle := time.Second
	seenOther := make([]bool, len(apps))
	placed := n + n - len(pending) // the first n steps were the puts and deploys
	hosts := &hostCache{}
	var mu sync.Mutex
	// apply takes one status of application i; it reports whether i is settled.
	apply := func(i int, st *lattice.AppStatus) bool {
		comp := &out.Components[i]
		info := st.Info
		if (info.Type != comp.Status || info.Message != comp.Message) && info.Type != lattice.StatusDeployed {
			rep.Event(Event{Kind: Step, Task: comp.ComponentName, Done: placed, Total: 2 * n, Message: describeStatus(*st)})
		}
		comp.Status, comp.Message, comp.Scalers = info.Type, info.Message, st.Scalers
		comp.Duration = time.Since(began[i])
		switch info.Type {
		case lattice.StatusDeployed:
			if replacing[i] && !seenOther[i] && time.Since(began[i]) < settle {
				return false
			}
			placed++
			rep.Event(Event{Kind: Step, Task: comp.ComponentName, Done: placed, Total: 2 * n, Message: "deployed " + comp.Version})
			return true
		case lattice.StatusFailed:
			placed++
			hs, herr := hosts.get(ctx, c)
			if herr == nil {
				out.Hosts = hs
			}
			comp.Err = explainPlacement(c.Lattice(), w, apps[i], manifests[i], info.Message, hs, herr)
			rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
			rep.Event(Event{Kind: Step, Task: comp.ComponentName, Done: placed, Total: 2 * n, Message: "failed"})
			return true
		default:
			seenOther[i] = true
		}
		return false
	}
	poll := true
	for len(pending) > 0 {
		var still []int
		if poll {
			if watch != nil {
				watch.Take() // older than the answers asked for now
			}
			statuses := make([]*lattice.StatusReply, len(pending))
			pool(ctx, len(pending), latticeJobs, func(k int) {
				st, err := c.Status(ctx, out.Components[pending[k]].App)
				if err != nil {
					if !fatal.check(err) && ctx.Err() == nil {
						mu.Lock()
						out.Components[pending[k]].Err = err.Error()
						mu.Unlock()
					}
					return
				}
				statuses[k] = st
			})
			if ctx.Err() != nil {
				return
			}
			for k, i := range pending {
				if statuses[k] == nil {
					placed++
					continue
				}
				if !apply(i, statuses[k].Status) {
					still = append(still, i)
				}
			}
		} else {
			got := watch.Take()
			for _, i := range pending {
				if st, ok := got[out.Components[i].App]; ok && apply(i, &st) {
					continue
				}
				still = append(still, i)
			}
		}
		pending = still
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, i := range pending {
				comp := &out.Components[i]
				comp.Err = fmt.Sprintf("not deployed within %s: wadm reports %s", opts.Timeout, describeStatus(lattice.AppStatus{Info: lattice.StatusInfo{Type: comp.Status, Message: comp.Message}, Scalers: comp.Scalers}))
				comp.Err += "; wadm keeps trying: `pelato status` shows where it is, `--timeout` waits longer"
				rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
			}
			return
		}
		// Wait for a published status, the fallback poll, the end of a replaced
		// version's settling time, or the deadline.
		wait := opts.PollInterval
		for _, i := range pending {
			if replacing[i] && !seenOther[i] && out.Components[i].Status == lattice.StatusDeployed {
				wait = min(wait, time.Until(began[i].Add(settle))+time.Millisecond)
			}
		}
		wait = max(0, min(wait, time.Until(deadline)+time.Millisecond))
		var ready <-chan struct{}
		if watch != nil {
			ready = watch.Ready()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-ready:
			poll = false
		case <-t.C:
			poll = true
		}
		t.Stop()
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// describeStatus writes a status and the scalers that are not deployed, in one line.
func describeStatus(st lattice.AppStatus) string {
	s := st.Info.Type
	if s == "" {
		s = "no status yet"
	}
	var parts []string
	for _, sc := range st.Scalers {
		if sc.Status.Type == lattice.StatusDeployed || (sc.Status.Message == "" && sc.Status.Type != lattice.StatusFailed) {
			continue
		}
		p := sc.Kind + " " + sc.Name + ": " + sc.Status.Type
		if sc.Status.Message != "" {
			p += " (" + sc.Status.Message + ")"
		}
		parts = append(parts, p)
	}
	if len(parts) > 0 {
		return s + " — " + strings.Join(parts, "; ")
	}
	if st.Info.Message != "" {
		return s + ": " + st.Info.Message
	}
	return s
}

// explainPlacement turns wadm's "Could not satisfy spread …" into which target label
// of which task no host carries, and the hosts and labels that do exist.
func explainPlacement(lat string, w *workflow.Workflow, a app, m *wadm.Manifest, message string, hosts []lattice.Host, hostsErr error) string {
	unsat := lattice.ParseUnsatisfied(message)
	if len(unsat) == 0 {
		return "wadm could not deploy it: " + message
	}
	var reasons, flags []string
	seen := map[string]bool{}
	for _, u := range unsat {
		reqs := spreadRequirements(m, u)
		for _, kv := range strings.Split(lattice.FormatLabels(reqs), ", ") {
			if reqs != nil && !slices.Contains(flags, "--label "+kv) {
				flags = append(flags, "--label "+kv)
			}
		}
		desc := lattice.FormatLabels(reqs)
		if reqs == nil {
			desc = "the requirements of spread " + u.Spread
		}
		if seen[desc] {
			continue
		}
		seen[desc] = true
		where := ""
		if label, ok := reqs["host-type"]; ok && len(reqs) == 1 {
			where = fmt.Sprintf(" (task %s, `targets:` entry %s, workflow.yaml line %d)", a.task.Label(), label, targetLine(w, a.task, label))
		}
		reasons = append(reasons, fmt.Sprintf("no host in lattice %q has label %s%s", lat, desc, where))
	}
	msg := "not placed: " + strings.Join(reasons, "; ")
	// The host's --label flag (`wasmcloud --label host-type=edge`, `wash up --label
	// ...`): the environment form WASMCLOUD_LABEL_host-type cannot be exported from a
	// shell, as a variable name cannot hold '-'.
	labelFlags := "the label (`--label key=value`)"
	if len(flags) > 0 {
		labelFlags = "`" + strings.Join(flags, " ") + "`"
	}
	switch {
	case hostsErr != nil:
		msg += fmt.Sprintf("; the lattice's hosts could not be listed (%v)", hostsErr)
	case len(hosts) == 0:
		msg += fmt.Sprintf("; lattice %q has no hosts at all: start a wasmCloud host on it, or set WASMCLOUD_LATTICE to the lattice your hosts are on", lat)
	default:
		msg += "; hosts in the lattice: " + lattice.DescribeHosts(hosts)
	}
	return msg + ". Start a wasmCloud host with " + labelFlags + " or change the task's targets; wadm places it as soon as such a host joins"
}

// spreadRequirements finds the requirements of the spread wadm could not satisfy.
func spreadRequirements(m *wadm.Manifest, u lattice.Unsatisfied) map[string]string {
	for _, c := range m.Spec.Components {
		if c.Properties.Image != u.Image {
			continue
		}
		for _, t := range c.Traits {
			if t.Scaler == nil {
				continue
			}
			for _, sp := range t.Scaler.Spread {
				if sp.Name == u.Spread {
					return sp.Requirements
				}
			}
		}
	}
	return nil
}

// sameManifest compares a manifest wadm stored (as it sends it back) with ours. wadm
// re-encodes what it stores (key order, empty maps and lists left out), so both are
// compared as JSON values with empty collections dropped.
func sameManifest(stored, ours []byte) (bool, []string, error) {
	var a, b any
	if err := json.Unmarshal(stored, &a); err != nil {
		return false, nil, err
	}
	if err := json.Unmarshal(ours, &b); err != nil {
		return false, nil, err
	}
	a, b = normalizeJSON(a), normalizeJSON(b)
	if reflect.DeepEqual(a, b) {
		return true, nil, nil
	}
	var diffs []string
	diffPaths(a, b, "", &diffs)
	return false, diffs, nil
}

// normalizeJSON drops nulls and empty objects and lists, as wadm's encoder does.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			e = normalizeJSON(e)
			if isEmptyJSON(e) {
				continue
			}
			out[k] = e
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeJSON(e)
		}
		return out
	}
	return v
}

func isEmptyJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// diffPaths lists up to 4 paths where a and b differ.
func diffPaths(a, b any, path string, out *[]string) {
	if len(*out) >= 4 {
		return
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			p := k
			if path != "" {
				p = path + "." + k
			}
			diffPaths(am[k], bm[k], p, out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			diffPaths(al[i], bl[i], path+"["+strconv.Itoa(i)+"]", out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		if path == "" {
			path = "the whole manifest"
		}
		*out = append(*out, path)
	}
}

// nextVersion suggests the next patch version of a semantic version x.y.z(-pre), or "".
func nextVersion(v string) string {
	core, _, _ := strings.Cut(v, "+")
	core, pre, hasPre := strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return ""
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return ""
		}
	}
	if hasPre && pre != "" {
		return core // 1.0.3-rc.1 → 1.0.3
	}
	z, _ := strconv.Atoi(parts[2])
	return parts[0] + "." + parts[1] + "." + strconv.Itoa(z+1)
}
