package workload

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"testing"

	"gopkg.in/yaml.v3"
)

// crdSchema is the part of an OpenAPI v3 schema a CustomResourceDefinition's
// structural schema uses for the fields pelato writes.
type crdSchema struct {
	Type                 string                `yaml:"type"`
	Format               string                `yaml:"format"`
	Properties           map[string]*crdSchema `yaml:"properties"`
	AdditionalProperties *crdSchema            `yaml:"additionalProperties"`
	Items                *crdSchema            `yaml:"items"`
	Required             []string              `yaml:"required"`
	Pattern              string                `yaml:"pattern"`
	Enum                 []any                 `yaml:"enum"`
	Minimum              *float64              `yaml:"minimum"`
	Maximum              *float64              `yaml:"maximum"`
	MaxLength            *int                  `yaml:"maxLength"`
	MinLength            *int                  `yaml:"minLength"`
	MinItems             *int                  `yaml:"minItems"`
	MaxItems             *int                  `yaml:"maxItems"`
	PreserveUnknown      bool                  `yaml:"x-kubernetes-preserve-unknown-fields"`
}

// loadCRDSchema reads the openAPIV3Schema of version v1alpha1 of the upstream CRD
// (testdata/crds, see its PROVENANCE.md).
func loadCRDSchema(t testing.TB) *crdSchema {
	t.Helper()
	b, err := os.ReadFile("testdata/crds/runtime.wasmcloud.dev_workloaddeployments.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Group    string `yaml:"group"`
			Names    struct{ Kind, Plural string }
			Versions []struct {
				Name   string `yaml:"name"`
				Schema struct {
					OpenAPIV3Schema *crdSchema `yaml:"openAPIV3Schema"`
				} `yaml:"schema"`
			} `yaml:"versions"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatal(err)
	}
	if crd.Spec.Group != Group || crd.Spec.Names.Kind != Kind || crd.Spec.Names.Plural != Resource {
		t.Fatalf("CRD is %s %s/%s; want %s %s/%s", crd.Spec.Group, crd.Spec.Names.Kind, crd.Spec.Names.Plural, Group, Kind, Resource)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == Version {
			return v.Schema.OpenAPIV3Schema
		}
	}
	t.Fatalf("CRD has no version %s", Version)
	return nil
}

// validateSchema walks v (a JSON value: what the API server receives) against s and
// returns every violation, as the API server's structural validation would report
// them: unknown fields (which it would prune silently, so pelato must not write
// them), types, formats, required fields, patterns, bounds.
func validateSchema(s *crdSchema, v any, path string) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if v == nil {
		bad("null is not accepted (the field is not nullable)")
		return errs
	}
	if path == ".metadata" {
		// ObjectMeta: the CRD leaves it to the API server's own validation.
		return validateMeta(v, path)
	}
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("want an object, got %T", v)
			return errs
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				bad("required field %q missing", r)
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch {
			case s.Properties[k] != nil:
				errs = append(errs, validateSchema(s.Properties[k], m[k], path+"."+k)...)
			case s.AdditionalProperties != nil:
				errs = append(errs, validateSchema(s.AdditionalProperties, m[k], path+"."+k)...)
			case !s.PreserveUnknown && !(path == "" && (k == "apiVersion" || k == "kind")):
				bad("unknown field %q (the API server would drop it)", k)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("want an array, got %T", v)
			return errs
		}
		if s.MinItems != nil && len(a) < *s.MinItems {
			bad("%d items, fewer than %d", len(a), *s.MinItems)
		}
		if s.MaxItems != nil && len(a) > *s.MaxItems {
			bad("%d items, more than %d", len(a), *s.MaxItems)
		}
		for i, it := range a {
			errs = append(errs, validateSchema(s.Items, it, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("want a string, got %T", v)
			return errs
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(str) {
			bad("%q does not match %s", str, s.Pattern)
		}
		if s.MaxLength != nil && len(str) > *s.MaxLength {
			bad("longer than %d", *s.MaxLength)
		}
		if s.MinLength != nil && len(str) < *s.MinLength {
			bad("shorter than %d", *s.MinLength)
		}
		if len(s.Enum) > 0 {
			found := false
			for _, e := range s.Enum {
				found = found || e == str
			}
			if !found {
				bad("%q is not one of %v", str, s.Enum)
			}
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) {
			bad("want an integer, got %v", v)
			return errs
		}
		if s.Format == "int32" && (f < math.MinInt32 || f > math.MaxInt32) {
			bad("%v is out of int32", f)
		}
		if s.Minimum != nil && f < *s.Minimum {
			bad("%v is below %v", f, *s.Minimum)
		}
		if s.Maximum != nil && f > *s.Maximum {
			bad("%v is above %v", f, *s.Maximum)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a boolean, got %T", v)
		}
	case "":
		if !s.PreserveUnknown {
			bad("schema without a type")
		}
	default:
		bad("schema type %q not handled by this walk", s.Type)
	}
	return errs
}

// labelKey is a Kubernetes label key: an optional DNS subdomain prefix and a name
// (dns1123Subdomain and labelValue are Validate's).
var (
	labelKey = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
)

// validateMeta checks the metadata fields pelato writes as the API server does:
// the name a DNS-1123 subdomain, label keys and values valid.
func validateMeta(v any, path string) []string {
	var errs []string
	m, ok := v.(map[string]any)
	if !ok {
		return []string{path + ": want an object"}
	}
	for k, val := range m {
		switch k {
		case "name":
			n, _ := val.(string)
			if len(n) > 253 || !dns1123Subdomain.MatchString(n) {
				errs = append(errs, fmt.Sprintf("%s.name: %q is not a DNS-1123 subdomain", path, n))
			}
		case "labels":
			labels, _ := val.(map[string]any)
			for lk, lv := range labels {
				s, _ := lv.(string)
				if !labelKey.MatchString(lk) || !labelValue.MatchString(s) || len(s) > 63 {
					errs = append(errs, fmt.Sprintf("%s.labels: %q: %q is not a valid label", path, lk, s))
				}
			}
		default:
			errs = append(errs, fmt.Sprintf("%s: pelato does not write %q", path, k))
		}
	}
	return errs
}

// ValidateAgainstCRD checks that every WorkloadDeployment of wds, as the JSON the
// API server receives, satisfies the upstream CRD's schema.
func validateAgainstCRD(t testing.TB, s *crdSchema, wds []WorkloadDeployment) {
	t.Helper()
	for _, wd := range wds {
		b, err := json.Marshal(wd)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		for _, e := range validateSchema(s, v, "") {
			t.Errorf("%s: %s", wd.Metadata.Name, e)
		}
	}
}

// TestSchemaWalkRefuses shows the walk fails on what the API server refuses, so
// the validation of gen's output can fail.
func TestSchemaWalkRefuses(t *testing.T) {
	s := loadCRDSchema(t)
	for _, tc := range []struct {
		name string
		edit func(*WorkloadDeployment)
	}{
		{"empty interfaces", func(wd *WorkloadDeployment) { wd.Spec.Template.Spec.HostInterfaces[0].Interfaces = nil }},
		{"long version", func(wd *WorkloadDeployment) {
			wd.Spec.Template.Spec.HostInterfaces[0].Version = string(make([]byte, 65))
		}},
		{"template.metadata", func(wd *WorkloadDeployment) {}},
		{"name with underscore", func(wd *WorkloadDeployment) { wd.Metadata.Name = "temp_filter" }},
		{"label value with space", func(wd *WorkloadDeployment) { wd.Metadata.Labels = map[string]string{LabelTask: "a b"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wd := Build(Input{ComponentName: "c", Image: "r/c:1.0.0", SourceTopic: "in", Publishes: true})[0]
			tc.edit(&wd)
			b, _ := json.Marshal(wd)
			var v any
			_ = json.Unmarshal(b, &v)
			if tc.name == "template.metadata" { // labels belong on the template itself
				v.(map[string]any)["spec"].(map[string]any)["template"].(map[string]any)["metadata"] = map[string]any{}
			}
			if errs := validateSchema(s, v, ""); len(errs) == 0 {
				t.Fatal("the schema walk accepted an invalid object")
			}
		})
	}
}
