// Package wadm models the application manifests wadm 0.21 (wasmCloud 1.x) deploys:
// Go structs mirroring wadm's own types, a strict decoder that refuses what wadm
// refuses (unknown keys, missing required fields, non-string config values), the
// validation rules wadm and pelato apply, a builder that turns one pelato task into
// an application, and a YAML encoder with a stable key order.
//
// Manifests are always produced from these structs, never from text templates, so
// user-supplied strings cannot inject YAML.
package wadm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Manifest identity.
const (
	// APIVersion is the only apiVersion wadm accepts.
	APIVersion = "core.oam.dev/v1beta1"
	// KindApplication is the only kind wadm accepts.
	KindApplication = "Application"
)

// Component types.
const (
	// TypeComponent is a WebAssembly component.
	TypeComponent = "component"
	// TypeCapability is a capability provider.
	TypeCapability = "capability"
)

// Trait types.
const (
	// TraitSpreadScaler spreads a number of instances over host groups by weight.
	TraitSpreadScaler = "spreadscaler"
	// TraitDaemonScaler runs a number of instances on every matching host.
	TraitDaemonScaler = "daemonscaler"
	// TraitLink links the component to another one.
	TraitLink = "link"
)

// Well-known annotation keys.
const (
	// AnnotationVersion is the manifest version; wadm refuses to store the same
	// version twice and pelato never uses "latest".
	AnnotationVersion = "version"
	// AnnotationDescription is the human-readable description of the application.
	AnnotationDescription = "description"
	// AnnotationSourceHash is pelato's: a hash of the task's code, so that a
	// manifest changes (and wadm must be given a new version) when the code does.
	AnnotationSourceHash = "pelato.dev/source-hash"
)

// Manifest is a wadm application manifest.
type Manifest struct {
	APIVersion string   `yaml:"apiVersion" json:"apiVersion" wadm:"required"`
	Kind       string   `yaml:"kind" json:"kind" wadm:"required"`
	Metadata   Metadata `yaml:"metadata" json:"metadata" wadm:"required"`
	Spec       Spec     `yaml:"spec" json:"spec" wadm:"required"`
}

// Metadata names and describes an application.
type Metadata struct {
	// Name is unique per lattice and must match ^[-\w]+$.
	Name string `yaml:"name" json:"name" wadm:"required"`
	// Annotations must be present (it may be empty); it carries version and description.
	Annotations map[string]string `yaml:"annotations" json:"annotations" wadm:"required"`
	// Labels are optional.
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
}

// Spec lists the components and policies of an application.
type Spec struct {
	Components []Component `yaml:"components" json:"components" wadm:"required"`
	Policies   []Policy    `yaml:"policies,omitempty" json:"policies,omitempty"`
}

// Component is a WebAssembly component or a capability provider.
type Component struct {
	Name string `yaml:"name" json:"name" wadm:"required"`
	// Type is TypeComponent or TypeCapability.
	Type       string     `yaml:"type" json:"type" wadm:"required"`
	Properties Properties `yaml:"properties" json:"properties" wadm:"required"`
	Traits     []Trait    `yaml:"traits,omitempty" json:"traits,omitempty"`
}

// Properties locate a component's artifact and its named configuration.
type Properties struct {
	// Image is the OCI reference; exactly one of Image and Application is set.
	Image string `yaml:"image,omitempty" json:"image,omitempty"`
	// Application refers to a component of a shared application.
	Application *SharedApplication `yaml:"application,omitempty" json:"application,omitempty"`
	// ID overrides the component id (default: <manifest name>-<component name>).
	ID string `yaml:"id,omitempty" json:"id,omitempty"`
	// Config is the named configuration the component reads at runtime
	// (wasi:config/runtime) or, for a provider, receives at start.
	Config  []ConfigProperty `yaml:"config,omitempty" json:"config,omitempty"`
	Secrets []SecretProperty `yaml:"secrets,omitempty" json:"secrets,omitempty"`
}

// SharedApplication names a component of another, shared, application.
type SharedApplication struct {
	Name      string `yaml:"name" json:"name" wadm:"required"`
	Component string `yaml:"component" json:"component" wadm:"required"`
}

// ConfigProperty is a named configuration. With Properties wadm creates it; without,
// it is managed elsewhere and must exist. Names are lattice-wide.
type ConfigProperty struct {
	Name       string            `yaml:"name" json:"name" wadm:"required"`
	Properties map[string]string `yaml:"properties,omitempty" json:"properties,omitempty"`
}

// SecretProperty is a named reference to a secret.
type SecretProperty struct {
	Name       string       `yaml:"name" json:"name" wadm:"required"`
	Properties SecretSource `yaml:"properties" json:"properties" wadm:"required"`
}

// SecretSource says where a secret comes from.
type SecretSource struct {
	Policy  string `yaml:"policy" json:"policy" wadm:"required"`
	Key     string `yaml:"key" json:"key" wadm:"required"`
	Field   string `yaml:"field,omitempty" json:"field,omitempty"`
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
}

// Policy is an application-wide setting.
type Policy struct {
	Name       string            `yaml:"name" json:"name" wadm:"required"`
	Type       string            `yaml:"type" json:"type" wadm:"required"`
	Properties map[string]string `yaml:"properties" json:"properties" wadm:"required"`
}

// Trait is a scaler or a link attached to a component. Exactly one of Link and
// Scaler is set: Link for TraitLink, Scaler for TraitSpreadScaler and
// TraitDaemonScaler.
type Trait struct {
	Type   string
	Link   *LinkProperty
	Scaler *ScalerProperty
}

// LinkProperty links the component carrying the trait (the source) to Target.Name
// over the WIT interfaces namespace:package/interface. This is wadm's current link
// form; the deprecated source_config/target_config keys are refused.
type LinkProperty struct {
	Namespace  string            `yaml:"namespace" json:"namespace" wadm:"required"`
	Package    string            `yaml:"package" json:"package" wadm:"required"`
	Interfaces []string          `yaml:"interfaces" json:"interfaces" wadm:"required"`
	Name       string            `yaml:"name,omitempty" json:"name,omitempty"`
	Target     TargetConfig      `yaml:"target" json:"target" wadm:"required"`
	Source     *ConfigDefinition `yaml:"source,omitempty" json:"source,omitempty"`
}

// TargetConfig names the target of a link and the configuration it receives.
type TargetConfig struct {
	Name    string           `yaml:"name" json:"name" wadm:"required"`
	Config  []ConfigProperty `yaml:"config,omitempty" json:"config,omitempty"`
	Secrets []SecretProperty `yaml:"secrets,omitempty" json:"secrets,omitempty"`
}

// ConfigDefinition is the configuration the source of a link receives.
type ConfigDefinition struct {
	Config  []ConfigProperty `yaml:"config,omitempty" json:"config,omitempty"`
	Secrets []SecretProperty `yaml:"secrets,omitempty" json:"secrets,omitempty"`
}

// ScalerProperty is the shape of both spreadscaler and daemonscaler properties.
type ScalerProperty struct {
	// Instances is the total for a spreadscaler and the count per host for a
	// daemonscaler.
	Instances int      `yaml:"instances" json:"instances" wadm:"required"`
	Spread    []Spread `yaml:"spread,omitempty" json:"spread,omitempty"`
}

// Spread is a group of hosts selected by labels, with a weight (default 100).
type Spread struct {
	Name         string            `yaml:"name" json:"name" wadm:"required"`
	Requirements map[string]string `yaml:"requirements" json:"requirements" wadm:"required"`
	Weight       *int              `yaml:"weight,omitempty" json:"weight,omitempty"`
}

// traitLinkWire is the encoded form of a Trait with link properties.
type traitLinkWire struct {
	Type       string        `yaml:"type" json:"type"`
	Properties *LinkProperty `yaml:"properties" json:"properties"`
}

// traitScalerWire is the encoded form of a Trait with scaler properties.
type traitScalerWire struct {
	Type       string          `yaml:"type" json:"type"`
	Properties *ScalerProperty `yaml:"properties" json:"properties"`
}

// wire returns the value a Trait encodes as.
func (t Trait) wire() (any, error) {
	switch {
	case t.Link != nil && t.Scaler != nil:
		return nil, fmt.Errorf("trait %q has both link and scaler properties", t.Type)
	case t.Link != nil:
		return traitLinkWire{Type: t.Type, Properties: t.Link}, nil
	case t.Scaler != nil:
		return traitScalerWire{Type: t.Type, Properties: t.Scaler}, nil
	default:
		return nil, fmt.Errorf("trait %q has no properties", t.Type)
	}
}

// MarshalYAML encodes the trait as {type, properties}.
func (t Trait) MarshalYAML() (any, error) { return t.wire() }

// MarshalJSON encodes the trait as {"type", "properties"}.
func (t Trait) MarshalJSON() ([]byte, error) {
	w, err := t.wire()
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// UnmarshalYAML decodes a trait strictly: the properties must match the shape
// its type requires, with no unknown keys.
func (t *Trait) UnmarshalYAML(n *yaml.Node) error {
	return t.decodeStrict(n, "trait")
}

// Marshal encodes m as YAML: struct fields in declaration order, map keys sorted,
// two-space indentation. Strings are quoted whenever YAML would read them as
// anything but the same string; strings holding line breaks, control characters
// or surrounding blanks are double-quoted with escapes. Strings that are not valid
// UTF-8 are an error (Validate reports them too).
func Marshal(m *Manifest) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("wadm: marshal: nil manifest")
	}
	root, err := toNode(reflect.ValueOf(m))
	if err != nil {
		return nil, fmt.Errorf("wadm: marshal manifest %q: %w", m.Metadata.Name, err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("wadm: marshal manifest %q: %w", m.Metadata.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("wadm: marshal manifest %q: %w", m.Metadata.Name, err)
	}
	return buf.Bytes(), nil
}

// toNode converts v to a YAML node tree following the yaml struct tags. It is
// used instead of yaml.v3's own encoding, which cannot round-trip some strings
// (a lone "\n" comes back empty).
func toNode(v reflect.Value) (*yaml.Node, error) {
	if v.Type() == reflect.TypeFor[Trait]() {
		w, err := v.Interface().(Trait).wire()
		if err != nil {
			return nil, err
		}
		return toNode(reflect.ValueOf(w))
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
		}
		return toNode(v.Elem())
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for i := 0; i < v.NumField(); i++ {
			name, opts, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			f := v.Field(i)
			if opts == "omitempty" && isEmpty(f) {
				continue
			}
			val, err := toNode(f)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			n.Content = append(n.Content, strNode(name), val)
		}
		return flowIfEmpty(n), nil
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := 0; i < v.Len(); i++ {
			item, err := toNode(v.Index(i))
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			n.Content = append(n.Content, item)
		}
		return flowIfEmpty(n), nil
	case reflect.Map:
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range keys {
			val, err := toNode(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())))
			if err != nil {
				return nil, fmt.Errorf("%q: %w", k, err)
			}
			n.Content = append(n.Content, strNode(k), val)
		}
		return flowIfEmpty(n), nil
	case reflect.String:
		if !utf8.ValidString(v.String()) {
			return nil, fmt.Errorf("%q is not valid UTF-8", v.String())
		}
		return strNode(v.String()), nil
	case reflect.Int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}, nil
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}, nil
	}
	return nil, fmt.Errorf("cannot encode a %s", v.Type())
}

// isEmpty reports whether an omitempty field is left out.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return v.IsZero()
}

// flowIfEmpty writes an empty mapping or list as {} or [].
func flowIfEmpty(n *yaml.Node) *yaml.Node {
	if len(n.Content) == 0 {
		n.Style = yaml.FlowStyle
	}
	return n
}

// strNode returns a string scalar: plain when every YAML reader reads that text back
// as the same string (see plainSafe), double-quoted with escapes otherwise. The
// decision is made here, not left to the encoder: yaml.v3 writes some strings plain
// that it, or a YAML 1.2 reader such as wadm's, then reads as something else (`<<`
// as a merge key).
func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if !plainSafe(s) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

var (
	// plainRE is the shape of the plain scalars pelato writes: no indicator first,
	// no flow indicators, quotes, comments or key separators anywhere.
	plainRE = regexp.MustCompile(`^[A-Za-z0-9_/][A-Za-z0-9_./:+*>@()=|,-]*( [A-Za-z0-9_./:+*>@()=|,-]+)*$`)
	// yaml12NonString matches what the YAML 1.2 core schema reads as null, a
	// boolean, an integer or a float.
	yaml12NonString = regexp.MustCompile(`^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$`)
	// yaml11Bool matches YAML 1.1's booleans, which 1.1 readers still apply.
	yaml11Bool = regexp.MustCompile(`^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$`)
)

// plainSafe reports whether s can be written as a plain scalar: it has the plain
// shape, no YAML 1.2 (core schema) or 1.1 reader takes it for a null, boolean or
// number, it ends in no `:`, and yaml.v3 reads it back as exactly s.
func plainSafe(s string) bool {
	if s == "" || !plainRE.MatchString(s) || strings.HasSuffix(s, ":") || strings.Contains(s, ": ") ||
		yaml12NonString.MatchString(s) || yaml11Bool.MatchString(s) {
		return false
	}
	if plainWord(s) {
		return true // (the round trip below costs a parser per string: most of gen's time)
	}
	var back any
	if err := yaml.Unmarshal([]byte(s), &back); err != nil {
		return false
	}
	str, ok := back.(string)
	return ok && str == s
}

// plainWord reports whether s, already known to be no YAML 1.2 or 1.1 null or
// boolean, is a string to every YAML reader without asking one: it starts with a
// letter, `_` or `/` (not a number, timestamp, `.inf` or indicator) and has only
// letters, digits and `_./-:` after it (`:` never last or before a space, checked by
// plainSafe).
func plainWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '/':
		case i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':'):
		default:
			return false
		}
	}
	return true
}

// MarshalJSON encodes m as the JSON document wadm's model.put API takes.
func MarshalJSON(m *Manifest) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("wadm: marshal: nil manifest")
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("wadm: marshal manifest %q as JSON: %w", m.Metadata.Name, err)
	}
	return data, nil
}
