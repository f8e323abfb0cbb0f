package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pelato-dev/pelato/internal/kube"
	"github.com/pelato-dev/pelato/internal/kube/kubetest"
	"github.com/pelato-dev/pelato/internal/lattice"
)

// kenv is the kube-apiserver of the wasmcloud2 tests, started on first need.
var kenv kubetest.Lazy

// writeWorkloadDeployments writes gen/<component>/workloaddeployment.yaml as gen
// writes it for platform wasmcloud2 (the contract: one WorkloadDeployment per
// target, named <component>-<target>, pelato's labels, no namespace).
func writeWorkloadDeployments(t *testing.T, root, component, _ string, targets []string, replicas int, hostgroupPrefix string) {
	t.Helper()
	writeWorkloadDeploymentsTB(t, root, component, targets, replicas, hostgroupPrefix)
}

func writeWorkloadDeploymentsTB(t testing.TB, root, component string, targets []string, replicas int, hostgroupPrefix string) {
	t.Helper()
	var docs []string
	for _, tg := range targets {
		name := strings.ReplaceAll(component, "_", "-")
		if len(targets) > 1 {
			name += "-" + tg
		}
		docs = append(docs, `apiVersion: runtime.wasmcloud.dev/v1alpha1
kind: WorkloadDeployment
metadata:
  name: `+name+`
  labels:
    app.kubernetes.io/managed-by: pelato
    pelato.dev/project: kube-test
    pelato.dev/task: `+component+`
    pelato.dev/target: `+tg+`
spec:
  replicas: `+itoa(replicas)+`
  template:
    labels:
      pelato.dev/task: `+component+`
    spec:
      hostSelector:
        hostgroup: `+hostgroupPrefix+tg+`
      components:
        - name: `+name+`
          image: localhost:5000/kube-test/`+component+`:1.0.0
      hostInterfaces:
        - namespace: wasmcloud
          package: messaging
          interfaces: [consumer, handler]
          version: 0.2.0
          config:
            subscriptions: demo
`)
	}
	dir := filepath.Join(root, GenDir, component)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, WorkloadDeploymentFile), []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

type kubeProject struct {
	dir  string
	kc   KubeConn
	env  *kubetest.Env
	hgrp string
}

func newKubeProject(t *testing.T, hostReady bool) *kubeProject {
	e := kenv.Need(t)
	ns := e.Namespace(t)
	e.StartOperator(t, ns)
	p := &kubeProject{dir: copyProject(t, "testdata/deploy/kube"), kc: KubeConn{Kubeconfig: e.Kubeconfig, Namespace: ns}, env: e, hgrp: ns + "-"}
	e.AddHost(t, ns+"-edge-1", map[string]string{"hostgroup": p.hgrp + "edge"}, true)
	e.AddHost(t, ns+"-cloud-1", map[string]string{"hostgroup": p.hgrp + "cloud", "zone": "eu"}, hostReady)
	writeWorkloadDeployments(t, p.dir, "celsius-to-kelvin-conversion", "Temp data conversion", []string{"edge"}, 1, p.hgrp)
	writeWorkloadDeployments(t, p.dir, "temp-filter", "Data filter", []string{"edge", "cloud"}, 2, p.hgrp)
	return p
}

func kctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestKubeDeployStatusRedeployRemove(t *testing.T) {
	p := newKubeProject(t, true)
	ctx := kctx(t)
	ev := &events{}
	res, err := Deploy(ctx, DeployOptions{Root: p.dir, Kube: p.kc, Timeout: 30 * time.Second, Reporter: ev})
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, ev.text())
	}
	if res.Failed() != 0 || res.Platform != "wasmcloud2" || res.Namespace != p.kc.Namespace {
		t.Fatalf("deploy: %+v\n%s", res, ev.text())
	}
	for _, c := range res.Components {
		if c.Action != ActionCreated || c.Status != lattice.StatusDeployed {
			t.Errorf("%s: action %s status %s", c.ComponentName, c.Action, c.Status)
		}
	}
	if f := res.Components[1]; len(f.Scalers) != 2 || f.Scalers[0].Name != "temp-filter-edge" || f.Scalers[1].Name != "temp-filter-cloud" {
		t.Errorf("scalers %+v", f.Scalers)
	}
	if want := "deployed 2 of 2 components to namespace " + p.kc.Namespace; !strings.HasPrefix(res.Summary(), want) {
		t.Errorf("summary %q", res.Summary())
	}

	st, err := Status(ctx, StatusOptions{Root: p.dir, Kube: p.kc})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Apps) != 2 || !st.WadmAnswered || len(st.Hosts) < 2 {
		t.Fatalf("status %+v", st)
	}
	for _, a := range st.Apps {
		if !a.Stored || a.Status != lattice.StatusDeployed {
			t.Errorf("status of %s: %+v", a.ComponentName, a)
		}
	}
	if !strings.Contains(st.Apps[1].Message, "temp-filter-edge: ready (2/2 replicas)") {
		t.Errorf("message %q", st.Apps[1].Message)
	}

	// Unchanged redeploy: a no-op.
	res, err = Deploy(ctx, DeployOptions{Root: p.dir, Kube: p.kc, Timeout: 30 * time.Second})
	if err != nil || res.Failed() != 0 {
		t.Fatalf("redeploy: %v %+v", err, res)
	}
	for _, c := range res.Components {
		if c.Action != ActionUnchanged {
			t.Errorf("redeploy %s: %s", c.ComponentName, c.Action)
		}
	}
	if !strings.Contains(res.Summary(), "(2 unchanged)") {
		t.Errorf("summary %q", res.Summary())
	}
	// A changed manifest: deployed again.
	writeWorkloadDeployments(t, p.dir, "temp-filter", "Data filter", []string{"edge", "cloud"}, 3, p.hgrp)
	res, err = Deploy(ctx, DeployOptions{Root: p.dir, Tasks: []string{"temp-filter"}, Kube: p.kc, Timeout: 30 * time.Second})
	if err != nil || res.Failed() != 0 || res.Components[0].Action != ActionDeployed {
		t.Fatalf("changed: %v %+v", err, res)
	}

	rm, err := Remove(ctx, RemoveOptions{Root: p.dir, Kube: p.kc, Timeout: 30 * time.Second})
	if err != nil || rm.Failed() != 0 {
		t.Fatalf("remove: %v %+v", err, rm)
	}
	for _, c := range rm.Components {
		if c.Action != ActionRemoved || c.Status != lattice.StatusUndeployed {
			t.Errorf("remove %s: %+v", c.ComponentName, c)
		}
	}
	if got := rm.Components[1].Versions; len(got) != 2 {
		t.Errorf("deleted %v", got)
	}
	rm, err = Remove(ctx, RemoveOptions{Root: p.dir, Kube: p.kc, Timeout: 30 * time.Second})
	if err != nil || rm.Components[0].Action != ActionAbsent {
		t.Fatalf("second remove: %v %+v", err, rm)
	}
	st, err = Status(ctx, StatusOptions{Root: p.dir, Kube: p.kc})
	if err != nil || st.Apps[0].Stored || st.Apps[1].Stored {
		t.Fatalf("status after remove: %v %+v", err, st)
	}
}

func TestKubeDeployNoHostListsLabels(t *testing.T) {
	p := newKubeProject(t, false) // the cloud host is not ready
	ctx := kctx(t)
	res, err := Deploy(ctx, DeployOptions{Root: p.dir, Tasks: []string{"temp-filter"}, Kube: p.kc, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Components[0]
	if res.Failed() != 1 || c.Status != lattice.StatusFailed {
		t.Fatalf("want a failure: %+v", res)
	}
	for _, want := range []string{"no host has label hostgroup=" + p.hgrp + "cloud", "hosts: ", p.kc.Namespace + "-cloud-1 {hostgroup=" + p.hgrp + "cloud, zone=eu} (not ready)", p.kc.Namespace + "-edge-1 {hostgroup=" + p.hgrp + "edge}"} {
		if !strings.Contains(c.Err, want) {
			t.Errorf("error lacks %q:\n%s", want, c.Err)
		}
	}
	if len(res.Hosts) < 2 {
		t.Errorf("hosts %+v", res.Hosts)
	}
}

func TestKubeDeployMissingManifest(t *testing.T) {
	p := newKubeProject(t, true)
	if err := os.RemoveAll(filepath.Join(p.dir, GenDir, "temp-filter")); err != nil {
		t.Fatal(err)
	}
	res, err := Deploy(kctx(t), DeployOptions{Root: p.dir, Tasks: []string{"temp-filter"}, Kube: p.kc})
	if err != nil {
		t.Fatal(err)
	}
	if want := "gen/temp-filter/workloaddeployment.yaml not found: run pelato gen (platform wasmcloud2)"; res.Components[0].Err != want {
		t.Errorf("err %q", res.Components[0].Err)
	}
}

func TestKubeDeployConflict(t *testing.T) {
	p := newKubeProject(t, true)
	ctx := kctx(t)
	if _, err := Deploy(ctx, DeployOptions{Root: p.dir, Tasks: []string{"celsius-to-kelvin-conversion"}, Kube: p.kc, NoWait: true}); err != nil {
		t.Fatal(err)
	}
	patch := []byte(`{"spec":{"replicas":4}}`)
	if _, err := p.env.Dyn.Resource(kube.WorkloadDeployments).Namespace(p.kc.Namespace).Patch(ctx, "celsius-to-kelvin-conversion", types.MergePatchType, patch, metav1PatchOptions("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	res, err := Deploy(ctx, DeployOptions{Root: p.dir, Tasks: []string{"celsius-to-kelvin-conversion"}, Kube: p.kc, NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Components[0].Err; !strings.Contains(e, `.spec.replicas is owned by field manager "kubectl-edit"`) || !strings.Contains(e, "--force-conflicts") {
		t.Errorf("err %q", e)
	}
	res, err = Deploy(ctx, DeployOptions{Root: p.dir, Tasks: []string{"celsius-to-kelvin-conversion"}, Kube: p.kc, ForceConflicts: true, Timeout: 30 * time.Second})
	if err != nil || res.Failed() != 0 || res.Components[0].Action != ActionDeployed {
		t.Fatalf("forced: %v %+v", err, res)
	}
}

func TestKubeUnreachable(t *testing.T) {
	p := copyProject(t, "testdata/deploy/kube")
	kc := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeWorkloadDeployments(t, p, "celsius-to-kelvin-conversion", "", []string{"edge"}, 1, "")
	writeWorkloadDeployments(t, p, "temp-filter", "", []string{"edge"}, 1, "")
	res, err := Deploy(kctx(t), DeployOptions{Root: p, Kube: KubeConn{Kubeconfig: kc}})
	var ue *kube.UnreachableError
	if !errors.As(err, &ue) || res == nil || !strings.Contains(res.Stopped, "cannot reach the Kubernetes API server at https://127.0.0.1:1") {
		t.Fatalf("err %v res %+v", err, res)
	}
	if res.Components[0].Err == "" {
		t.Error("a component counted as deployed")
	}
}

func metav1PatchOptions(manager string) metav1.PatchOptions {
	return metav1.PatchOptions{FieldManager: manager}
}

// BenchmarkKubeRedeployUnchanged: `pelato deploy` of the two-task wasmcloud2
// project when the cluster already holds it (three WorkloadDeployments): a no-op,
// from reading gen/ and the kubeconfig to the result.
func BenchmarkKubeRedeployUnchanged(b *testing.B) {
	e := kenv.Need(b)
	ns := e.Namespace(b)
	e.StartOperator(b, ns)
	dir := copyProject(b, "testdata/deploy/kube")
	e.AddHost(b, ns+"-edge-1", map[string]string{"hostgroup": ns + "-edge"}, true)
	e.AddHost(b, ns+"-cloud-1", map[string]string{"hostgroup": ns + "-cloud"}, true)
	writeWorkloadDeploymentsTB(b, dir, "celsius-to-kelvin-conversion", []string{"edge"}, 1, ns+"-")
	writeWorkloadDeploymentsTB(b, dir, "temp-filter", []string{"edge", "cloud"}, 2, ns+"-")
	opts := DeployOptions{Root: dir, Kube: KubeConn{Kubeconfig: e.Kubeconfig, Namespace: ns}, Timeout: 30 * time.Second}
	if res, err := Deploy(context.Background(), opts); err != nil || res.Failed() > 0 {
		b.Fatalf("%v %+v", err, res)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Deploy(context.Background(), opts)
		if err != nil || res.Components[0].Action != ActionUnchanged || res.Components[1].Action != ActionUnchanged {
			b.Fatalf("%v %+v", err, res)
		}
	}
}
