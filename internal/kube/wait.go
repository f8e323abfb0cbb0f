package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// NoHostError says the operator found no Host for a deployment's hostSelector.
type NoHostError struct {
	Deployment string
	// Selector is the deployment's spec.template.spec.hostSelector.
	Selector map[string]string
	// Hosts are the cluster's Host resources (nil when they could not be listed).
	Hosts []Host
	// HostsErr is why they could not be listed.
	HostsErr error
	// Message is the operator's ("no suitable host found").
	Message string
}

// Error implements error.
func (e *NoHostError) Error() string {
	s := fmt.Sprintf("WorkloadDeployment %s is not placed: no host has label %s", e.Deployment, FormatLabels(e.Selector))
	if len(e.Selector) == 0 {
		s = fmt.Sprintf("WorkloadDeployment %s is not placed: no host is ready", e.Deployment)
	}
	switch {
	case e.HostsErr != nil:
		s += fmt.Sprintf(" (the Hosts could not be listed: %v)", e.HostsErr)
	case len(e.Hosts) == 0:
		s += "; there are no hosts at all: start a wasmCloud 2 host that reports to this cluster"
	default:
		s += "; hosts: " + DescribeHosts(e.Hosts)
	}
	return s + ". Give a host that label or change the task's targets; the operator places it as soon as such a host is ready"
}

// WaitReady waits, by watching (not polling), until the WorkloadDeployment name is
// Ready for generation (0: any) with all its replicas ready, and returns it.
// progress, when not nil, receives each new state. When the operator reports
// that no host matches the hostSelector (a Workload's HostSelection=False), it
// returns a *NoHostError at once, listing the Hosts and their labels.
func (c *Client) WaitReady(ctx context.Context, name string, generation int64, progress func(Deployment)) (Deployment, error) {
	wds := c.dyn.Resource(WorkloadDeployments).Namespace(c.namespace)
	wls := c.dyn.Resource(Workloads).Namespace(c.namespace)
	rsOwner := map[string]bool{} // ReplicaSet name → belongs to this deployment
	var last Deployment
	for {
		obj, err := wds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return last, c.wrap(err, "get WorkloadDeployment "+name)
		}
		d := DecodeDeployment(obj.Object)
		if c.settled(ctx, d, generation, &last, progress) {
			return d, nil
		}
		wl, err := wls.List(ctx, metav1.ListOptions{})
		if err != nil {
			return d, c.wrap(err, "list Workloads")
		}
		for i := range wl.Items {
			if err := c.noHost(ctx, &wl.Items[i], d, rsOwner); err != nil {
				return d, err
			}
		}
		wdWatch, err := wds.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: obj.GetResourceVersion()})
		if err != nil {
			return d, c.wrap(err, "watch WorkloadDeployment "+name)
		}
		wlWatch, err := wls.Watch(ctx, metav1.ListOptions{ResourceVersion: wl.GetResourceVersion()})
		if err != nil {
			wdWatch.Stop()
			return d, c.wrap(err, "watch Workloads")
		}
		done, d, err := c.follow(ctx, name, generation, d, wdWatch, wlWatch, rsOwner, &last, progress)
		wdWatch.Stop()
		wlWatch.Stop()
		if done || err != nil {
			return d, err
		}
		// A watch ended (the server closes them now and then): look again.
	}
}

// follow takes the events of both watches until the deployment is ready, fails,
// or a watch ends (done false, no error: start again).
func (c *Client) follow(ctx context.Context, name string, generation int64, d Deployment, wdWatch, wlWatch watch.Interface,
	rsOwner map[string]bool, last *Deployment, progress func(Deployment)) (bool, Deployment, error) {
	for {
		select {
		case <-ctx.Done():
			return false, d, ctx.Err()
		case ev, ok := <-wdWatch.ResultChan():
			if !ok {
				return false, d, nil
			}
			switch ev.Type {
			case watch.Error:
				return false, d, nil
			case watch.Deleted:
				return false, d, fmt.Errorf("WorkloadDeployment %s in namespace %s was deleted while waiting for it", name, c.namespace)
			}
			u, isU := ev.Object.(*unstructured.Unstructured)
			if !isU {
				continue
			}
			d = DecodeDeployment(u.Object)
			if c.settled(ctx, d, generation, last, progress) {
				return true, d, nil
			}
		case ev, ok := <-wlWatch.ResultChan():
			if !ok {
				return false, d, nil
			}
			if ev.Type == watch.Error {
				return false, d, nil
			}
			u, isU := ev.Object.(*unstructured.Unstructured)
			if !isU || ev.Type == watch.Deleted {
				continue
			}
			if err := c.noHost(ctx, u, d, rsOwner); err != nil {
				return false, d, err
			}
		}
	}
}

// settled reports whether d is ready with its current template rolled out, and
// passes a changed state to progress.
func (c *Client) settled(ctx context.Context, d Deployment, generation int64, last *Deployment, progress func(Deployment)) bool {
	if progress != nil && d.Words() != last.Words() {
		progress(d)
	}
	*last = d
	return d.IsReady() && (generation == 0 || d.Generation >= generation) && c.rolledOut(ctx, d)
}

// rolledOut reports whether the operator's current ReplicaSet runs d's template.
// The operator's conditions carry no observedGeneration: right after an update a
// Ready=True may still be the old template's, until the operator has made a
// ReplicaSet of the new one (its spec.template.spec is the deployment's).
func (c *Client) rolledOut(ctx context.Context, d Deployment) bool {
	if d.CurrentReplicaSet == "" {
		return true // an operator that does not report it: trust Ready
	}
	rs, err := c.dyn.Resource(WorkloadReplicaSets).Namespace(c.namespace).Get(ctx, d.CurrentReplicaSet, metav1.GetOptions{})
	if err != nil {
		return false
	}
	spec, _ := nested(rs.Object, "spec", "template", "spec")
	return equalJSON(spec, d.templateSpec)
}

// noHost returns a *NoHostError when Workload u belongs to deployment d and the
// operator found no host for it.
func (c *Client) noHost(ctx context.Context, u *unstructured.Unstructured, d Deployment, rsOwner map[string]bool) error {
	hs := findCondition(DecodeConditions(u.Object), CondHostSelection)
	if hs.Status != StatusFalse || !c.ownedBy(ctx, u, d.Name, rsOwner) {
		return nil
	}
	hosts, err := c.Hosts(ctx)
	sel := strMap(u.Object, "spec", "hostSelector")
	if sel == nil {
		sel = d.HostSelector
	}
	if err == nil && matching(hosts, sel) {
		// A ready host matches now (it came after the operator looked): the
		// operator retries and places it; keep waiting.
		return nil
	}
	return &NoHostError{Deployment: d.Name, Selector: sel, Hosts: hosts, HostsErr: err, Message: hs.Message}
}

// matching reports whether a ready host carries every label of sel.
func matching(hosts []Host, sel map[string]string) bool {
	for _, h := range hosts {
		ok := h.Ready
		for k, v := range sel {
			ok = ok && h.Labels[k] == v
		}
		if ok {
			return true
		}
	}
	return false
}

// ownedBy reports whether a Workload is one of deployment name's: its controller
// is a WorkloadReplicaSet labelled with the deployment's name.
func (c *Client) ownedBy(ctx context.Context, u *unstructured.Unstructured, name string, rsOwner map[string]bool) bool {
	for _, ref := range u.GetOwnerReferences() {
		if ref.Kind != "WorkloadReplicaSet" || !strings.HasPrefix(ref.Name, name+"-") {
			continue
		}
		mine, ok := rsOwner[ref.Name]
		if !ok {
			rs, err := c.dyn.Resource(WorkloadReplicaSets).Namespace(c.namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			mine = err == nil && rs.GetLabels()[labelDeploymentName] == name
			if err == nil || apierrors.IsNotFound(err) {
				rsOwner[ref.Name] = mine
			}
		}
		if mine {
			return true
		}
	}
	return false
}

// Delete deletes the WorkloadDeployment name with foreground propagation (its
// ReplicaSets and Workloads go first). It reports whether it existed.
func (c *Client) Delete(ctx context.Context, name string) (bool, error) {
	fg := metav1.DeletePropagationForeground
	err := c.dyn.Resource(WorkloadDeployments).Namespace(c.namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg})
	if apierrors.IsNotFound(err) && !strings.Contains(err.Error(), "the server could not find the requested resource") {
		return false, nil
	}
	if err != nil {
		return false, c.wrap(err, "delete WorkloadDeployment "+name)
	}
	return true, nil
}

// WaitGone waits, by watching, until the WorkloadDeployment name no longer exists
// (with foreground deletion: until its dependents are gone too).
func (c *Client) WaitGone(ctx context.Context, name string) error {
	wds := c.dyn.Resource(WorkloadDeployments).Namespace(c.namespace)
	for {
		obj, err := wds.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return c.wrap(err, "get WorkloadDeployment "+name)
		}
		w, err := wds.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: obj.GetResourceVersion()})
		if err != nil {
			return c.wrap(err, "watch WorkloadDeployment "+name)
		}
		gone, err := waitDeleted(ctx, w)
		w.Stop()
		if gone || err != nil {
			return err
		}
	}
}

func waitDeleted(ctx context.Context, w watch.Interface) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == watch.Error {
				return false, nil
			}
			if ev.Type == watch.Deleted {
				return true, nil
			}
		}
	}
}

// Get returns the WorkloadDeployment name; ok is false when it does not exist.
func (c *Client) Get(ctx context.Context, name string) (Deployment, bool, error) {
	obj, err := c.dyn.Resource(WorkloadDeployments).Namespace(c.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && !strings.Contains(err.Error(), "the server could not find the requested resource") {
		return Deployment{}, false, nil
	}
	if err != nil {
		return Deployment{}, false, c.wrap(err, "get WorkloadDeployment "+name)
	}
	return DecodeDeployment(obj.Object), true, nil
}

// Deployments lists the WorkloadDeployments pelato deployed for project in the
// client's namespace, by their pelato.dev/project label, sorted by name.
func (c *Client) Deployments(ctx context.Context, project string) ([]Deployment, error) {
	sel := LabelManagedBy + "=pelato"
	if project != "" {
		sel += "," + LabelProject + "=" + project
	}
	list, err := c.dyn.Resource(WorkloadDeployments).Namespace(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, c.wrap(err, "list WorkloadDeployments")
	}
	out := make([]Deployment, 0, len(list.Items))
	for _, it := range list.Items {
		out = append(out, DecodeDeployment(it.Object))
	}
	sortDeployments(out)
	return out, nil
}

// equalJSON compares two decoded JSON values, numbers by value.
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var x, y any
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}
