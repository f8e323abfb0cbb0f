package workflow

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pelato-dev/pelato/internal/span"
)

// text returns the source text a range covers.
func text(f *File, r span.Range) string { return f.Mapper.Text(r) }

func TestPositionsAreExactBytes(t *testing.T) {
	src := "\ufeffproject_name: \"Temp é🌡 \\\"x\\\"\"\r\n" +
		"base: &b\r\n  targets: [edge, cloud]\r\n" +
		"tasks:\r\n" +
		"  - name: Conversión 🌡\r\n" +
		"    <<: *b\r\n" +
		"    code: 'it''s.go'  # a comment\r\n" +
		"    desc: |\r\n      line one\r\n      line two\r\n" +
		"    version: *v\r\n" +
		"  - *b\r\n"
	src = strings.Replace(src, "    version: *v\r\n", "", 1)
	f := Parse(FileName, []byte(src))
	if len(f.Problems) != 0 {
		t.Fatalf("problems: %+v", f.Problems)
	}
	root := f.Root
	if got := text(f, root.Field("project_name").Value.Range); got != `"Temp é🌡 \"x\""` {
		t.Errorf("quoted scalar text = %q", got)
	}
	if p := f.Mapper.Point(root.Field("project_name").KeyRange.Start); p != (span.Point{Line: 1, Col: 2}) {
		t.Errorf("key after BOM at %v, want 1:2 (the BOM is a character)", p)
	}
	tasks := New(f).Tasks
	if len(tasks) != 2 {
		t.Fatalf("tasks = %d", len(tasks))
	}
	first := tasks[0]
	if got := text(f, first.Field("name").Value.Range); got != "Conversión 🌡" {
		t.Errorf("plain scalar text = %q", got)
	}
	if got := text(f, first.Field("code").Value.Range); got != "'it''s.go'" || first.Str("code") != "it's.go" {
		t.Errorf("single-quoted = %q / %q", got, first.Str("code"))
	}
	if got := text(f, first.Field("desc").Value.Range); got != "|\r\n      line one\r\n      line two" {
		t.Errorf("block scalar = %q", got)
	}
	merged := first.Field("targets")
	if merged == nil || text(f, merged.Via) != "<<: *b" || text(f, merged.KeyRange) != "targets" || text(f, merged.At()) != "<<: *b" {
		t.Errorf("merged key must remember the merge site: %+v", merged)
	}
	if got := first.Targets(); strings.Join(got, ",") != "edge,cloud" {
		t.Errorf("targets = %v", got)
	}
	second := tasks[1].Node
	if text(f, second.Via) != "*b" || text(f, second.At()) != "*b" {
		t.Errorf("aliased task must point at the alias: via %q", text(f, second.Via))
	}
	if p := f.Mapper.Point(second.At().Start); p.Line != 11 || p.Col != 5 {
		t.Errorf("alias at %v, want 11:5", p)
	}
}

func TestExplicitKeysOverrideMerged(t *testing.T) {
	f := Parse(FileName, []byte("a: &a {x: 1, y: 2}\nb:\n  <<: *a\n  y: 3\n"))
	b := f.Root.Field("b").Value
	if b.Str("y") != "3" || b.Str("x") != "1" || len(f.Problems) != 0 {
		t.Errorf("merge = x %q y %q, problems %v", b.Str("x"), b.Str("y"), f.Problems)
	}
}

func TestProblems(t *testing.T) {
	for name, tc := range map[string]struct {
		src  string
		kind ProblemKind
		at   string // the text the problem points at
	}{
		"duplicate": {"a: 1\nb: 2\na: 3\n", ProblemDuplicateKey, "a"},
		"multi doc": {"a: 1\n---\nb: 2\n", ProblemMultiDoc, "---"},
		"tab":       {"a:\n\tb: 1\n", ProblemTab, "\t"},
		"empty":     {"  \n# only a comment\n", ProblemEmpty, ""},
		"encoding":  {"a: caf\xe9\n", ProblemEncoding, "\xe9"},
		"alias":     {"a: *nowhere\n", ProblemSyntax, "*nowhere"},
		"syntax":    {"a: [b\nc: d\n", ProblemSyntax, ""},
		"not a map": {"- a\n", ProblemNotMapping, "- a"},
		"key type":  {"? [a]\n: b\n", ProblemKeyType, "["},
		"too large": {strings.Repeat("#", MaxFileSize+1), ProblemTooLarge, ""},
	} {
		t.Run(name, func(t *testing.T) {
			f := Parse(FileName, []byte(tc.src))
			if len(f.Problems) == 0 || f.Problems[0].Kind != tc.kind || f.Problems[0].Message == "" {
				t.Fatalf("problems = %+v, want kind %d", f.Problems, tc.kind)
			}
			if tc.at != "" && !strings.HasPrefix(text(f, f.Problems[0].Range), tc.at) {
				t.Errorf("points at %q, want %q", text(f, f.Problems[0].Range), tc.at)
			}
		})
	}
}

func TestSpecDefaults(t *testing.T) {
	f := Parse(FileName, []byte("project_name: p\ntasks:\n  - name: n\n    target: edge\n    instances: 3\n    config: {a: b, n: 1}\n"))
	s := New(f).Tasks[0].Spec()
	if s.Instances != 3 || s.HTTPPort != DefaultHTTPPort || strings.Join(s.Targets, ",") != "edge" || s.Config["n"] != "1" {
		t.Errorf("spec = %+v", s)
	}
}

func TestMergeOrderAndManyKeys(t *testing.T) {
	f := Parse(FileName, []byte("a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n"))
	c := f.Root.Field("c").Value
	if c.Str("x") != "1" || c.Str("y") != "2" {
		t.Errorf("the first merge source must win: x=%q y=%q", c.Str("x"), c.Str("y"))
	}
	var b strings.Builder
	for i := 0; i < 50000; i++ {
		b.WriteString("key" + strconv.Itoa(i) + ": 1\n")
	}
	b.WriteString("key0: 2\n")
	f = Parse(FileName, []byte(b.String()))
	if len(f.Problems) != 1 || f.Problems[0].Kind != ProblemDuplicateKey {
		t.Errorf("want one duplicate among 50 000 keys, got %d problems", len(f.Problems))
	}
}
