package kube

import (
	"encoding/json"
	"testing"
)

// FuzzParseKubeconfig: any kubeconfig file content gives a resolved config or an
// error naming the file, never a panic.
func FuzzParseKubeconfig(f *testing.F) {
	f.Add([]byte(twoContexts), "")
	f.Add([]byte("apiVersion: v1\nkind: Config\n"), "dev")
	f.Add([]byte("contexts: [{name: a, context: {cluster: b}}]\ncurrent-context: a\n"), "")
	f.Add([]byte("clusters: [{name: c, cluster: {server: 'http://[::1'}}]\ncontexts: [{name: a, context: {cluster: c}}]\ncurrent-context: a\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, ctx string) {
		c, err := ParseKubeconfig("k.yaml", data)
		if err != nil {
			return
		}
		if _, err := resolveParsed(c, Config{Context: ctx}, []string{"k.yaml"}); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

// FuzzDecodeStatus: any JSON object decodes as a deployment and a host without a
// panic, and its words are never empty.
func FuzzDecodeStatus(f *testing.F) {
	f.Add(`{"metadata":{"name":"a","generation":2},"spec":{"replicas":2},"status":{"replicas":{"ready":1},"conditions":[{"type":"Ready","status":"True"}]}}`)
	f.Add(`{"status":{"conditions":[1,"x",{"type":5},{"type":"Scale","status":"Unknown","message":"m","observedGeneration":1e300}]}}`)
	f.Add(`{"spec":{"replicas":"two","template":{"spec":{"hostSelector":{"hostgroup":3}}}},"metadata":{"labels":[]}}`)
	f.Fuzz(func(t *testing.T, in string) {
		var obj map[string]any
		if json.Unmarshal([]byte(in), &obj) != nil || obj == nil {
			return
		}
		d := DecodeDeployment(obj)
		if d.Words() == "" {
			t.Fatal("empty words")
		}
		h := DecodeHost(obj)
		if h.Labels == nil {
			t.Fatal("nil labels")
		}
		_ = DescribeHosts([]Host{h})
	})
}

// FuzzDecodeManifest: any gen/<c>/workloaddeployment.yaml content gives objects or
// an error naming the file, never a panic; every object is a valid WorkloadDeployment.
func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte("apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: WorkloadDeployment\nmetadata: {name: a}\nspec: {replicas: 1}\n---\n# c\n"))
	f.Add([]byte("--- \n---\nkind: [\n"))
	f.Add([]byte("a: &x [*x, *x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := DecodeManifest("w.yaml", data)
		if err != nil {
			if len(err.Error()) < len("w.yaml") || err.Error()[:len("w.yaml")] != "w.yaml" {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, o := range objs {
			if o.GetKind() != KindWorkloadDeployment || o.GetName() == "" {
				t.Fatalf("bad object %v", o.Object)
			}
		}
	})
}
