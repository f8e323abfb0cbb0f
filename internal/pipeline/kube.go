package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pelato-dev/pelato/internal/kube"
	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/plural"
	"github.com/pelato-dev/pelato/internal/userfile"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// WorkloadDeploymentFile is the manifest gen writes per task for platform
// wasmcloud2: gen/<component_name>/workloaddeployment.yaml.
const WorkloadDeploymentFile = "workloaddeployment.yaml"

// KubeConn says how deploy, remove and status reach the Kubernetes cluster of a
// wasmcloud2 project (empty fields: kubectl's resolution, see kube.Config).
type KubeConn struct {
	// Kubeconfig, Context and Namespace are --kubeconfig, --context and --namespace.
	Kubeconfig, Context, Namespace string
}

func (k KubeConn) connect() (*kube.Client, error) {
	c, err := kube.Connect(kube.Config{Kubeconfig: k.Kubeconfig, Context: k.Context, Namespace: k.Namespace})
	if err != nil {
		return nil, &KubeConfigError{Err: err}
	}
	return c, nil
}

// isKube reports whether the project deploys to wasmCloud 2 (Kubernetes).
func isKube(w *workflow.Workflow) bool {
	return w != nil && w.Platform() == workflow.PlatformWasmCloud2
}

// readWorkloadDeployments reads gen/<component>/workloaddeployment.yaml.
func readWorkloadDeployments(root, component string) ([]*unstructured.Unstructured, error) {
	rel := filepath.ToSlash(filepath.Join(GenDir, component, WorkloadDeploymentFile))
	data, err := userfile.Read(filepath.Join(root, filepath.FromSlash(rel)), maxManifestSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s not found: run pelato gen (platform wasmcloud2)", rel)
	}
	if err != nil {
		return nil, err
	}
	return kube.DecodeManifest(rel, data)
}

// kubeStopReason says in a few words why a run against the cluster stopped.
func kubeStopReason(err error) string {
	var ue *kube.UnreachableError
	switch {
	case errors.As(err, &ue):
		return "cannot reach the Kubernetes API server at " + ue.Server
	case errors.Is(err, kube.ErrCRDsMissing):
		return "the wasmCloud runtime-operator's CRDs are not installed"
	}
	return stopReason(err)
}

// scalersOf turns deployments into the per-part status lines the wadm path fills.
func scalersOf(ds []kube.Deployment) []lattice.ScalerStatus {
	out := make([]lattice.ScalerStatus, len(ds))
	for i, d := range ds {
		t := lattice.StatusReconciling
		switch {
		case d.IsReady():
			t = lattice.StatusDeployed
		case d.Deleting:
			t = lattice.StatusUndeployed
		}
		msg := d.Words()
		if d.IsReady() {
			msg = ""
		}
		out[i] = lattice.ScalerStatus{ID: d.Namespace + "/" + d.Name, Kind: kube.KindWorkloadDeployment, Name: d.Name, Status: lattice.StatusInfo{Type: t, Message: msg}}
	}
	return out
}

// deployKube is Deploy for platform wasmcloud2: it server-side applies each task's
// WorkloadDeployments and waits (by watching) until they are Ready.
func deployKube(ctx context.Context, opts DeployOptions, w *workflow.Workflow, apps []app, start time.Time, rep Reporter) (*DeployResult, error) {
	out := &DeployResult{Platform: workflow.PlatformWasmCloud2, Components: make([]DeployedComponent, len(apps))}
	objs := make([][]*unstructured.Unstructured, len(apps))
	for i, a := range apps {
		out.Components[i] = DeployedComponent{ComponentName: a.spec.ComponentName, Task: a.spec.Name, App: a.spec.ComponentName, Version: a.spec.Version}
		if err := platformMismatch(opts.Root, a.spec.ComponentName, workflow.PlatformWasmCloud2); err != nil {
			out.Components[i].Err = err.Error()
			continue
		}
		o, err := readWorkloadDeployments(opts.Root, a.spec.ComponentName)
		if err != nil {
			out.Components[i].Err = err.Error()
			continue
		}
		objs[i] = o
	}
	c, err := opts.Kube.connect()
	if err != nil {
		return nil, err
	}
	out.Lattice, out.URL, out.Namespace, out.Context = c.Namespace(), c.Server(), c.Namespace(), c.Context()
	if len(apps) > 0 && out.Failed() == len(apps) {
		for _, comp := range out.Components {
			rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
		}
		out.Duration = time.Since(start)
		rep.Event(Event{Kind: End, Message: out.Summary(), Err: fmt.Errorf("%d of %s not deployed", len(apps), plural.Count(len(apps), "component"))})
		return out, nil
	}
	if err := c.Check(ctx); err != nil {
		out.Duration = time.Since(start)
		out.stopKube(err, false)
		rep.Event(Event{Kind: End, Message: out.Summary(), Err: err})
		return out, err
	}
	total := len(apps)
	if !opts.NoWait {
		total *= 2
	}
	rep.Event(Event{Kind: Begin, Title: fmt.Sprintf("Deploying %s to %s", plural.Count(len(apps), "component"), c.Where()), Total: total})
	for _, comp := range out.Components {
		if comp.Err != "" {
			rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	progress := &steps{rep: rep, total: total}
	step := func(task, msg string) { progress.step(Event{Task: task, Message: msg}) }
	var hostsOnce sync.Once
	pool(ctx, len(apps), latticeJobs, func(i int) {
		comp := &out.Components[i]
		if objs[i] == nil {
			return
		}
		began := time.Now()
		defer func() { comp.Duration = time.Since(began) }()
		actions := map[string]int{}
		applied := make([]*kube.Applied, len(objs[i]))
		for k, o := range objs[i] {
			a, err := c.Apply(ctx, o, opts.ForceConflicts)
			if err != nil {
				comp.Err = err.Error()
				rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
				step(comp.ComponentName, "not deployed")
				return
			}
			applied[k] = a
			actions[a.Action]++
		}
		switch {
		case actions[kube.Unchanged] == len(applied):
			comp.Action = ActionUnchanged
		case actions[kube.Created] == len(applied):
			comp.Action = ActionCreated
		default:
			comp.Action = ActionDeployed
		}
		var parts []string
		for _, a := range applied {
			parts = append(parts, a.Name+" "+a.Action)
		}
		step(comp.ComponentName, "applied "+strings.Join(parts, ", "))
		if opts.NoWait {
			return
		}
		ds := make([]kube.Deployment, len(applied))
		for k, a := range applied {
			d, err := c.WaitReady(waitCtx, a.Name, a.Deployment.Generation, func(d kube.Deployment) {
				if !d.IsReady() {
					rep.Event(Event{Kind: Log, Level: "info", Task: comp.ComponentName, Message: d.Name + ": " + d.Words()})
				}
			})
			ds[k] = d
			if err != nil {
				var nh *kube.NoHostError
				if errors.As(err, &nh) {
					hostsOnce.Do(func() { out.Hosts = latticeHosts(nh.Hosts) })
				}
				if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
					err = fmt.Errorf("%s not ready within %s: %s; the operator keeps trying: `pelato status` shows where it is, `--timeout` waits longer", a.Name, opts.Timeout, d.Words())
				}
				comp.Err = err.Error()
				comp.Status, comp.Scalers = lattice.StatusFailed, scalersOf(ds[:k+1])
				rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
				step(comp.ComponentName, "failed")
				return
			}
		}
		comp.Status, comp.Scalers = lattice.StatusDeployed, scalersOf(ds)
		step(comp.ComponentName, "ready: "+describeReady(ds))
	})
	out.Duration = time.Since(start)
	if err := ctx.Err(); err != nil {
		err = fmt.Errorf("stopped waiting (%w); the operator carries on with what was applied: `pelato status` shows where it is", err)
		out.stopKube(err, true)
		rep.Event(Event{Kind: End, Message: out.Summary(), Err: err})
		return out, err
	}
	var endErr error
	if n := out.Failed(); n > 0 {
		endErr = fmt.Errorf("%d of %s not deployed", n, plural.Count(len(apps), "component"))
	}
	rep.Event(Event{Kind: End, Message: out.Summary() + " in " + out.Duration.Round(time.Millisecond).String(), Err: endErr})
	return out, nil
}

// stopKube is stop for a run against the cluster.
func (r *DeployResult) stopKube(err error, waiting bool) {
	r.stop(err, waiting)
	r.Stopped = kubeStopReason(err)
}

func describeReady(ds []kube.Deployment) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%s %d/%d", d.Name, d.Ready, d.Wanted)
	}
	return strings.Join(parts, ", ")
}

// latticeHosts turns Host resources into the host type the wadm path reports.
func latticeHosts(hs []kube.Host) []lattice.Host {
	out := make([]lattice.Host, len(hs))
	for i, h := range hs {
		out[i] = lattice.Host{ID: h.HostID, FriendlyName: h.Name, Labels: h.Labels, Lattice: h.Namespace}
	}
	return out
}

// mine reports whether deployment d belongs to task a: named by pelato after it
// (<component> or <component>-<target>) or labelled with it.
func mine(d kube.Deployment, a app, genNames map[string]bool) bool {
	if genNames[d.Name] {
		return true
	}
	if t := d.Labels[kube.LabelTask]; t != "" {
		return t == a.spec.ComponentName || t == a.spec.Name
	}
	return d.Name == a.spec.ComponentName
}

// kubeDeploymentsOf lists the deployments pelato made in the namespace, grouped
// by selected task, and those of this project (by the pelato.dev/project label of
// its gen/ manifests) no selected task names.
func kubeDeploymentsOf(ctx context.Context, c *kube.Client, root string, apps []app) ([][]kube.Deployment, []kube.Deployment, error) {
	all, err := c.Deployments(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	byTask := make([][]kube.Deployment, len(apps))
	used := map[string]bool{}
	projects := map[string]bool{}
	for i, a := range apps {
		genNames := map[string]bool{}
		if objs, err := readWorkloadDeployments(root, a.spec.ComponentName); err == nil {
			for _, o := range objs {
				genNames[o.GetName()] = true
				if p := o.GetLabels()[kube.LabelProject]; p != "" {
					projects[p] = true
				}
			}
		}
		for _, d := range all {
			if !used[d.Name] && mine(d, a, genNames) {
				byTask[i] = append(byTask[i], d)
				used[d.Name] = true
			}
		}
		// Named in gen/ but without pelato's labels (changed by hand): found by name.
		for n := range genNames {
			if used[n] {
				continue
			}
			d, ok, err := c.Get(ctx, n)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				byTask[i] = append(byTask[i], d)
				used[n] = true
			}
		}
		sort.Slice(byTask[i], func(x, y int) bool { return byTask[i][x].Name < byTask[i][y].Name })
	}
	var others []kube.Deployment
	for _, d := range all {
		if !used[d.Name] && (len(projects) == 0 || projects[d.Labels[kube.LabelProject]]) {
			others = append(others, d)
		}
	}
	return byTask, others, nil
}

// removeKube is Remove for platform wasmcloud2: it deletes each task's
// WorkloadDeployments (foreground) and waits until they are gone.
func removeKube(ctx context.Context, opts RemoveOptions, w *workflow.Workflow, apps []app, start time.Time, rep Reporter) (*RemoveResult, error) {
	c, err := opts.Kube.connect()
	if err != nil {
		return nil, err
	}
	out := &RemoveResult{Platform: workflow.PlatformWasmCloud2, Lattice: c.Namespace(), URL: c.Server(), Namespace: c.Namespace(), Context: c.Context(), Components: make([]RemovedComponent, len(apps))}
	for i, a := range apps {
		out.Components[i] = RemovedComponent{ComponentName: a.spec.ComponentName, Task: a.spec.Name, App: a.spec.ComponentName}
	}
	fail := func(err error) (*RemoveResult, error) {
		out.Duration = time.Since(start)
		out.stop(err)
		out.Stopped = kubeStopReason(err)
		rep.Event(Event{Kind: End, Message: out.Summary(), Err: err})
		return out, err
	}
	if err := c.Check(ctx); err != nil {
		return fail(err)
	}
	byTask, _, err := kubeDeploymentsOf(ctx, c, opts.Root, apps)
	if err != nil {
		return fail(err)
	}
	total := len(apps)
	if !opts.NoWait {
		total *= 2
	}
	rep.Event(Event{Kind: Begin, Title: fmt.Sprintf("Removing %s from %s", plural.Count(len(apps), "application"), c.Where()), Total: total})
	waitCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	progress := &steps{rep: rep, total: total}
	step := func(task, msg string) { progress.step(Event{Task: task, Message: msg}) }
	pool(ctx, len(apps), latticeJobs, func(i int) {
		comp := &out.Components[i]
		began := time.Now()
		defer func() { comp.Duration = time.Since(began) }()
		var deleted []string
		for _, d := range byTask[i] {
			existed, err := c.Delete(ctx, d.Name)
			if err != nil {
				comp.Err = err.Error()
				rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
				step(comp.ComponentName, "not removed")
				return
			}
			if existed {
				deleted = append(deleted, d.Name)
			}
		}
		comp.Versions = deleted
		if len(deleted) == 0 {
			comp.Action = ActionAbsent
			step(comp.ComponentName, "not in namespace "+c.Namespace())
			if !opts.NoWait {
				step(comp.ComponentName, "")
			}
			return
		}
		comp.Action = ActionRemoved
		step(comp.ComponentName, "deleted "+strings.Join(deleted, ", "))
		if opts.NoWait {
			return
		}
		for _, n := range deleted {
			if err := c.WaitGone(waitCtx, n); err != nil {
				if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
					err = fmt.Errorf("%s still there after %s (its ReplicaSets and Workloads are deleted first): `pelato status` shows it", n, opts.Timeout)
				}
				comp.Err = err.Error()
				rep.Event(Event{Kind: Log, Level: "error", Task: comp.ComponentName, Message: comp.Err})
				step(comp.ComponentName, "not gone")
				return
			}
		}
		comp.Status = lattice.StatusUndeployed
		step(comp.ComponentName, "gone")
	})
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	out.Duration = time.Since(start)
	var endErr error
	if n := out.Failed(); n > 0 {
		endErr = fmt.Errorf("%d of %s not removed", n, plural.Count(len(apps), "application"))
	}
	rep.Event(Event{Kind: End, Message: out.Summary() + " in " + out.Duration.Round(time.Millisecond).String(), Err: endErr})
	return out, nil
}

// statusKube is Status for platform wasmcloud2: the project's WorkloadDeployments
// and the cluster's Hosts.
func statusKube(ctx context.Context, opts StatusOptions, w *workflow.Workflow, apps []app, start time.Time) (*StatusResult, error) {
	c, err := opts.Kube.connect()
	if err != nil {
		return nil, err
	}
	out := &StatusResult{Platform: workflow.PlatformWasmCloud2, Lattice: c.Namespace(), URL: c.Server(), Namespace: c.Namespace(), Context: c.Context(),
		Apps: make([]AppState, len(apps)), Hosts: []lattice.Host{}}
	for i, a := range apps {
		out.Apps[i] = AppState{ComponentName: a.spec.ComponentName, Task: a.spec.Name, App: a.spec.ComponentName, Version: a.spec.Version}
	}
	finish := func(err error) (*StatusResult, error) {
		out.Duration = time.Since(start)
		if err != nil {
			out.Err = err.Error()
		}
		return out, err
	}
	if err := c.Check(ctx); err != nil {
		return finish(err)
	}
	var hosts []kube.Host
	var hostsErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		hosts, hostsErr = c.Hosts(ctx)
	}()
	byTask, others, err := kubeDeploymentsOf(ctx, c, opts.Root, apps)
	wg.Wait()
	if err != nil {
		return finish(err)
	}
	out.WadmAnswered = true
	out.Hosts = latticeHosts(hosts)
	for i := range apps {
		st := &out.Apps[i]
		ds := byTask[i]
		if len(ds) == 0 {
			continue
		}
		st.Stored = true
		st.Scalers = scalersOf(ds)
		st.Status = lattice.StatusDeployed
		var words []string
		for _, d := range ds {
			if !d.IsReady() {
				st.Status = lattice.StatusReconciling
				if d.Deleting {
					st.Status = lattice.StatusUndeployed
				}
			}
			words = append(words, d.Name+": "+d.Words())
		}
		st.Message = strings.Join(words, "; ")
	}
	for _, d := range others {
		out.Others = append(out.Others, d.Name)
	}
	return finish(hostsErr)
}

// kubeHosts lists the Host resources of the cluster as lattice hosts.
func kubeHosts(ctx context.Context, kc KubeConn) ([]lattice.Host, error) {
	c, err := kc.connect()
	if err != nil {
		return nil, err
	}
	hs, err := c.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	return latticeHosts(hs), nil
}

// ClusterUnusable reports whether err says the Kubernetes cluster cannot be used
// at all (no kubeconfig, unreachable API server, no wasmCloud CRDs): the
// front ends treat it as a settings problem, as an unreachable NATS server.
func ClusterUnusable(err error) bool {
	var ue *kube.UnreachableError
	var ke *KubeConfigError
	return errors.As(err, &ue) || errors.Is(err, kube.ErrCRDsMissing) || errors.As(err, &ke)
}

// KubeConfigError says the kubeconfig, context or namespace could not be resolved.
type KubeConfigError struct{ Err error }

// Error implements error.
func (e *KubeConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *KubeConfigError) Unwrap() error { return e.Err }
