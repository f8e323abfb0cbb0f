package workload

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds the manifest files Decode reads.
const MaxFileSize = 4 << 20

// Encode returns the WorkloadDeployments as one YAML stream, a document each
// (separated by `---`), after header, a comment written before the first (each of
// its lines gets "# "; "" writes none). The output is stable: fields in a fixed
// order, map keys sorted.
func Encode(header string, wds []WorkloadDeployment) ([]byte, error) {
	var buf bytes.Buffer
	if header != "" {
		for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
			buf.WriteString(strings.TrimRight("# "+l, " ") + "\n")
		}
	}
	for i, wd := range wds {
		if i > 0 {
			buf.WriteString("---\n")
		}
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(wd); err != nil {
			return nil, fmt.Errorf("workload: encode %s: %w", wd.Metadata.Name, err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("workload: encode %s: %w", wd.Metadata.Name, err)
		}
	}
	return buf.Bytes(), nil
}

// DecodeError is a manifest that is not a WorkloadDeployment pelato can apply: where
// (File:Line:Col, 1-based; Line 0 when the problem is the file as a whole) and what.
type DecodeError struct {
	File      string
	Line, Col int
	Msg       string
}

// Error reads file:line:col: message.
func (e *DecodeError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// ReadFile reads and decodes the manifest file at path (see Decode).
func ReadFile(path string) ([]WorkloadDeployment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read workload manifest: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read workload manifest %s: %w", path, err)
	}
	return Decode(path, data)
}

// Decode parses a manifest file (named file in errors): one or more YAML documents,
// each a WorkloadDeployment. It is strict: unknown keys, values of the wrong type
// (an unquoted number where a string belongs), duplicate keys, aliases, a missing
// name or component, a wrong apiVersion or kind are *DecodeError values naming the
// line and column. Empty documents are skipped; a file with none is an error.
func Decode(file string, data []byte) ([]WorkloadDeployment, error) {
	if len(data) > MaxFileSize {
		return nil, &DecodeError{File: file, Msg: fmt.Sprintf("is larger than %d bytes; it is not a manifest pelato wrote (run pelato gen)", MaxFileSize)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []WorkloadDeployment
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(file, err)
		}
		if len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue
		}
		n := doc.Content[0]
		if err := checkNode(file, n, reflect.TypeFor[WorkloadDeployment](), ""); err != nil {
			return nil, err
		}
		var wd WorkloadDeployment
		if err := n.Decode(&wd); err != nil {
			return nil, &DecodeError{File: file, Line: n.Line, Col: n.Column, Msg: err.Error()}
		}
		if err := checkObject(file, n, wd); err != nil {
			return nil, err
		}
		out = append(out, wd)
	}
	if len(out) == 0 {
		return nil, &DecodeError{File: file, Msg: "holds no WorkloadDeployment; run pelato gen"}
	}
	return out, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error into a DecodeError (yaml.v3 reports
// lines, not columns: the column is 1).
func syntaxError(file string, err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		var line int
		fmt.Sscan(m[1], &line)
		return &DecodeError{File: file, Line: line, Col: 1, Msg: "YAML syntax error: " + m[2]}
	}
	return &DecodeError{File: file, Msg: "YAML syntax error: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

// checkObject checks what the API server needs of a decoded object.
func checkObject(file string, n *yaml.Node, wd WorkloadDeployment) error {
	at := func(path ...string) *yaml.Node {
		cur := n
		for _, p := range path {
			next := field(cur, p)
			if next == nil {
				return cur
			}
			cur = next
		}
		return cur
	}
	fail := func(node *yaml.Node, format string, args ...any) error {
		return &DecodeError{File: file, Line: node.Line, Col: node.Column, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case wd.APIVersion != APIVersion:
		return fail(at("apiVersion"), "apiVersion is %q; want %q", wd.APIVersion, APIVersion)
	case wd.Kind != Kind:
		return fail(at("kind"), "kind is %q; want %q", wd.Kind, Kind)
	case wd.Metadata.Name == "":
		return fail(at("metadata"), "metadata.name is missing")
	case len(wd.Spec.Template.Spec.Components) == 0:
		return fail(at("spec", "template", "spec"), "spec.template.spec.components is empty; a workload needs a component")
	}
	for i, c := range wd.Spec.Template.Spec.Components {
		if c.Name == "" || c.Image == "" {
			return fail(at("spec", "template", "spec", "components"), "components[%d] needs a name and an image", i)
		}
	}
	for i, h := range wd.Spec.Template.Spec.HostInterfaces {
		if h.Namespace == "" || h.Package == "" || len(h.Interfaces) == 0 {
			return fail(at("spec", "template", "spec", "hostInterfaces"), "hostInterfaces[%d] needs a namespace, a package and interfaces", i)
		}
	}
	return nil
}

// field returns the value of key in mapping n, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// checkNode verifies that n has the shape of a value of type t: mappings carry only
// the yaml-tagged fields of structs, scalars have the YAML type of the Go field.
func checkNode(file string, n *yaml.Node, t reflect.Type, path string) error {
	fail := func(node *yaml.Node, format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if path != "" {
			msg = path + ": " + msg
		}
		return &DecodeError{File: file, Line: node.Line, Col: node.Column, Msg: msg}
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return fail(n, "anchors and aliases are not accepted in a workload manifest")
	}
	if isNull(n) {
		return nil // an explicit null is the zero value
	}
	switch t.Kind() {
	case reflect.Pointer:
		return checkNode(file, n, t.Elem(), path)
	case reflect.Struct, reflect.Map:
		if n.Kind != yaml.MappingNode {
			return fail(n, "must be a mapping")
		}
		fields := map[string]reflect.Type{}
		var names []string
		if t.Kind() == reflect.Struct {
			for i := range t.NumField() {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				fields[name] = f.Type
				names = append(names, name)
			}
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return fail(k, "a key must be a string")
			}
			if seen[k.Value] {
				return fail(k, "duplicate key %q", k.Value)
			}
			seen[k.Value] = true
			ft := t.Elem
			if t.Kind() == reflect.Struct {
				typ, ok := fields[k.Value]
				if !ok {
					return fail(k, "unknown key %q; pelato writes only %s", k.Value, strings.Join(names, ", "))
				}
				ft = func() reflect.Type { return typ }
			}
			if err := checkNode(file, v, ft(), join(path, k.Value)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fail(n, "must be a list")
		}
		for i, it := range n.Content {
			if err := checkNode(file, it, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			return fail(n, "must be a string (quote it: %q)", n.Value)
		}
		return nil
	case reflect.Int32:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			return fail(n, "must be a whole number")
		}
		return nil
	}
	return fail(n, "internal error: no check for %s", t)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
