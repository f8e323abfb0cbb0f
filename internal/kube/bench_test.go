package kube_test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/pelato-dev/pelato/internal/kube"
)

// BenchmarkWaitReadyPastReady measures how long after the operator writes Ready
// WaitReady returns (the watch's latency): the benchmark writes the status itself.
func BenchmarkWaitReadyPastReady(b *testing.B) {
	e := kenv.Need(b)
	ns := e.Namespace(b)
	c, err := kube.Connect(kube.Config{Kubeconfig: e.Kubeconfig, Namespace: ns})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	obj := benchObject(b)
	a, err := c.Apply(ctx, obj, false)
	if err != nil {
		b.Fatal(err)
	}
	res := e.Dyn.Resource(kube.WorkloadDeployments).Namespace(ns)
	var past time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		setReady(b, res, a.Name, "Unknown", 0)
		got := make(chan time.Time, 1)
		go func() {
			if _, err := c.WaitReady(ctx, a.Name, 0, nil); err != nil {
				b.Error(err)
			}
			got <- time.Now()
		}()
		time.Sleep(150 * time.Millisecond) // WaitReady is watching by now
		obj, err := res.Get(ctx, a.Name, metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		withStatus(obj, "True", 1)
		t0 := time.Now() // the operator's status write starts
		if _, err := res.UpdateStatus(ctx, obj, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		past += (<-got).Sub(t0)
	}
	b.ReportMetric(float64(past.Microseconds())/float64(b.N)/1000, "ms-past-ready/op")
}

// BenchmarkApplyUnchanged measures an unchanged re-apply (get + server-side apply,
// a no-op on the server).
func BenchmarkApplyUnchanged(b *testing.B) {
	e := kenv.Need(b)
	ns := e.Namespace(b)
	c, err := kube.Connect(kube.Config{Kubeconfig: e.Kubeconfig, Namespace: ns})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	obj := benchObject(b)
	if _, err := c.Apply(ctx, obj, false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a, err := c.Apply(ctx, obj, false)
		if err != nil || a.Action != kube.Unchanged {
			b.Fatalf("%v %+v", err, a)
		}
	}
}

func benchObject(b *testing.B) *unstructuredT {
	data := []byte(`apiVersion: runtime.wasmcloud.dev/v1alpha1
kind: WorkloadDeployment
metadata: {name: bench, labels: {app.kubernetes.io/managed-by: pelato, pelato.dev/project: bench}}
spec:
  replicas: 1
  template:
    spec:
      hostSelector: {hostgroup: bench}
      components: [{name: bench, image: "localhost:5000/bench:0.1.0"}]
`)
	objs, err := kube.DecodeManifest("bench.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	return objs[0]
}

func setReady(b *testing.B, res resourceT, name, status string, ready int64) {
	obj, err := res.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	withStatus(obj, status, ready)
	if _, err := res.UpdateStatus(context.Background(), obj, metav1.UpdateOptions{}); err != nil {
		b.Fatal(err)
	}
}

func withStatus(obj *unstructured.Unstructured, status string, ready int64) {
	obj.Object["status"] = map[string]any{
		"replicas":   map[string]any{"expected": int64(1), "current": int64(1), "ready": ready},
		"conditions": []any{map[string]any{"type": "Ready", "status": status, "reason": "Available", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}},
	}
}

type unstructuredT = unstructured.Unstructured

type resourceT = dynamic.ResourceInterface
