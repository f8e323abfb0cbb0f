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
