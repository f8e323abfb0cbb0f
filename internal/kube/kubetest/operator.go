package kubetest

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
)

var (
	wdGVR    = schema.GroupVersionResource{Group: "runtime.wasmcloud.dev", Version: "v1alpha1", Resource: "workloaddeployments"}
	rsGVR    = schema.GroupVersionResource{Group: "runtime.wasmcloud.dev", Version: "v1alpha1", Resource: "workloadreplicasets"}
	wlGVR    = schema.GroupVersionResource{Group: "runtime.wasmcloud.dev", Version: "v1alpha1", Resource: "workloads"}
	hostsGVR = schema.GroupVersionResource{Group: "runtime.wasmcloud.dev", Version: "v1alpha1", Resource: "hosts"}
)

// deploymentLabel is the label the runtime-operator stamps on a deployment's
// ReplicaSets (workloadDeploymentNameLabel upstream).
const deploymentLabel = "runtime.wasmcloud.dev/workload-deployment"

// Operator is a faithful double of the wasmCloud runtime-operator
// (wasmCloud/wasmCloud runtime-operator/internal/controller/runtime at commit
// 7cd553cc5), kept in test code because no real operator (and no wasmCloud host)
// can run here. It is written from the upstream types and reconcilers and does
// what pelato observes of them, in one namespace:
//
//   - for each WorkloadDeployment it keeps one WorkloadReplicaSet named
//     <deployment>-<hash of the template> (upstream: a random suffix), labelled
//     with the deployment's labels and runtime.wasmcloud.dev/workload-deployment,
//     controlled by the deployment; a changed template replaces it;
//   - the ReplicaSet gets spec.replicas Workloads (labels: template.labels,
//     spec: template.spec), controlled by it;
//   - a Workload is placed when a Host in HostNamespace carries every label of
//     its hostSelector and is Ready: HostSelection, Placement and Ready True and
//     status.hostId; otherwise HostSelection False "no suitable host found"
//     (reason "Reconcile", as upstream's ErrorCondition);
//   - ReplicaSet and deployment statuses as upstream: conditions Artifact, Sync,
//     Deploy, Scale and Ready (Scale Unknown "current ReplicaSet not available
//     yet: ready=R unavailable=U expected=E" until every Workload is ready, Ready
//     Unknown "deployment is not synced, deployed or scaled"), status.replicas
//     {expected, current, ready, unavailable}, currentReplicas, selector and
//     currentReplicaSet; conditions keep their lastTransitionTime while unchanged,
//     and an unchanged status is not written;
//   - it plays Kubernetes' garbage collector too (envtest runs no
//     controller-manager): a deployment being deleted in the foreground loses its
//     ReplicaSets and Workloads, then its foregroundDeletion finalizer.
//
// It reconciles on every change of a deployment, Workload or Host.
type Operator struct {
	dyn       dynamic.Interface
	namespace string
}

// StartOperator runs an Operator for namespace until t ends.
func (e *Env) StartOperator(t testing.TB, namespace string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	op := &Operator{dyn: e.Dyn, namespace: namespace}
	go func() {
		defer close(done)
		op.run(ctx, t)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func (o *Operator) run(ctx context.Context, t testing.TB) {
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	for _, w := range []struct {
		gvr schema.GroupVersionResource
		ns  string
	}{{wdGVR, o.namespace}, {wlGVR, o.namespace}, {hostsGVR, HostNamespace}} {
		go o.watchLoop(ctx, w.gvr, w.ns, poke)
	}
	poke()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
			if err := o.reconcileAll(ctx); err != nil && ctx.Err() == nil {
				if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
					poke() // raced with a change: look again
					continue
				}
				t.Logf("operator double: %v", err)
			}
		}
	}
}

// watchLoop pokes on every event of one resource, re-watching when a watch ends.
func (o *Operator) watchLoop(ctx context.Context, gvr schema.GroupVersionResource, ns string, poke func()) {
	for ctx.Err() == nil {
		w, err := o.dyn.Resource(gvr).Namespace(ns).Watch(ctx, metav1.ListOptions{})
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		poke()
		for range w.ResultChan() {
			poke()
		}
		w.Stop()
	}
}

func (o *Operator) reconcileAll(ctx context.Context) error {
	list, err := o.dyn.Resource(wdGVR).Namespace(o.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range list.Items {
		if err := o.reconcile(ctx, &list.Items[i]); err != nil {
			return fmt.Errorf("WorkloadDeployment %s: %w", list.Items[i].GetName(), err)
		}
	}
	return nil
}

func (o *Operator) reconcile(ctx context.Context, wd *unstructured.Unstructured) error {
	if wd.GetDeletionTimestamp() != nil {
		return o.collect(ctx, wd)
	}
	template, _, _ := unstructured.NestedMap(wd.Object, "spec", "template")
	tspec, _, _ := unstructured.NestedMap(template, "spec")
	replicas, found, _ := unstructured.NestedInt64(wd.Object, "spec", "replicas")
	if !found {
		replicas = 1 // the CRD's default
	}
	rsName := wd.GetName() + "-" + templateHash(tspec)
	rs, err := o.ensureReplicaSet(ctx, wd, rsName, template, replicas)
	if err != nil {
		return err
	}
	// Rolling update done at once: older ReplicaSets go.
	if err := o.deleteReplicaSets(ctx, wd.GetName(), rsName); err != nil {
		return err
	}
	workloads, err := o.ensureWorkloads(ctx, rs, template, replicas)
	if err != nil {
		return err
	}
	hosts, err := o.dyn.Resource(hostsGVR).Namespace(HostNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var ready, unavailable int64
	for _, wl := range workloads {
		sel, _, _ := unstructured.NestedStringMap(wl.Object, "spec", "hostSelector")
		host := pickHost(hosts.Items, sel)
		old := conditionsOf(wl.Object)
		var conds []any
		status := map[string]any{}
		if host == nil {
			unavailable++
			conds = setConds(old, cond("HostSelection", "False", "Reconcile", "no suitable host found"))
		} else {
			ready++
			id, _, _ := unstructured.NestedString(host.Object, "hostId")
			status["hostId"] = id
			conds = setConds(old, cond("HostSelection", "True", "Available", ""), cond("Placement", "True", "Available", ""),
				cond("Config", "True", "Available", ""), cond("Sync", "True", "Available", ""), cond("Ready", "True", "Available", ""))
		}
		status["conditions"] = conds
		if err := o.writeStatus(ctx, wlGVR, wl, status); err != nil {
			return err
		}
	}
	reps := map[string]any{"expected": replicas, "current": int64(len(workloads)), "ready": ready, "unavailable": unavailable}
	avail := ready == replicas && unavailable == 0
	rsConds := []map[string]any{cond("ScaleUp", "True", "Available", ""), cond("ScaleDown", "True", "Available", "")}
	if avail {
		rsConds = append(rsConds, cond("Ready", "True", "Available", ""))
	} else {
		rsConds = append(rsConds, cond("Ready", "False", "Reconcile", fmt.Sprintf("%d of %d replicas not ready", replicas-ready, replicas)))
	}
	if err := o.writeStatus(ctx, rsGVR, rs, map[string]any{"conditions": setConds(conditionsOf(rs.Object), rsConds...), "replicas": copyMap(reps)}); err != nil {
		return err
	}
	wdConds := []map[string]any{cond("Artifact", "True", "Available", ""), cond("Sync", "True", "Available", ""), cond("Deploy", "True", "Available", "")}
	if avail {
		wdConds = append(wdConds, cond("Scale", "True", "Available", ""), cond("Ready", "True", "Available", ""))
	} else {
		wdConds = append(wdConds,
			cond("Scale", "Unknown", "Reconcile", fmt.Sprintf("current ReplicaSet not available yet: ready=%d unavailable=%d expected=%d", ready, unavailable, replicas)),
			cond("Ready", "Unknown", "Reconcile", "deployment is not synced, deployed or scaled"))
	}
	return o.writeStatus(ctx, wdGVR, wd, map[string]any{
		"conditions":        setConds(conditionsOf(wd.Object), wdConds...),
		"replicas":          reps,
		"currentReplicas":   int64(len(workloads)),
		"selector":          deploymentLabel + "=" + wd.GetName(),
		"currentReplicaSet": map[string]any{"name": rsName},
	})
}

// templateHash is WorkloadReplicaTemplate.Hash upstream: FNV-32a of the spec's JSON.
func templateHash(spec map[string]any) string {
	h := fnv.New32a()
	raw, _ := json.Marshal(spec)
	_, _ = h.Write(raw)
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

func controllerRef(owner *unstructured.Unstructured) []any {
	return []any{map[string]any{"apiVersion": owner.GetAPIVersion(), "kind": owner.GetKind(), "name": owner.GetName(), "uid": string(owner.GetUID()),
		"controller": true, "blockOwnerDeletion": true}}
}

func (o *Operator) ensureReplicaSet(ctx context.Context, wd *unstructured.Unstructured, name string, template map[string]any, replicas int64) (*unstructured.Unstructured, error) {
	res := o.dyn.Resource(rsGVR).Namespace(o.namespace)
	if rs, err := res.Get(ctx, name, metav1.GetOptions{}); err == nil {
		return rs, nil
	} else if !apierrors.IsNotFound(err) {
		return nil, err
	}
	labels := map[string]any{}
	for k, v := range wd.GetLabels() {
		labels[k] = v
	}
	labels[deploymentLabel] = wd.GetName()
	rs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "runtime.wasmcloud.dev/v1alpha1", "kind": "WorkloadReplicaSet",
		"metadata": map[string]any{"name": name, "namespace": o.namespace, "labels": labels, "ownerReferences": controllerRef(wd)},
		"spec":     map[string]any{"replicas": replicas, "template": template},
	}}
	return res.Create(ctx, rs, metav1.CreateOptions{})
}

func (o *Operator) ensureWorkloads(ctx context.Context, rs *unstructured.Unstructured, template map[string]any, replicas int64) ([]*unstructured.Unstructured, error) {
	res := o.dyn.Resource(wlGVR).Namespace(o.namespace)
	owned, err := o.ownedWorkloads(ctx, rs.GetUID())
	if err != nil {
		return nil, err
	}
	for int64(len(owned)) > replicas {
		last := owned[len(owned)-1]
		if err := res.Delete(ctx, last.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
		owned = owned[:len(owned)-1]
	}
	tspec, _, _ := unstructured.NestedMap(template, "spec")
	tlabels, _, _ := unstructured.NestedMap(template, "labels")
	for i := int64(len(owned)); i < replicas; i++ {
		meta := map[string]any{"name": fmt.Sprintf("%s-%d", rs.GetName(), i), "namespace": o.namespace, "ownerReferences": controllerRef(rs)}
		if len(tlabels) > 0 {
			meta["labels"] = tlabels
		}
		wl := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "runtime.wasmcloud.dev/v1alpha1", "kind": "Workload", "metadata": meta, "spec": tspec}}
		created, err := res.Create(ctx, wl, metav1.CreateOptions{})
		if err != nil {
			return nil, err
		}
		owned = append(owned, created)
	}
	return owned, nil
}

func (o *Operator) ownedWorkloads(ctx context.Context, uid any) ([]*unstructured.Unstructured, error) {
	list, err := o.dyn.Resource(wlGVR).Namespace(o.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for i := range list.Items {
		for _, ref := range list.Items[i].GetOwnerReferences() {
			if fmt.Sprint(ref.UID) == fmt.Sprint(uid) {
				out = append(out, &list.Items[i])
			}
		}
	}
	slices.SortFunc(out, func(a, b *unstructured.Unstructured) int { return compare(a.GetName(), b.GetName()) })
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// deleteReplicaSets deletes the deployment's ReplicaSets other than keep ("" for
// all) and their Workloads.
func (o *Operator) deleteReplicaSets(ctx context.Context, deployment, keep string) error {
	res := o.dyn.Resource(rsGVR).Namespace(o.namespace)
	list, err := res.List(ctx, metav1.ListOptions{LabelSelector: deploymentLabel + "=" + deployment})
	if err != nil {
		return err
	}
	for _, rs := range list.Items {
		if rs.GetName() == keep {
			continue
		}
		wls, err := o.ownedWorkloads(ctx, rs.GetUID())
		if err != nil {
			return err
		}
		for _, wl := range wls {
			if err := o.dyn.Resource(wlGVR).Namespace(o.namespace).Delete(ctx, wl.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
		if err := res.Delete(ctx, rs.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// collect plays the garbage collector for a deployment being deleted: its
// dependents go, then the foregroundDeletion (and orphan) finalizers.
func (o *Operator) collect(ctx context.Context, wd *unstructured.Unstructured) error {
	if err := o.deleteReplicaSets(ctx, wd.GetName(), ""); err != nil {
		return err
	}
	fins := wd.GetFinalizers()
	kept := slices.DeleteFunc(slices.Clone(fins), func(f string) bool {
		return f == metav1.FinalizerDeleteDependents || f == metav1.FinalizerOrphanDependents
	})
	if len(kept) == len(fins) {
		return nil
	}
	wd.SetFinalizers(kept)
	_, err := o.dyn.Resource(wdGVR).Namespace(o.namespace).Update(ctx, wd, metav1.UpdateOptions{})
	return err
}

// pickHost returns a Ready Host carrying every label of sel (the first by name).
func pickHost(hosts []unstructured.Unstructured, sel map[string]string) *unstructured.Unstructured {
	for i := range hosts {
		h := &hosts[i]
		ok := true
		for k, v := range sel {
			if h.GetLabels()[k] != v {
				ok = false
			}
		}
		if !ok {
			continue
		}
		for _, c := range conditionsOf(h.Object) {
			if m, _ := c.(map[string]any); m["type"] == "Ready" && m["status"] == "True" {
				return h
			}
		}
	}
	return nil
}

func conditionsOf(obj map[string]any) []any {
	c, _, _ := unstructured.NestedSlice(obj, "status", "conditions")
	return c
}

// setConds is ConditionedStatus.SetConditions upstream: each new condition replaces
// the one of its type, keeping its lastTransitionTime when nothing else changed.
func setConds(old []any, conds ...map[string]any) []any {
	out := slices.Clone(old)
	for _, n := range conds {
		replaced := false
		for i, o := range out {
			om, _ := o.(map[string]any)
			if om["type"] != n["type"] {
				continue
			}
			replaced = true
			if om["status"] == n["status"] && om["reason"] == n["reason"] && om["message"] == n["message"] {
				break
			}
			out[i] = n
		}
		if !replaced {
			out = append(out, n)
		}
	}
	return out
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// writeStatus writes status to obj's status subresource unless it holds it already.
func (o *Operator) writeStatus(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured, status map[string]any) error {
	old, _, _ := unstructured.NestedMap(obj.Object, "status")
	merged := copyMap(old)
	for k, v := range status {
		merged[k] = v
	}
	if reflect.DeepEqual(normalize(old), normalize(merged)) {
		return nil
	}
	obj = obj.DeepCopy()
	obj.Object["status"] = merged
	_, err := o.dyn.Resource(gvr).Namespace(o.namespace).UpdateStatus(ctx, obj, metav1.UpdateOptions{})
	return err
}

// normalize makes two statuses comparable (JSON numbers and int64 alike).
func normalize(m map[string]any) any {
	raw, _ := json.Marshal(m)
	var out any
	_ = json.Unmarshal(raw, &out)
	return out
}
