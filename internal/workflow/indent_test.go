package workflow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIndentErrorLine: a mis-indented line is reported on that line (yaml.v3 often
// names the line opening the enclosing block), with what to align it with.
func TestIndentErrorLine(t *testing.T) {
	for _, c := range []struct {
		name, src string
		line      int
		says      string
	}{
		{"key deeper than its siblings", "project_name: T\ntasks:\n  - name: a\n    type: processor_nats\n     code: a.go\n    version: 1.0.0\n", 5, "align it with `type:` (4 spaces)"},
		{"key between two columns", "project_name: T\ntasks:\n  - name: a\n    type: processor_nats\n   code: a.go\n    version: 1.0.0\n", 5, "indent it by 4 spaces like `name:` on line 3"},
		{"item between two columns", "project_name: T\ntasks:\n  - name: a\n    type: processor_nats\n   - name: b\n    type: x\n", 5, "by 2 spaces like the `- ` item on line 3"},
		{"top-level key indented", "project_name: T\n tasks:\n  - name: a\n", 2, "align it with `project_name:` (0 spaces)"},
		{"key at the dashes' column", "project_name: T\ntasks:\n  - name: a\n    type: processor_nats\n  code: a.go\n", 5, "start a new item with `- `"},
		{"item inside a mapping", "project_name: T\ntasks:\n  - name: a\n    type: p\n    - name: b\n", 5, "a list item needs a key ending with `:` above it"},
		{"nested list", "project_name: T\ntasks:\n- name: a\n  targets:\n    - edge\n   - cloud\n  code: x\n", 6, "by 4 spaces like the `- ` item on line 5"},
		{"config map", "project_name: T\ntasks:\n  - name: a\n    config:\n      a: b\n     c: d\n", 6, "by 6 spaces like `a:` on line 5"},
		{"CRLF and BOM", "\ufeffproject_name: T\r\ntasks:\r\n  - name: a\r\n    type: p\r\n   code: a.go\r\n", 5, "indent it by 4 spaces"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := Parse(FileName, []byte(c.src))
			if len(f.Problems) != 1 {
				t.Fatalf("problems: %+v", f.Problems)
			}
			p := f.Problems[0]
			if got := f.Mapper.Point(p.Range.Start).Line; got != c.line || p.Kind != ProblemSyntax {
				t.Errorf("reported on line %d (kind %d), want line %d: %s", got, p.Kind, c.line, p.Message)
			}
			if !strings.HasPrefix(p.Message, "YAML indentation error: ") || !strings.Contains(p.Message, c.says) {
				t.Errorf("message %q does not say %q", p.Message, c.says)
			}
		})
	}
}

// TestIndentScanAcceptsValidYAML: the scan that finds mis-indented lines finds none in
// any valid workflow of the repository (block scalars, flows, anchors, comments,
// indentless lists), so it can never move a real error to a wrong line.
func TestIndentScanAcceptsValidYAML(t *testing.T) {
	var files []string
	for _, glob := range []string{"../../testdata/projects/*/workflow.yaml", "../../examples/*/workflow.yaml", "../check/testdata/*/*/workflow.yaml"} {
		m, _ := filepath.Glob(glob)
		files = append(files, m...)
	}
	extra := "project_name: T\ndesc: |\n  text\n     deeper: text\nbase: &b\n  targets: [edge,\n    cloud]\ntasks:\n- <<: *b\n  name: a # c\n  config:\n    k: \"v: w\"\n  note: plain\n    continued\n  list:\n  - x\n  - y: 1\n    z: 2\n"
	checked := 0
	for _, file := range append(files, "") {
		src := []byte(extra)
		if file != "" {
			var err error
			if src, err = os.ReadFile(file); err != nil {
				t.Fatal(err)
			}
		}
		f := Parse(FileName, src)
		if f.Root == nil {
			continue // not valid YAML
		}
		checked++
		if mi, ok := misindented(src); ok {
			t.Errorf("%s: valid YAML flagged at line %d: %s", file, mi.line, mi.message)
		}
	}
	if checked < 20 {
		t.Errorf("only %d valid workflows checked", checked)
	}
}
