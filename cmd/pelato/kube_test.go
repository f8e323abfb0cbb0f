package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelato-dev/pelato/internal/kube/kubetest"
)

// kenv is the kube-apiserver of the wasmcloud2 command tests, started on first need.
var kenv kubetest.Lazy

// kubeProject is the example switched to platform wasmcloud2, with the
// WorkloadDeployments gen writes for it (written here, per the gen contract), an
// operator double in a fresh namespace, and an edge host (cloud: cloudReady).
func kubeProject(t *testing.T, cloudReady bool) (dir, ns, kubeconfig string) {
	t.Helper()
	e := kenv.Need(t)
	ns = e.Namespace(t)
	e.StartOperator(t, ns)
	e.AddHost(t, ns+"-edge", map[string]string{"hostgroup": ns + "-edge"}, true)
	e.AddHost(t, ns+"-cloud", map[string]string{"hostgroup": ns + "-cloud"}, cloudReady)
	dir = copyDir(t, "../../examples/temperature")
	wf := filepath.Join(dir, "workflow.yaml")
	data, err := os.ReadFile(wf)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "project_name: Temperature data analysis\n", "project_name: Temperature data analysis\nplatform: wasmcloud2\n", 1))
	// component names are Kubernetes object names on wasmcloud2 (PL218)
	data = []byte(strings.NewReplacer("celsius_to_kelvin_conversion", "celsius-to-kelvin-conversion", "temp_filter", "temp-filter").Replace(string(data)))
	if err := os.WriteFile(wf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for comp, target := range map[string]string{"celsius-to-kelvin-conversion": "edge", "temp-filter": "cloud"} {
		name := strings.ReplaceAll(comp, "_", "-")
		doc := `apiVersion: runtime.wasmcloud.dev/v1alpha1
kind: WorkloadDeployment
metadata:
  name: ` + name + `
  labels:
    app.kubernetes.io/managed-by: pelato
    pelato.dev/project: temperature-data-analysis
    pelato.dev/task: ` + comp + `
    pelato.dev/target: ` + target + `
spec:
  replicas: 1
  template:
    spec:
      hostSelector:
        hostgroup: ` + ns + "-" + target + `
      components:
        - name: ` + name + `
          image: localhost:5000/temperature/` + comp + `:1.0.0
`
		gd := filepath.Join(dir, "gen", comp)
		if err := os.MkdirAll(gd, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(gd, "workloaddeployment.yaml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, ns, e.Kubeconfig
}

func TestDeployCommandWasmCloud2(t *testing.T) {
	dir, ns, kc := kubeProject(t, true)
	code, out, errOut := pelato(t, "deploy", dir, "--kubeconfig", kc, "--namespace", ns)
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "temp-filter                   1.0.2    created  deployed") || !strings.Contains(out, "deployed 2 of 2 components to namespace "+ns) {
		t.Errorf("deploy table:\n%s", out)
	}
	if !strings.Contains(errOut, "Deploying 2 components to namespace "+ns+" at ") {
		t.Errorf("progress:\n%s", errOut)
	}
	// Unchanged: a no-op, in JSON.
	code, out, _ = pelato(t, "deploy", dir, "--kubeconfig", kc, "-n", ns, "--format", "json")
	if code != 0 {
		t.Fatalf("redeploy: exit %d\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last struct {
		Deploy struct {
			Platform   string `json:"platform"`
			Namespace  string `json:"namespace"`
			Components []struct {
				Action string `json:"action"`
			} `json:"components"`
		} `json:"deploy"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Deploy.Platform != "wasmcloud2" || last.Deploy.Namespace != ns || len(last.Deploy.Components) != 2 || last.Deploy.Components[0].Action != "unchanged" {
		t.Errorf("json: %s", lines[len(lines)-1])
	}
	code, out, _ = pelato(t, "status", dir, "--kubeconfig", kc, "--namespace", ns)
	if code != 0 || !strings.Contains(out, "Namespace "+ns+" at ") || !strings.Contains(out, "ready (1/1 replicas)") || !strings.Contains(out, ns+"-edge") {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	code, out, errOut = pelato(t, "remove", dir, "--kubeconfig", kc, "--namespace", ns)
	if code != 0 || !strings.Contains(out+errOut, "removed 2 applications from namespace "+ns) {
		t.Errorf("remove: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestDeployCommandWasmCloud2NoHost(t *testing.T) {
	dir, ns, kc := kubeProject(t, false)
	code, out, errOut := pelato(t, "deploy", dir, "temp-filter", "--kubeconfig", kc, "--namespace", ns)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "no host has label hostgroup="+ns+"-cloud") || !strings.Contains(errOut, ns+"-cloud {hostgroup="+ns+"-cloud} (not ready)") {
		t.Errorf("no explanation:\n%s", errOut)
	}
}

func TestDeployCommandWasmCloud2BadKubeconfig(t *testing.T) {
	dir := copyDir(t, "../../examples/temperature")
	wf := filepath.Join(dir, "workflow.yaml")
	data, _ := os.ReadFile(wf)
	_ = os.WriteFile(wf, []byte(strings.Replace(string(data), "tasks:\n", "platform: wasmcloud2\ntasks:\n", 1)), 0o644)
	missing := filepath.Join(t.TempDir(), "nope")
	code, _, errOut := pelato(t, "status", dir, "--kubeconfig", missing)
	if code != 2 || !strings.Contains(errOut, "kubeconfig "+missing+" does not exist: check --kubeconfig") {
		t.Errorf("exit %d\n%s", code, errOut)
	}
}
