package check

import (
	"bytes"
	"fmt"
	"go/ast"
	"strconv"
	"strings"

	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/taskcode"
	"github.com/pelato-dev/pelato/templates"
)

// TinyGoRecoverSince is the first TinyGo release whose WebAssembly targets (wasm32,
// so wasip2) make recover() work, or "" while no release does. Every released TinyGo
// up to 0.42.0 disables recover on wasm32 (compiler/defer.go): recover() returns nil
// and a panic traps the invocation. When a release gains it, set this and the PL414
// rule stops warning once the builder pins that release (templates.TinyGoVersion).
const TinyGoRecoverSince = ""

// RecoverWorks reports whether recover() works in a component built by TinyGo
// version tinygo ("0.42.0").
func RecoverWorks(tinygo string) bool {
	return TinyGoRecoverSince != "" && compareVersions(tinygo, TinyGoRecoverSince) >= 0
}

// compareVersions compares dotted release numbers ("0.42.0"); a suffix after `-` or
// `+` is ignored, a missing part is 0.
func compareVersions(a, b string) int {
	trim := func(s string) []string {
		s = strings.TrimPrefix(s, "v")
		if i := strings.IndexAny(s, "-+"); i >= 0 {
			s = s[:i]
		}
		return strings.Split(s, ".")
	}
	pa, pb := trim(a), trim(b)
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// recoverCalls reports PL414 on each call of the builtin recover() when the pinned
// TinyGo does not implement it on WebAssembly.
func (tc *taskCheck) recoverCalls() {
	tinygo := templates.TinyGoVersion()
	if RecoverWorks(tinygo) {
		return
	}
	for _, f := range tc.job.files {
		if f.ast == nil || !bytes.Contains(f.content, []byte("recover")) {
			continue
		}
		if declaresTopLevel(tc.job.files, "recover") {
			return // the package's own recover, not the builtin
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "recover" && len(call.Args) == 0 {
				tc.add(Diagnostic{File: f.rel, Range: tc.fileRange(f, call.Pos(), call.End()), Severity: Warning, Code: CodeRecover,
					Message: fmt.Sprintf("recover() has no effect in the built component: TinyGo %s (the version pelato's builder pins) disables recover on WebAssembly, so it returns nil and a panic traps the whole invocation (the message or request fails). Return an error result instead of relying on recover", tinygo)})
			}
			return true
		})
	}
}

// declaresTopLevel reports whether a task file declares name at package level.
func declaresTopLevel(files []*taskFile, name string) bool {
	for _, f := range files {
		if f.ast == nil {
			continue
		}
		for _, decl := range f.ast.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name == name {
					return true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.Name == name {
								return true
							}
						}
					case *ast.TypeSpec:
						if s.Name.Name == name {
							return true
						}
					}
				}
			}
		}
	}
	return false
}

// goGenerate reports PL413 on each //go:generate line that `pelato gen` would copy
// into the generated project, where `wash build` runs `go generate ./...`. The lines
// are found in the copy gen makes (gofmt may move a comment to the start of its
// line), and reported where they are in the task file.
func (tc *taskCheck) goGenerate() {
	for _, f := range tc.job.files {
		if !bytes.Contains(f.content, []byte("//go:generate")) {
			continue
		}
		dirs := taskcode.GenerateDirectives(f.content)
		if cp, err := taskcode.Copy(f.content); err == nil {
			dirs = locateDirectives(f.content, taskcode.GenerateDirectives(cp))
		}
		for _, d := range dirs {
			r := span.Range{Start: d.Start, End: d.End}
			end := d.End
			if end < len(f.content) && f.content[end] == '\r' {
				end++
			}
			if end < len(f.content) && f.content[end] == '\n' {
				end++
			}
			lineStart := bytes.LastIndexByte(f.content[:d.Start], '\n') + 1
			tc.add(Diagnostic{File: f.rel, Range: r, Severity: Warning, Code: CodeGoGenerate,
				Message: fmt.Sprintf("//go:generate would run `%s` at build time: `pelato gen` copies task files into gen/, and `wash build` runs `go generate` there. pelato gen refuses to copy it unless you pass --allow-go-generate; or remove the line, run the generator yourself and keep its output in the task", d.Command),
				Fixes:   []Fix{{Title: "Remove the //go:generate line", Edits: []TextEdit{{File: f.rel, Range: span.Range{Start: lineStart, End: end}, NewText: ""}}}}})
		}
	}
}

// locateDirectives finds, in a task file's content, the lines of the directives of
// its copy (same text once leading white space is trimmed), in order. A directive
// that cannot be found is placed at the start of the file.
func locateDirectives(content []byte, inCopy []taskcode.Directive) []taskcode.Directive {
	var out []taskcode.Directive
	lines := bytes.SplitAfter(content, []byte("\n"))
	next, off := 0, 0
	offsets := make([]int, len(lines))
	for i, l := range lines {
		offsets[i] = off
		off += len(l)
	}
	for _, d := range inCopy {
		want := "//go:generate"
		found := false
		for i := next; i < len(lines); i++ {
			text := strings.TrimRight(string(lines[i]), "\r\n")
			trimmed := strings.TrimLeft(text, " \t")
			if rest, ok := strings.CutPrefix(trimmed, want); ok && strings.TrimSpace(rest) == d.Command {
				start := offsets[i] + len(text) - len(trimmed)
				out = append(out, taskcode.Directive{Line: i + 1, Start: start, End: offsets[i] + len(text), Command: d.Command})
				next, found = i+1, true
				break
			}
		}
		if !found {
			out = append(out, taskcode.Directive{Line: 1, Command: d.Command})
		}
	}
	return out
}
