package lsp

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/kube/kubetest"
)

// kenv is the kube-apiserver of the wasmcloud2 tests, started on first need.
var kenv kubetest.Lazy

func TestMain(m *testing.M) {
	code := m.Run()
	kenv.Stop()
	os.Exit(code)
}

// TestKubeCommandsAndHints: on a project of platform wasmcloud2 the same commands
// deploy to the cluster the kube* settings name, and the lattice hints read the
// cluster's Host resources by their hostgroup label.
func TestKubeCommandsAndHints(t *testing.T) {
	e := kenv.Need(t)
	ns := e.Namespace(t)
	e.StartOperator(t, ns)
	// hostgroup values are cluster-wide: the test's own, and a Host with
	// wasmCloud 1's label, which does not count on wasmCloud 2.
	e.AddHost(t, ns+"-h1", map[string]string{"hostgroup": "lspkube-edge"}, true)
	e.AddHost(t, ns+"-h2", map[string]string{"host-type": "lspkube-cloud"}, true)
	root := copyProject(t, "temperature")
	wf := workflowPath(root)
	text := strings.Replace(read(t, wf), "project_name: Temperature data analysis\n", "project_name: Temperature data analysis\nplatform: wasmcloud2\n", 1)
	// component names are Kubernetes object names on wasmcloud2 (PL218)
	text = strings.ReplaceAll(text, "celsius_to_kelvin_conversion", "celsius-to-kelvin-conversion")
	text = strings.ReplaceAll(text, "temp_filter", "temp-filter")
	text = strings.Replace(text, "targets: [edge]", "targets: [lspkube-edge]", 1)
	text = strings.Replace(text, "targets: [cloud]", "targets: [lspkube-cloud]", 1)
	if err := os.WriteFile(wf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := `apiVersion: runtime.wasmcloud.dev/v1alpha1
kind: WorkloadDeployment
metadata:
  name: celsius-to-kelvin-conversion
  labels: {app.kubernetes.io/managed-by: pelato, pelato.dev/task: celsius-to-kelvin-conversion, pelato.dev/target: lspkube-edge}
spec:
  replicas: 1
  template:
    spec:
      hostSelector: {hostgroup: lspkube-edge}
      components: [{name: c, image: "localhost:5000/t/c:1.0.0"}]
`
	gd := filepath.Join(root, "gen", "celsius-to-kelvin-conversion")
	if err := os.MkdirAll(gd, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(gd, "workloaddeployment.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), fmt.Sprintf(`{"kubeconfig": %q, "kubeNamespace": %q, "latticeChecks": true}`, e.Kubeconfig, ns), root)
	c.open(wf, text, 1)
	d := c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool {
		for _, x := range p.Diagnostics {
			if x.Code == protocol.String(string(check.CodeNoHostForTarget)) {
				return true
			}
		}
		return false
	})
	var hints []string
	for _, x := range d.Diagnostics {
		if x.Code == protocol.String(string(check.CodeNoHostForTarget)) {
			hints = append(hints, string(x.Message.(protocol.String)))
		}
	}
	if len(hints) != 1 || !strings.Contains(hints[0], "no host of the cluster has hostgroup=lspkube-cloud") {
		t.Fatalf("hints %q", hints)
	}

	wfURI := string(fileURI(wf))
	res, err := c.command(CmdDeploy, CommandArgs{URI: wfURI, Task: "celsius-to-kelvin-conversion"})
	if err != nil {
		t.Fatal(err)
	}
	var dep struct {
		Platform   string `json:"platform"`
		Namespace  string `json:"namespace"`
		Components []struct {
			Action string `json:"action"`
			Status string `json:"status"`
		} `json:"components"`
	}
	if json.Unmarshal(res, &dep) != nil || dep.Platform != "wasmcloud2" || dep.Namespace != ns || len(dep.Components) != 1 || dep.Components[0].Action != "created" || dep.Components[0].Status != "deployed" {
		t.Fatalf("deploy result %s", res)
	}
	res, err = c.command(CmdStatus, CommandArgs{URI: wfURI})
	if err != nil || !strings.Contains(string(res), `"status":"deployed"`) {
		t.Fatalf("status: %s %v", res, err)
	}
	res, err = c.command(CmdRemove, CommandArgs{URI: wfURI, Task: "celsius-to-kelvin-conversion"})
	if err != nil || !strings.Contains(string(res), `"action":"removed"`) {
		t.Fatalf("remove: %s %v", res, err)
	}
}
