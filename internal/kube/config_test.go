package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const twoContexts = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://prod.example:6443"}
- name: dev
  cluster: {server: "https://dev.example:6443"}
users: [{name: u, user: {token: x}}]
contexts:
- name: prod
  context: {cluster: prod, user: u, namespace: apps}
- name: dev
  context: {cluster: dev, user: u}
current-context: prod
`

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "config")
	if err := os.WriteFile(kc, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("apiVersion: v1\nkind: Config\ncurrent-context: dev\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", dir) // no ~/.kube/config
	tests := []struct {
		name, env            string
		cfg                  Config
		server, ns, ctx, err string
	}{
		{name: "flag, current context and its namespace", cfg: Config{Kubeconfig: kc}, server: "https://prod.example:6443", ns: "apps", ctx: "prod"},
		{name: "context flag, default namespace", cfg: Config{Kubeconfig: kc, Context: "dev"}, server: "https://dev.example:6443", ns: "default", ctx: "dev"},
		{name: "namespace flag wins", cfg: Config{Kubeconfig: kc, Namespace: "x"}, ns: "x", ctx: "prod", server: "https://prod.example:6443"},
		{name: "KUBECONFIG list, first file's current-context wins", env: other + string(os.PathListSeparator) + kc, ctx: "dev", ns: "default", server: "https://dev.example:6443"},
		{name: "unknown context", cfg: Config{Kubeconfig: kc, Context: "nope"}, err: `has no context "nope" (contexts: dev, prod)`},
		{name: "missing file", cfg: Config{Kubeconfig: filepath.Join(dir, "missing")}, err: "missing does not exist: check --kubeconfig"},
		{name: "no kubeconfig at all", err: "no kubeconfig: " + filepath.Join(dir, ".kube", "config") + " does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.env)
			r, err := Resolve(tt.cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Server != tt.server || r.Namespace != tt.ns || r.Context != tt.ctx {
				t.Errorf("got %s %s %s", r.Server, r.Namespace, r.Context)
			}
		})
	}
}

func TestResolveBadFileNamesIt(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "broken")
	if err := os.WriteFile(kc, []byte("clusters: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Resolve(Config{Kubeconfig: kc})
	if err == nil || !strings.Contains(err.Error(), "kubeconfig "+kc) {
		t.Fatalf("err %v", err)
	}
}

func TestDecodeManifestErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "holds no WorkloadDeployment: run pelato gen (platform wasmcloud2)"},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "f.yaml:1: document 1: is v1 ConfigMap"},
		{"apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: WorkloadDeployment\nmetadata: {name: x, namespace: team}\nspec: {}\n", "sets metadata.namespace"},
		{"apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: WorkloadDeployment\nmetadata: {name: Bad_Name}\nspec: {}\n", `metadata.name "Bad_Name"`},
		{"# c\n---\napiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: WorkloadDeployment\nmetadata: {name: x}\nspec: {}\n---\nkind: [\n", "f.yaml:8: document 3"},
	}
	for _, tt := range tests {
		_, err := DecodeManifest("f.yaml", []byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestWords(t *testing.T) {
	d := DecodeDeployment(map[string]any{
		"metadata": map[string]any{"name": "a", "generation": int64(2)},
		"spec":     map[string]any{"replicas": int64(2)},
		"status": map[string]any{"replicas": map[string]any{"ready": int64(1)}, "conditions": []any{
			map[string]any{"type": "Scale", "status": "Unknown", "reason": "Reconcile", "message": "current ReplicaSet not available yet: ready=1 unavailable=1 expected=2"},
			map[string]any{"type": "Ready", "status": "Unknown", "reason": "Reconcile", "message": "deployment is not synced, deployed or scaled"},
		}},
	})
	want := "not ready (1/2 replicas): Scale unknown: current ReplicaSet not available yet: ready=1 unavailable=1 expected=2; Ready unknown: deployment is not synced, deployed or scaled"
	if got := d.Words(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := DecodeDeployment(map[string]any{}).Words(); got != "not ready (0/1 replicas): no status yet (is the wasmCloud runtime-operator running?)" {
		t.Errorf("empty: %s", got)
	}
}
