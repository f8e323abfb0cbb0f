package wadm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxManifestSize bounds the input Decode accepts.
const maxManifestSize = 4 << 20

// Decode parses a manifest (YAML or JSON) as strictly as wadm does: unknown keys,
// missing required fields, values of the wrong type (a number where a string is
// expected, such as an unquoted config value), duplicate keys, unsupported trait
// types and more than one document are errors. Decode does not apply the rules of
// Validate.
func Decode(data []byte) (*Manifest, error) {
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("wadm: manifest is %d bytes, more than the %d accepted", len(data), maxManifestSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("wadm: manifest is empty")
		}
		return nil, fmt.Errorf("wadm: parsing manifest: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("wadm: parsing manifest: %w", err)
		}
		return nil, fmt.Errorf("wadm: line %d: a manifest is one YAML document, found another", extra.Line)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("wadm: manifest is empty")
	}
	var m Manifest
	if err := decodeStrict(doc.Content[0], &m, ""); err != nil {
		return nil, fmt.Errorf("wadm: %w", err)
	}
	return &m, nil
}

// decodeStrict checks n against the shape of *v and then decodes it.
func decodeStrict(n *yaml.Node, v any, path string) error {
	if err := checkNode(n, reflect.TypeOf(v).Elem(), path); err != nil {
		return err
	}
	if err := n.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", where(n, path), err)
	}
	return nil
}

// decodeStrict decodes a trait node at path: {type, properties} where the shape of
// properties depends on type.
func (t *Trait) decodeStrict(n *yaml.Node, path string) error {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: a trait must be a mapping with type and properties", where(n, path))
	}
	var typ, props *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], resolve(n.Content[i+1])
		key, err := keyString(k, path)
		if err != nil {
			return err
		}
		if seen[key] {
			return fmt.Errorf("%s: duplicate key %q", where(k, path), key)
		}
		seen[key] = true
		switch key {
		case "type":
			typ = val
		case "properties":
			props = val
		default:
			return fmt.Errorf("%s: unknown key %q (a trait has type and properties)", where(k, path), key)
		}
	}
	if isNull(typ) {
		return fmt.Errorf("%s: missing required key \"type\"", where(n, path))
	}
	if isNull(props) {
		return fmt.Errorf("%s: missing required key \"properties\"", where(n, path))
	}
	if typ.Kind != yaml.ScalarNode || typ.ShortTag() != "!!str" {
		return fmt.Errorf("%s: must be a string", where(typ, join(path, "type")))
	}
	*t = Trait{Type: typ.Value}
	switch typ.Value {
	case TraitLink:
		t.Link = new(LinkProperty)
		return decodeStrict(props, t.Link, join(path, "properties"))
	case TraitSpreadScaler, TraitDaemonScaler:
		t.Scaler = new(ScalerProperty)
		return decodeStrict(props, t.Scaler, join(path, "properties"))
	default:
		return fmt.Errorf("%s: unsupported trait type %q (wadm supports %s, %s and %s)",
			where(typ, join(path, "type")), typ.Value, TraitSpreadScaler, TraitDaemonScaler, TraitLink)
	}
}

// deprecatedKey explains keys wadm once accepted that pelato refuses.
func deprecatedKey(key string) string {
	switch key {
	case "source_config":
		return " (deprecated link form: use source: {config: [...]})"
	case "target_config":
		return " (deprecated link form: use target: {name: ..., config: [...]})"
	case "replicas":
		return " (deprecated: use instances)"
	}
	return ""
}

// checkNode verifies that n has the shape of a value of type t: mappings only
// carry the keys of the struct (and all its required ones), scalars have the
// YAML type of the Go field.
func checkNode(n *yaml.Node, t reflect.Type, path string) error {
	n = resolve(n)
	if t == reflect.TypeFor[Trait]() {
		var tr Trait
		return tr.decodeStrict(n, path)
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		return fmt.Errorf("%s: internal error: no strict check for %s", where(n, path), t)
	}
	switch t.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return nil
		}
		return checkNode(n, t.Elem(), path)
	case reflect.Struct:
		return checkStruct(n, t, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: must be a list", where(n, path))
		}
		for i, item := range n.Content {
			if err := checkNode(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return fmt.Errorf("%s: internal error: map key %s", where(n, path), t.Key())
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: must be a mapping", where(n, path))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, err := keyString(n.Content[i], path)
			if err != nil {
				return err
			}
			if seen[key] {
				return fmt.Errorf("%s: duplicate key %q", where(n.Content[i], path), key)
			}
			seen[key] = true
			if err := checkNode(n.Content[i+1], t.Elem(), join(path, key)); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			return fmt.Errorf("%s: must be a string%s", where(n, path), quoteHint(n))
		}
		return nil
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			return fmt.Errorf("%s: must be an integer", where(n, path))
		}
		return nil
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			return fmt.Errorf("%s: must be true or false", where(n, path))
		}
		return nil
	default:
		return fmt.Errorf("%s: internal error: unsupported field type %s", where(n, path), t)
	}
}

// checkStruct verifies a mapping against the yaml-tagged fields of struct type t.
func checkStruct(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: must be a mapping", where(n, path))
	}
	type field struct {
		typ      reflect.Type
		required bool
	}
	fields := map[string]field{}
	var order []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = field{typ: f.Type, required: f.Tag.Get("wadm") == "required"}
		order = append(order, name)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, err := keyString(k, path)
		if err != nil {
			return err
		}
		if seen[key] {
			return fmt.Errorf("%s: duplicate key %q", where(k, path), key)
		}
		seen[key] = true
		f, ok := fields[key]
		if !ok {
			return fmt.Errorf("%s: unknown key %q%s; allowed: %s",
				where(k, path), key, deprecatedKey(key), strings.Join(order, ", "))
		}
		if isNull(val) {
			if f.required {
				return fmt.Errorf("%s: %q must not be null", where(val, path), key)
			}
			continue
		}
		if err := checkNode(val, f.typ, join(path, key)); err != nil {
			return err
		}
	}
	for _, name := range order {
		if fields[name].required && !seen[name] {
			return fmt.Errorf("%s: missing required key %q", where(n, path), name)
		}
	}
	return nil
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or an explicit null.
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// keyString returns the text of a mapping key, which must be a string.
func keyString(k *yaml.Node, path string) (string, error) {
	k = resolve(k)
	if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
		return "", fmt.Errorf("%s: mapping keys must be strings, found %s", where(k, path), describe(k))
	}
	return k.Value, nil
}

// describe names the kind of a node for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%s %q", strings.TrimPrefix(n.ShortTag(), "!!"), n.Value)
	default:
		return "a node"
	}
}

// quoteHint suggests quoting a scalar YAML reads as another type.
func quoteHint(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return ", found " + describe(n)
	}
	return fmt.Sprintf(", found %s (quote it: %q)", describe(n), n.Value)
}

// where formats the position of n and the path of the value.
func where(n *yaml.Node, path string) string {
	if path == "" {
		path = "manifest"
	}
	if n != nil && n.Line > 0 {
		return fmt.Sprintf("line %d: %s", n.Line, path)
	}
	return path
}

// join appends key to a dotted path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
