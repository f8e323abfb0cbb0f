package workflow

import (
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// genWorkflow returns a workflow of n tasks in one of several layouts: indented or
// indentless lists, CRLF line breaks, block scalars, flow lists and mappings,
// comments, quoted and multi-byte values, keys after `tasks:`.
func genWorkflow(rng *rand.Rand, n int) string {
	var b strings.Builder
	b.WriteString("# a generated workflow\nproject_name: Generated\n")
	if rng.Intn(3) == 0 {
		b.WriteString("platform: wasmcloud1\n")
	}
	b.WriteString("tasks:\n")
	ind := "  "
	if rng.Intn(4) == 0 {
		ind = ""
	}
	for i := range n {
		fmt.Fprintf(&b, "%s- name: Task %d\n", ind, i)
		fmt.Fprintf(&b, "%s  type: processor_nats\n%s  code: t%03d.go\n", ind, ind, i)
		switch rng.Intn(4) {
		case 0:
			fmt.Fprintf(&b, "%s  targets: [edge, cloud]\n", ind)
		case 1:
			fmt.Fprintf(&b, "%s  targets:\n%s    - edge\n%s    - \"cloud\"\n", ind, ind, ind)
		case 2:
			fmt.Fprintf(&b, "%s  targets: ['edge']   # where it runs\n", ind)
		default:
			fmt.Fprintf(&b, "%s  target: edge\n", ind)
		}
		fmt.Fprintf(&b, "%s  source_topic: topic.%d\n%s  dest_topic: topic.%d\n", ind, i, ind, i+1)
		fmt.Fprintf(&b, "%s  component_name: task_%03d\n%s  version: 1.0.%d\n", ind, i, ind, i)
		switch rng.Intn(6) {
		case 0:
			fmt.Fprintf(&b, "%s  config:\n%s    mode: \"fast\"\n%s    note: |\n%s      line one\n%s      line two é\n", ind, ind, ind, ind, ind)
		case 1:
			fmt.Fprintf(&b, "%s  config: {a: \"1\", b: x}\n", ind)
		case 2:
			b.WriteString("# a comment at the margin\n\n")
		case 3:
			fmt.Fprintf(&b, "%s  instances: 3\n%s  description: >-\n%s    folded\n%s    text\n", ind, ind, ind, ind)
		}
	}
	if rng.Intn(2) == 0 {
		b.WriteString("lattice: default\n# trailing comment\n")
	}
	s := b.String()
	if rng.Intn(5) == 0 {
		s = strings.ReplaceAll(s, "\n", "\r\n")
	}
	return s
}

// snippets are texts a random edit inserts: typing, and what breaks structure.
var snippets = []string{
	"a", "1", " ", "\n", ": ", "- ", "\n  - name: x\n", "\n    extra: 1", "#", "'", "\"",
	"[", "]", "{", "}", "&a ", "*a", "<<: ", "\t", "é", "|\n", "\n---\n", "\r", "\nlattice: x",
	"    ", "tasks:", "~", "null", ",", "!!str ",
}

// edit applies one random edit to s: mostly inside a task's value, sometimes anywhere.
func edit(rng *rand.Rand, s string) string {
	if s == "" {
		return snippets[rng.Intn(len(snippets))]
	}
	at := rng.Intn(len(s) + 1)
	if rng.Intn(3) > 0 { // type in a value: after a key's `: `
		if i := strings.Index(s[at:], ": "); i >= 0 {
			at += i + 2
		}
	}
	end := at
	if rng.Intn(3) == 0 {
		end = min(len(s), at+rng.Intn(12))
	}
	var ins string
	switch rng.Intn(4) {
	case 0:
	case 1:
		ins = snippets[rng.Intn(len(snippets))]
	default:
		ins = string(rune('a' + rng.Intn(26)))
	}
	return s[:at] + ins + s[end:]
}

// sameParse fails t when the Reparser's parse of content differs from Parse's.
func sameParse(t *testing.T, r *Reparser, content string) {
	t.Helper()
	got := r.Parse([]byte(content))
	want := Parse(FileName, []byte(content))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reparse differs from a full parse of:\n%s\ngot problems %v, want %v", content, got.Problems, want.Problems)
	}
}

// TestReparseRandomEdits applies chains of random edits to generated workflows and
// compares every re-parse with a full parse, positions included.
func TestReparseRandomEdits(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	total, incremental := 0, 0
	for w := range 60 {
		text := genWorkflow(rng, 1+rng.Intn(12))
		r := NewReparser(FileName)
		sameParse(t, r, text)
		for e := range 40 {
			if e%10 == 0 && w%2 == 0 {
				text = genWorkflow(rng, 1+rng.Intn(12)) // sometimes start over
			}
			prev := text
			text = edit(rng, text)
			sameParse(t, r, text)
			if len(r.last.Problems) > 0 && rng.Intn(4) > 0 {
				text = prev // undo most breaking edits, as a person fixes a typo
				sameParse(t, r, text)
			}
		}
		inc, full := r.Stats()
		total += inc + full
		incremental += inc
	}
	t.Logf("%d of %d parses re-parsed one entry", incremental, total)
	if incremental < total/6 {
		t.Errorf("only %d of %d parses were incremental: the fast path is not taken", incremental, total)
	}
}

// TestIncrementalMatchesFull edits one task of a large workflow the way the editor
// does, and checks that every edit is re-parsed incrementally and equals a full parse.
func TestIncrementalMatchesFull(t *testing.T) {
	var b strings.Builder
	b.WriteString("project_name: Big\ntasks:\n")
	for i := range 300 {
		fmt.Fprintf(&b, "  - name: Task %d\n    type: processor_nats\n    code: t%03d.go\n    targets: [edge]\n    source_topic: t.%d\n    component_name: task_%03d\n    version: 1.0.0\n", i, i, i, i)
	}
	text := b.String()
	r := NewReparser(FileName)
	sameParse(t, r, text)
	for _, tc := range []struct {
		name, old, new string
	}{
		{"first task's version", "version: 1.0.0", "version: 1.0.1"},
		{"a middle task gains a line", "code: t150.go\n", "code: t150.go\n    instances: 2\n"},
		{"a middle task's name grows", "name: Task 151\n", "name: Task one hundred fifty-one\n"},
		{"last task loses a key", "    version: 1.0.0\n", ""},
		{"a block scalar", "code: t020.go\n", "code: t020.go\n    description: |\n      two\n      lines\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := strings.Index(text, tc.old)
			if tc.name == "last task loses a key" {
				i = strings.LastIndex(text, tc.old)
			}
			if i < 0 {
				t.Fatalf("%q is not in the workflow", tc.old)
			}
			text = text[:i] + tc.new + text[i+len(tc.old):]
			before, _ := r.Stats()
			sameParse(t, r, text)
			if after, _ := r.Stats(); after != before+1 {
				t.Errorf("the edit was parsed in full, not incrementally")
			}
		})
	}
	// An edit outside `tasks:` and one adding a task are parsed in full, and right.
	for _, tc := range []struct{ old, new string }{
		{"project_name: Big", "project_name: Bigger"},
		{"    version: 1.0.0\n  - name: Task 7\n", "    version: 1.0.0\n  - name: Task 6b\n  - name: Task 7\n"},
	} {
		text = strings.Replace(text, tc.old, tc.new, 1)
		_, before := r.Stats()
		sameParse(t, r, text)
		if _, after := r.Stats(); after != before+1 {
			t.Errorf("%q → %q: want a full parse", tc.old, tc.new)
		}
	}
}

// FuzzReparse checks that re-parsing new after old equals a full parse of new. The
// seeds are small, so that the fuzzer's minimisation of a new input stays quick
// (TestReparseRandomEdits covers large generated workflows).
func FuzzReparse(f *testing.F) {
	for _, seed := range [][2]string{
		{"tasks:\n- a: 1\n- b: 2\n", "tasks:\n- a: 1\n- b: 2\n  c: 3\n"},
		{"tasks:\n  - a: 1\n  - b: 2\nx: 1\n", "tasks:\n  - a: 1\n  - b: 22\nx: 1\n"},
		{"p: x\ntasks:\n  - n: a\n    t: [e, c]\n  - n: b\n", "p: x\ntasks:\n  - n: a\n    t: [e]\n  - n: b\n"},
		{"tasks:\n  - s: |\n      l\n  - n: b # c\n", "tasks:\n  - s: |\n      l2\n\n  - n: b # c\n"},
		{"tasks:\r\n  - n: 'a'\r\n  - m: {a: 1}\r\n", "tasks:\r\n  - n: 'ab'\r\n  - m: {a: 1}\r\n"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, old, new string) {
		if len(old) > 1<<16 || len(new) > 1<<16 {
			return
		}
		r := NewReparser(FileName)
		r.Parse([]byte(old))
		got := r.Parse([]byte(new))
		if want := Parse(FileName, []byte(new)); !reflect.DeepEqual(got, want) {
			t.Fatalf("reparse of %q after %q differs from a full parse", new, old)
		}
	})
}
