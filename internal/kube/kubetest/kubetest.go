// Package kubetest starts a real kube-apiserver and etcd (controller-runtime's
// envtest, binaries from KUBEBUILDER_ASSETS, built by .ci/kube.sh) with the
// upstream runtime.wasmcloud.dev CRDs installed, for the tests of internal/kube,
// internal/pipeline and cmd/pelato. Because no wasmCloud runtime-operator (nor a
// controller-manager) runs there, Operator plays it: see its doc comment.
package kubetest

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pelato-dev/pelato/internal/testenv"
)

//go:embed testdata/crds/*.yaml
var crdFiles embed.FS

// HowToGet says how to get the binaries the tests need.
const HowToGet = "no kube-apiserver/etcd: run `bash .ci/kube.sh` and `eval \"$(bash .ci/kube.sh --env)\"` (sets KUBEBUILDER_ASSETS)"

// Env is a running kube-apiserver with the runtime.wasmcloud.dev CRDs.
type Env struct {
	// REST reaches the API server as an administrator.
	REST *rest.Config
	// Kubeconfig is a kubeconfig file for it (context "envtest").
	Kubeconfig string
	// Dyn is a dynamic client of it.
	Dyn dynamic.Interface

	env *envtest.Environment
	tmp string
}

// Start starts kube-apiserver and etcd from KUBEBUILDER_ASSETS with the CRDs.
func Start() (*Env, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, fmt.Errorf("%s", HowToGet)
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			return nil, fmt.Errorf("KUBEBUILDER_ASSETS=%s has no %s: run `bash .ci/kube.sh`", assets, b)
		}
	}
	tmp, err := os.MkdirTemp("", "pelato-kubetest-")
	if err != nil {
		return nil, err
	}
	crdDir := filepath.Join(tmp, "crds")
	if err := os.MkdirAll(crdDir, 0o755); err != nil {
		return nil, err
	}
	names, _ := fs.Glob(crdFiles, "testdata/crds/*.yaml")
	for _, n := range names {
		data, _ := crdFiles.ReadFile(n)
		if err := os.WriteFile(filepath.Join(crdDir, filepath.Base(n)), data, 0o644); err != nil {
			return nil, err
		}
	}
	te := &envtest.Environment{CRDDirectoryPaths: []string{crdDir}, ErrorIfCRDPathMissing: true, BinaryAssetsDirectory: assets,
		ControlPlaneStartTimeout: 2 * time.Minute, ControlPlaneStopTimeout: time.Minute}
	rc, err := te.Start()
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("envtest (KUBEBUILDER_ASSETS=%s): %w", assets, err)
	}
	e := &Env{REST: rc, env: te, tmp: tmp}
	user, err := te.AddUser(envtest.User{Name: "pelato-test", Groups: []string{"system:masters"}}, rc)
	if err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("envtest user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		_ = e.Stop()
		return nil, err
	}
	e.Kubeconfig = filepath.Join(tmp, "kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, kc, 0o600); err != nil {
		_ = e.Stop()
		return nil, err
	}
	if e.Dyn, err = dynamic.NewForConfig(rc); err != nil {
		_ = e.Stop()
		return nil, err
	}
	return e, nil
}

// Stop stops the API server and etcd and removes the temporary files.
func (e *Env) Stop() error {
	err := e.env.Stop()
	os.RemoveAll(e.tmp)
	return err
}

// Namespace creates a namespace for one test, named after it, and deletes it at
// the end (envtest has no namespace controller: its objects stay, but no other
// test looks there).
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(t.Name())
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name)
	if len(name) > 40 {
		name = name[:40]
	}
	name = strings.Trim(name, "-") + fmt.Sprintf("-%d", time.Now().UnixNano()%1_000_000)
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
	res := e.Dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"})
	if _, err := res.Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() { _ = res.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	return name
}

// HostNamespace is where AddHost puts Hosts (the operator's namespace).
const HostNamespace = "wasmcloud-system"

// AddHost creates a Host resource as the runtime-operator does from a host's
// heartbeat, with labels and a Ready condition (ready or not), in
// HostNamespace; it is deleted at the end of t.
func (e *Env) AddHost(t testing.TB, name string, labels map[string]string, ready bool) {
	t.Helper()
	ctx := context.Background()
	nsRes := e.Dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"})
	_, _ = nsRes.Create(ctx, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": HostNamespace}}}, metav1.CreateOptions{})
	l := map[string]any{}
	for k, v := range labels {
		l[k] = v
	}
	h := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "runtime.wasmcloud.dev/v1alpha1", "kind": "Host",
		"metadata": map[string]any{"name": name, "namespace": HostNamespace, "labels": l},
		"hostId":   "N" + strings.ToUpper(strings.ReplaceAll(name, "-", "")), "hostname": name, "httpPort": int64(8080),
	}}
	res := e.Dyn.Resource(hostsGVR).Namespace(HostNamespace)
	created, err := res.Create(ctx, h, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Host %s: %v", name, err)
	}
	status := "False"
	msg := "host has not reported for 30s"
	if ready {
		status, msg = "True", ""
	}
	created.Object["status"] = map[string]any{
		"version": "2.7.0", "osName": "linux", "osArch": "x86_64", "osKernel": "6.1", "systemCPUUsage": "1.0",
		"systemMemoryTotal": int64(1 << 30), "systemMemoryFree": int64(1 << 29),
		"lastSeen":   time.Now().UTC().Format(time.RFC3339),
		"conditions": []any{cond("Ready", status, reasonFor(status), msg)},
	}
	if _, err := res.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("Host %s status: %v", name, err)
	}
	t.Cleanup(func() { _ = res.Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

func reasonFor(status string) string {
	if status == "True" {
		return "Available"
	}
	return "Unavailable"
}

func cond(typ, status, reason, msg string) map[string]any {
	c := map[string]any{"type": typ, "status": status, "reason": reason, "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}
	if msg != "" {
		c["message"] = msg
	}
	return c
}

// Lazy starts an Env on first need, for test binaries where few tests need one
// (one Lazy per test binary; Stop it from TestMain after m.Run).
type Lazy struct {
	once sync.Once
	env  *Env
	err  error
}

// Need returns the Env, starting it on the first call, or stops t
// (testenv.Missing) when it cannot start.
func (l *Lazy) Need(t testing.TB) *Env {
	t.Helper()
	l.once.Do(func() { l.env, l.err = Start() })
	if l.err != nil {
		testenv.Missing(t, l.err.Error())
	}
	return l.env
}

// Stop stops the Env if it was started.
func (l *Lazy) Stop() {
	l.once.Do(func() {})
	if l.env != nil {
		_ = l.env.Stop()
	}
}
