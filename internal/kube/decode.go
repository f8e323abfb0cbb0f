package kube

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// maxDocuments caps the documents of one manifest file.
const maxDocuments = 256

// DecodeManifest reads the WorkloadDeployments of a manifest file (multi-document
// YAML, as gen writes gen/<component>/workloaddeployment.yaml). Every document must
// be a runtime.wasmcloud.dev/v1alpha1 WorkloadDeployment with a valid name and no
// namespace (the client sets it). Errors name file and document.
func DecodeManifest(file string, data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for i, d := range splitDocuments(data) {
		doc := i + 1
		if len(bytes.TrimSpace(stripComments(d.body))) == 0 {
			continue
		}
		if doc > maxDocuments {
			return nil, fmt.Errorf("%s: more than %d documents", file, maxDocuments)
		}
		var m map[string]any
		if err := yaml.Unmarshal(d.body, &m); err != nil {
			return nil, fmt.Errorf("%s:%d: document %d: %v: run pelato gen (platform wasmcloud2) to rewrite it", file, d.line, doc, err)
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if err := checkObject(u); err != nil {
			return nil, fmt.Errorf("%s:%d: document %d: %v", file, d.line, doc, err)
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no WorkloadDeployment: run pelato gen (platform wasmcloud2)", file)
	}
	return out, nil
}

type document struct {
	body []byte
	line int // 1-based line of its first line
}

// splitDocuments splits YAML at "---" lines.
func splitDocuments(data []byte) []document {
	var docs []document
	cur := document{line: 1}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, l := range lines {
		t := bytes.TrimRight(l, " \t\r\n")
		if bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			docs = append(docs, cur)
			cur = document{line: i + 2}
			continue
		}
		cur.body = append(cur.body, l...)
	}
	return append(docs, cur)
}

func checkObject(u *unstructured.Unstructured) error {
	if u.GetAPIVersion() != APIVersion || u.GetKind() != KindWorkloadDeployment {
		return fmt.Errorf("is %s %s, not a %s %s", orNone(u.GetAPIVersion()), orNone(u.GetKind()), APIVersion, KindWorkloadDeployment)
	}
	name := u.GetName()
	if name == "" {
		return errors.New("has no metadata.name")
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("metadata.name %q: %s", name, strings.Join(errs, "; "))
	}
	if ns, ok := nested(u.Object, "metadata", "namespace"); ok {
		return fmt.Errorf("sets metadata.namespace %v: the namespace is chosen at deploy (--namespace)", ns)
	}
	if _, ok := u.Object["spec"].(map[string]any); !ok {
		return errors.New("has no spec")
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}
