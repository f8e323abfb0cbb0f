package wadm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pelato-dev/pelato/internal/testenv"
)

// schemaFile is wadm's own JSON Schema, kept as test data (see its README).
const schemaFile = "testdata/wadm-oam.schema.json"

// sharedSchemaPath finds the project's shared reference copy of wadm's schema
// (shared/reference/wadm-oam.schema.json) by walking up from the working directory.
func sharedSchemaPath() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		p := filepath.Join(dir, "shared", "reference", "wadm-oam.schema.json")
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// loadSchema returns wadm's schema from the test data.
func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	return schema
}

// TestSchemaCopyIsCurrent keeps the test data's copy of wadm's schema equal to the
// project's shared reference, when that is beside the repository.
func TestSchemaCopyIsCurrent(t *testing.T) {
	p, ok := sharedSchemaPath()
	if !ok {
		testenv.Missing(t, "shared/reference/wadm-oam.schema.json is not beside the repository; the copy in "+schemaFile+" cannot be compared with it")
	}
	shared, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, mine) {
		t.Errorf("%s differs from %s: copy it again (cp %s %s)", schemaFile, p, p, schemaFile)
	}
}

func TestManifestsMatchWadmSchema(t *testing.T) {
	schema := loadSchema(t)
	docs := map[string][]byte{"decode_test goodManifest": []byte(goodManifest)}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml.golden"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[f] = data
	}
	for name, in := range buildCases() {
		data, err := Marshal(Build(in))
		if err != nil {
			t.Fatal(err)
		}
		docs["Build "+name] = data
	}
	for i, h := range hostile() {
		in := buildCases()["http_producer"]
		in.Name, in.SourceTopic, in.DestTopic = h, h, h
		in.Config = map[string]string{"k": h}
		data, err := Marshal(Build(in))
		if err != nil {
			t.Fatal(err)
		}
		docs[fmt.Sprintf("hostile %d", i)] = data
	}
	for name, data := range docs {
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v := &schemaValidator{root: schema}
		v.check(schema, doc, "$")
		for _, e := range v.errs {
			t.Errorf("%s: %s", name, e)
		}
	}
}

func TestSchemaValidatorCatchesErrors(t *testing.T) {
	schema := loadSchema(t)
	for name, mutate := range map[string]func(string) string{
		"unknown key": func(s string) string {
			return strings.Replace(s, "kind: Application\n", "kind: Application\nextra: 1\n", 1)
		},
		"missing annotations": func(s string) string { return strings.Replace(s, "  annotations:\n", "  labels:\n", 1) },
		"int config value":    func(s string) string { return strings.Replace(s, "dest_topic: out", "dest_topic: 8080", 1) },
		"unknown property key": func(s string) string {
			return strings.Replace(s, "        image: localhost", "        colour: red\n        image: localhost", 1)
		},
		"bad component type": func(s string) string { return strings.Replace(s, "type: capability", "type: provider", 1) },
	} {
		var doc any
		if err := yaml.Unmarshal([]byte(mutate(goodManifest)), &doc); err != nil {
			t.Fatal(err)
		}
		v := &schemaValidator{root: schema}
		v.check(schema, doc, "$")
		if len(v.errs) == 0 {
			t.Errorf("%s: the schema check accepted it", name)
		}
	}
}

// schemaValidator checks a document against the subset of JSON Schema (draft 7)
// wadm's schema uses: type, required, properties, additionalProperties, enum,
// pattern, items, oneOf, anyOf, allOf, minimum, $ref to #/definitions and boolean
// schemas.
type schemaValidator struct {
	root map[string]any
	errs []string
}

func (v *schemaValidator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

// valid reports whether doc matches schema, without recording errors.
func (v *schemaValidator) valid(schema any, doc any, path string) bool {
	sub := &schemaValidator{root: v.root}
	sub.check(schema, doc, path)
	return len(sub.errs) == 0
}

func (v *schemaValidator) check(schemaAny any, doc any, path string) {
	switch s := schemaAny.(type) {
	case bool:
		if !s {
			v.fail(path, "false schema")
		}
		return
	case map[string]any:
		v.checkObject(s, doc, path)
	default:
		v.fail(path, "unsupported schema %T", schemaAny)
	}
}

func (v *schemaValidator) checkObject(s map[string]any, doc any, path string) {
	known := map[string]bool{
		"$schema": true, "title": true, "description": true, "type": true, "required": true,
		"properties": true, "additionalProperties": true, "definitions": true, "enum": true,
		"pattern": true, "items": true, "oneOf": true, "anyOf": true, "allOf": true, "$ref": true,
		"minimum": true, "format": true, "deprecated": true, "writeOnly": true,
	}
	for k := range s {
		if !known[k] {
			v.fail(path, "schema keyword %q is not supported by this test's validator", k)
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		const prefix = "#/definitions/"
		if !strings.HasPrefix(ref, prefix) {
			v.fail(path, "unsupported $ref %q", ref)
			return
		}
		defs, _ := v.root["definitions"].(map[string]any)
		target, ok := defs[strings.TrimPrefix(ref, prefix)]
		if !ok {
			v.fail(path, "unresolved $ref %q", ref)
			return
		}
		v.check(target, doc, path)
	}
	if t, ok := s["type"]; ok && !typeMatches(t, doc) {
		v.fail(path, "type %v expected, found %s", t, jsonType(doc))
		return
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(doc) && jsonType(e) == jsonType(doc) {
				found = true
			}
		}
		if !found {
			v.fail(path, "%v is not one of %v", doc, enum)
		}
	}
	if p, ok := s["pattern"].(string); ok {
		if str, isStr := doc.(string); isStr && !regexp.MustCompile(p).MatchString(str) {
			v.fail(path, "%q does not match %s", str, p)
		}
	}
	if minimum, ok := s["minimum"].(float64); ok {
		if n, isNum := number(doc); isNum && n < minimum {
			v.fail(path, "%v is below %v", n, minimum)
		}
	}
	if obj, ok := doc.(map[string]any); ok {
		v.checkProperties(s, obj, path)
	}
	if arr, ok := doc.([]any); ok {
		if items, ok := s["items"]; ok {
			for i, item := range arr {
				v.check(items, item, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			v.check(sub, doc, path)
		}
	}
	if anyOf, ok := s["anyOf"].([]any); ok {
		matched := false
		for _, sub := range anyOf {
			if v.valid(sub, doc, path) {
				matched = true
				break
			}
		}
		if !matched {
			v.fail(path, "matches none of anyOf")
		}
	}
	if oneOf, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, sub := range oneOf {
			if v.valid(sub, doc, path) {
				n++
			}
		}
		if n != 1 {
			v.fail(path, "matches %d of oneOf, want exactly 1", n)
			for _, sub := range oneOf {
				v.check(sub, doc, path+"(oneOf)")
			}
		}
	}
}

func (v *schemaValidator) checkProperties(s map[string]any, obj map[string]any, path string) {
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			if _, present := obj[r.(string)]; !present {
				v.fail(path, "missing required property %q", r)
			}
		}
	}
	props, _ := s["properties"].(map[string]any)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := path + "." + k
		if sub, ok := props[k]; ok {
			v.check(sub, obj[k], p)
			continue
		}
		if add, ok := s["additionalProperties"]; ok {
			v.check(add, obj[k], p)
		}
	}
}

// typeMatches reports whether doc has one of the JSON types t names.
func typeMatches(t any, doc any) bool {
	switch tt := t.(type) {
	case string:
		got := jsonType(doc)
		return got == tt || (tt == "number" && got == "integer")
	case []any:
		for _, x := range tt {
			if typeMatches(x, doc) {
				return true
			}
		}
	}
	return false
}

// jsonType names the JSON type of a decoded YAML value.
func jsonType(doc any) string {
	switch d := doc.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case int, int64, uint64:
		return "integer"
	case float64:
		if d == float64(int64(d)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", doc)
	}
}

// number returns doc as a float when it is numeric.
func number(doc any) (float64, bool) {
	switch d := doc.(type) {
	case int:
		return float64(d), true
	case int64:
		return float64(d), true
	case uint64:
		return float64(d), true
	case float64:
		return d, true
	}
	return 0, false
}
