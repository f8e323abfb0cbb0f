package kube_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pelato-dev/pelato/internal/kube"
	"github.com/pelato-dev/pelato/internal/kube/kubetest"
)

// kenv is the API server of this test binary, started on first need (not in
// fuzz workers or unit tests).
var kenv kubetest.Lazy

func TestMain(m *testing.M) {
	code := m.Run()
	kenv.Stop()
	os.Exit(code)
}

// fixture returns the deployments of testdata/hello.yaml with hostgroup values
// made unique to the test (Hosts are cluster-wide).
func fixture(t *testing.T, suffix string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "hello.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.ReplaceAll(string(data), "hostgroup: ", "hostgroup: "+suffix+"-"))
	objs, err := kube.DecodeManifest("testdata/hello.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func client(t *testing.T, e *kubetest.Env, ns string) *kube.Client {
	t.Helper()
	c, err := kube.Connect(kube.Config{Kubeconfig: e.Kubeconfig, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestApplyWaitReadyReapplyDelete(t *testing.T) {
	e := kenv.Need(t)
	ns := e.Namespace(t)
	e.StartOperator(t, ns)
	e.AddHost(t, "life-edge-1", map[string]string{"hostgroup": "life-edge"}, true)
	e.AddHost(t, "life-cloud-1", map[string]string{"hostgroup": "life-cloud"}, true)
	c := client(t, e, ns)
	ctx := ctxT(t)
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	objs := fixture(t, "life")
	for _, o := range objs {
		a, err := c.Apply(ctx, o, false)
		if err != nil {
			t.Fatal(err)
		}
		if a.Action != kube.Created {
			t.Errorf("%s: first apply %s, want created", o.GetName(), a.Action)
		}
		var seen []string
		d, err := c.WaitReady(ctx, a.Name, a.Deployment.Generation, func(d kube.Deployment) { seen = append(seen, d.Words()) })
		if err != nil {
			t.Fatalf("%s: %v (seen %q)", a.Name, err, seen)
		}
		if !d.IsReady() || d.Ready != d.Wanted || d.Namespace != ns {
			t.Errorf("%s: %+v not ready", a.Name, d)
		}
		if got := d.Words(); !strings.HasPrefix(got, "ready (") {
			t.Errorf("words %q", got)
		}
	}
	// Unchanged re-apply: a no-op.
	for _, o := range objs {
		before, _, err := c.Get(ctx, o.GetName())
		if err != nil {
			t.Fatal(err)
		}
		a, err := c.Apply(ctx, o, false)
		if err != nil {
			t.Fatal(err)
		}
		if a.Action != kube.Unchanged || a.Deployment.ResourceVersion != before.ResourceVersion {
			t.Errorf("%s: re-apply %s (rv %s → %s), want unchanged", o.GetName(), a.Action, before.ResourceVersion, a.Deployment.ResourceVersion)
		}
	}
	// A change is an update, and ready again.
	changed := objs[1].DeepCopy()
	if err := unstructured.SetNestedField(changed.Object, int64(3), "spec", "replicas"); err != nil {
		t.Fatal(err)
	}
	a, err := c.Apply(ctx, changed, false)
	if err != nil || a.Action != kube.Updated {
		t.Fatalf("apply changed: %v %+v", err, a)
	}
	d, err := c.WaitReady(ctx, a.Name, a.Deployment.Generation, nil)
	if err != nil || d.Ready != 3 {
		t.Fatalf("after scaling: %v %+v", err, d)
	}
	list, err := c.Deployments(ctx, "demo")
	if err != nil || len(list) != 2 || list[0].Name != "hello-cloud" {
		t.Fatalf("Deployments: %v %+v", err, list)
	}
	hosts, err := c.Hosts(ctx)
	if err != nil || !kube.Carries(hosts, "hostgroup", "life-edge") {
		t.Fatalf("Hosts: %v %+v", err, hosts)
	}
	for _, o := range objs {
		existed, err := c.Delete(ctx, o.GetName())
		if err != nil || !existed {
			t.Fatalf("delete %s: %v %v", o.GetName(), existed, err)
		}
		if err := c.WaitGone(ctx, o.GetName()); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := c.Get(ctx, o.GetName()); ok || err != nil {
			t.Fatalf("%s still there (%v)", o.GetName(), err)
		}
		existed, err = c.Delete(ctx, o.GetName())
		if err != nil || existed {
			t.Fatalf("second delete %s: %v %v", o.GetName(), existed, err)
		}
	}
	// The double collected the dependents, as the garbage collector would.
	rs, err := e.Dyn.Resource(kube.WorkloadReplicaSets).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(rs.Items) != 0 {
		t.Fatalf("ReplicaSets left: %v %d", err, len(rs.Items))
	}
}

func TestNoMatchingHostListsHosts(t *testing.T) {
	e := kenv.Need(t)
	ns := e.Namespace(t)
	e.StartOperator(t, ns)
	e.AddHost(t, "nohost-a", map[string]string{"hostgroup": "nohost-cloud", "zone": "a"}, true)
	e.AddHost(t, "nohost-b", map[string]string{"hostgroup": "nohost-edge"}, false) // matches, not ready
	c := client(t, e, ns)
	ctx := ctxT(t)
	objs := fixture(t, "nohost")
	if _, err := c.Apply(ctx, objs[0], false); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := c.WaitReady(ctx, objs[0].GetName(), 0, nil)
	var nh *kube.NoHostError
	if !errors.As(err, &nh) {
		t.Fatalf("want *NoHostError, got %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s: not fail-fast", time.Since(start))
	}
	msg := err.Error()
	for _, want := range []string{"no host has label hostgroup=nohost-edge", "nohost-a {hostgroup=nohost-cloud, zone=a}", "nohost-b {hostgroup=nohost-edge} (not ready)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// The host becomes ready: deploy again succeeds.
	e.AddHost(t, "nohost-c", map[string]string{"hostgroup": "nohost-edge"}, true)
	if _, err := c.WaitReady(ctx, objs[0].GetName(), 0, nil); err != nil {
		t.Fatalf("after a host came: %v", err)
	}
}

func TestConflictWithOtherManager(t *testing.T) {
	e := kenv.Need(t)
	ns := e.Namespace(t)
	c := client(t, e, ns)
	ctx := ctxT(t)
	obj := fixture(t, "conflict")[1]
	if _, err := c.Apply(ctx, obj, false); err != nil {
		t.Fatal(err)
	}
	// Someone scales it with kubectl (another field manager takes spec.replicas).
	patch := []byte(`{"spec":{"replicas":5}}`)
	if _, err := e.Dyn.Resource(kube.WorkloadDeployments).Namespace(ns).Patch(ctx, obj.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-scale"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Apply(ctx, obj, false)
	var ce *kube.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("want *ConflictError, got %v", err)
	}
	if len(ce.Conflicts) != 1 || ce.Conflicts[0].Manager != "kubectl-scale" || ce.Conflicts[0].Field != ".spec.replicas" {
		t.Errorf("conflicts %+v", ce.Conflicts)
	}
	if !strings.Contains(err.Error(), "--force-conflicts") || !strings.Contains(err.Error(), `.spec.replicas is owned by field manager "kubectl-scale"`) {
		t.Errorf("message: %s", err)
	}
	a, err := c.Apply(ctx, obj, true)
	if err != nil || a.Action != kube.Updated || a.Deployment.Wanted != 1 {
		t.Fatalf("forced: %v %+v", err, a)
	}
}

func TestCheckWithoutCRDsAndUnreachable(t *testing.T) {
	e := kenv.Need(t)
	ctx := ctxT(t)
	// A server that does not serve runtime.wasmcloud.dev: the CRDs' group read under
	// another name is the same as missing; use a bogus API path prefix instead.
	c := client(t, e, "default")
	if err := c.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	dir := t.TempDir()
	kc := filepath.Join(dir, "config")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: team}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c2, err := kube.Connect(kube.Config{Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Namespace() != "team" || c2.Context() != "x" {
		t.Errorf("namespace %q context %q", c2.Namespace(), c2.Context())
	}
	var ue *kube.UnreachableError
	if err := c2.Check(ctx); !errors.As(err, &ue) || !strings.Contains(err.Error(), "https://127.0.0.1:1") {
		t.Errorf("unreachable: %v", err)
	}
}

// TestWaitReadyWaitsForRollout: after a template change the operator's Ready=True
// is the old template's until its current ReplicaSet runs the new one (the
// conditions carry no observedGeneration). The test plays the operator by hand.
func TestWaitReadyWaitsForRollout(t *testing.T) {
	e := kenv.Need(t)
	ns := e.Namespace(t)
	c := client(t, e, ns)
	ctx := ctxT(t)
	obj := fixture(t, "rollout")[1]
	a, err := c.Apply(ctx, obj, false)
	if err != nil {
		t.Fatal(err)
	}
	wds := e.Dyn.Resource(kube.WorkloadDeployments).Namespace(ns)
	rss := e.Dyn.Resource(kube.WorkloadReplicaSets).Namespace(ns)
	makeRS := func(name string, from *unstructured.Unstructured) {
		tmpl, _, _ := unstructured.NestedMap(from.Object, "spec", "template")
		rs := &unstructured.Unstructured{Object: map[string]any{"apiVersion": kube.APIVersion, "kind": "WorkloadReplicaSet",
			"metadata": map[string]any{"name": name, "namespace": ns}, "spec": map[string]any{"replicas": int64(1), "template": tmpl}}}
		if _, err := rss.Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setStatus := func(rs string) {
		cur, err := wds.Get(ctx, a.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Object["status"] = map[string]any{"currentReplicaSet": map[string]any{"name": rs},
			"replicas":   map[string]any{"expected": int64(1), "current": int64(1), "ready": int64(1)},
			"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}}}
		if _, err := wds.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := wds.Get(ctx, a.Name, metav1.GetOptions{})
	makeRS(a.Name+"-old", old)
	setStatus(a.Name + "-old")
	// The new image: applied, but the operator has not taken it up.
	changed := obj.DeepCopy()
	comps, _, _ := unstructured.NestedSlice(changed.Object, "spec", "template", "spec", "components")
	comps[0].(map[string]any)["image"] = "localhost:5000/demo/hello:0.2.0"
	_ = unstructured.SetNestedSlice(changed.Object, comps, "spec", "template", "spec", "components")
	b, err := c.Apply(ctx, changed, false)
	if err != nil || b.Action != kube.Updated {
		t.Fatalf("%v %+v", err, b)
	}
	short, cancel := context.WithTimeout(ctx, 400*time.Millisecond)
	defer cancel()
	if _, err := c.WaitReady(short, a.Name, b.Deployment.Generation, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("returned before the rollout: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.WaitReady(ctx, a.Name, b.Deployment.Generation, nil)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	cur, _ := wds.Get(ctx, a.Name, metav1.GetOptions{})
	makeRS(a.Name+"-new", cur)
	setStatus(a.Name + "-new")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
