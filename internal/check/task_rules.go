package check

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"go/version"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/pelato-dev/pelato/internal/goimporter"
	"github.com/pelato-dev/pelato/internal/span"
)

// maxTaskErrors bounds the syntax and type errors reported per task, each.
const maxTaskErrors = 100

// taskCheck is the state of one check.
type taskCheck struct {
	c        *TaskChecker
	job      *taskJob
	im       *goimporter.Imports
	fset     *token.FileSet
	diags    []Diagnostic
	execTask *Location
	syntax   int // syntax errors in the whole task

	fakes     map[string]*types.Package // unresolved imports, as empty packages
	fakeNames map[string]string         // local name → path of a fake import
	fakeDot   bool                      // an unresolved import without a usable name
}

func (tc *taskCheck) add(d Diagnostic) { tc.diags = append(tc.diags, d) }

func (tc *taskCheck) fileRange(f *taskFile, start, end token.Pos) span.Range {
	base := f.tok.Base()
	s, e := int(start)-base, int(end)-base
	s = max(0, min(s, len(f.content)))
	e = max(s, min(e, len(f.content)))
	return span.Range{Start: s, End: e}
}

// run parses, applies the task rules and type-checks.
func (tc *taskCheck) run() {
	tc.fset = tc.im.Fset()
	defer func() {
		if r := recover(); r != nil {
			// The parser and type checker should never panic; if they do, the task
			// gets a diagnostic instead of the server going down.
			f := tc.job.files[0]
			tc.add(Diagnostic{File: f.rel, Severity: Error, Code: CodeGoType,
				Message: fmt.Sprintf("internal error while checking this task (please report it): %v", r)})
		}
	}()
	for _, f := range tc.job.files {
		tc.parse(f)
	}
	defer func() {
		for _, f := range tc.job.files {
			if f.tok != nil {
				tc.fset.RemoveFile(f.tok)
			}
		}
	}()
	tc.packageNames()
	tc.imports()
	fn := tc.execTaskDecl()
	tc.userMain()
	tc.goGenerate()
	tc.recoverCalls()
	pkg := tc.typeCheck()
	if fn != nil && pkg != nil {
		tc.signature(fn, pkg)
	}
}

// parse reads one file's syntax, reporting PL401, PL411 (encoding) and the empty file.
func (tc *taskCheck) parse(f *taskFile) {
	if f.badUTF8 >= 0 {
		tc.add(Diagnostic{File: f.rel, Range: span.Range{Start: f.badUTF8, End: f.badUTF8 + 1}, Severity: Error, Code: CodeTaskUnreadable,
			Message: fmt.Sprintf("%s is not valid UTF-8: byte 0x%02x here is not part of a UTF-8 character; Go source must be UTF-8, save the file in that encoding", f.rel, f.content[f.badUTF8])})
	}
	if f.empty {
		if len(tc.job.files) == 1 {
			d := Diagnostic{File: f.rel, Range: span.Range{Start: 0, End: len(f.content)}, Severity: Error, Code: CodeNoExecTask,
				Message: fmt.Sprintf("%s is empty: a task file declares package main and exec_task", f.rel)}
			if stub := stubFile(tc.job.req.Signature); stub != "" {
				d.Fixes = []Fix{{Title: "Write an exec_task stub", Edits: []TextEdit{{File: f.rel, Range: d.Range, NewText: stub}}}}
			}
			tc.add(d)
		} else {
			tc.add(Diagnostic{File: f.rel, Severity: Error, Code: CodeGoSyntax,
				Message: fmt.Sprintf("%s is empty: every Go file of a task folder starts with `package main`", f.rel)})
		}
		tc.syntax++
		return
	}
	af, err := parser.ParseFile(tc.fset, f.rel, f.content, parser.ParseComments|parser.AllErrors|parser.SkipObjectResolution)
	f.ast = af
	if af != nil {
		f.tok = tc.fset.File(af.FileStart)
	}
	var list scanner.ErrorList
	if !errors.As(err, &list) {
		if err != nil {
			tc.add(Diagnostic{File: f.rel, Severity: Error, Code: CodeGoSyntax, Message: err.Error()})
			tc.syntax++
		}
		return
	}
	// At one position, the scanner's own complaint ("illegal character NUL") says more
	// than the parser's echo of it ("expected operand, found 'ILLEGAL'").
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Pos.Offset != b.Pos.Offset {
			return a.Pos.Offset < b.Pos.Offset
		}
		return strings.HasPrefix(a.Msg, "illegal") && !strings.HasPrefix(b.Msg, "illegal")
	})
	lastLine, n := -1, 0
	for _, e := range list {
		if f.badUTF8 >= 0 && strings.Contains(e.Msg, "illegal UTF-8 encoding") {
			continue // PL411 says it once
		}
		tc.syntax++
		if e.Pos.Line == lastLine {
			continue // one error per line: the rest are usually its echoes
		}
		lastLine = e.Pos.Line
		if n++; n > maxTaskErrors {
			continue
		}
		off := max(0, min(e.Pos.Offset, len(f.content)))
		tc.add(Diagnostic{File: f.rel, Range: span.Range{Start: off, End: tokenEnd(f.content, off)}, Severity: Error, Code: CodeGoSyntax, Message: e.Msg})
	}
	if n > maxTaskErrors {
		tc.add(Diagnostic{File: f.rel, Severity: Error, Code: CodeGoSyntax, Message: fmt.Sprintf("%d more syntax errors not shown", n-maxTaskErrors)})
	}
}

// usable reports whether f parsed far enough to hold declarations.
func (f *taskFile) usable() bool {
	return f.ast != nil && f.tok != nil && f.ast.Name != nil && f.ast.Name.Name != ""
}

// packageNames reports PL403.
func (tc *taskCheck) packageNames() {
	for _, f := range tc.job.files {
		if !f.usable() || f.ast.Name.Name == "main" {
			continue
		}
		r := tc.fileRange(f, f.ast.Name.Pos(), f.ast.Name.End())
		tc.add(Diagnostic{File: f.rel, Range: r, Severity: Error, Code: CodeNotMain,
			Message: fmt.Sprintf("task files must be package main (the template compiles the task into its program), not package %s", f.ast.Name.Name),
			Fixes:   []Fix{{Title: "Change to package main", Edits: []TextEdit{{File: f.rel, Range: r, NewText: "main"}}}}})
	}
}

// imports reports PL408, PL409 and PL412, and makes empty packages for the imports
// that cannot be loaded, so their uses do not cascade into type errors.
func (tc *taskCheck) imports() {
	tc.fakes = map[string]*types.Package{}
	tc.fakeNames = map[string]string{}
	module := tc.im.Module().Path
	for _, f := range tc.job.files {
		if !f.usable() {
			continue
		}
		for _, spec := range f.ast.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				continue // the parser reported it
			}
			r := tc.fileRange(f, spec.Path.Pos(), spec.Path.End())
			fake := false
			if reason := wasmIncompatible(p); reason != "" {
				tc.add(Diagnostic{File: f.rel, Range: r, Severity: Warning, Code: CodeWasmImport,
					Message: fmt.Sprintf("%q cannot work in a wasip2 component: %s", p, reason)})
			}
			switch rest, isTask := taskImportOf(p, module); {
			case p == "C" || p == "unsafe":
			case isRelativeImport(p):
				fake = true
				tc.add(Diagnostic{File: f.rel, Range: r, Severity: Error, Code: CodeTaskImport,
					Message: fmt.Sprintf("relative import %q is not supported: each task is built alone as its own program; move shared code to a package outside tasks/ of the project's module (a go.mod at the project root) and import it by its module path", p)})
			case isTask:
				fake = true
				tc.add(Diagnostic{File: f.rel, Range: r, Severity: Error, Code: CodeTaskImport,
					Message: fmt.Sprintf("%q is the task folder %s: a task is its own program (package main) and cannot be imported; move the shared code to a package outside tasks/ (such as %s/lib) and import that", p, rest, module)})
			default:
				u, bad := tc.im.Lookup(p)
				if !bad {
					break
				}
				fake = true
				tc.add(unresolvedDiag(f.rel, r, p, u))
			}
			if fake {
				tc.fake(p, spec)
			}
		}
	}
}

func unresolvedDiag(file string, r span.Range, p string, u goimporter.Unresolved) Diagnostic {
	d := Diagnostic{File: file, Range: r, Severity: Warning, Code: CodeUnresolvedImp}
	reason := friendlyReason(u.Reason)
	switch {
	case u.NoModule:
		d.Message = fmt.Sprintf("%q is not checked: the project has no go.mod, so third-party packages are resolved by `go mod tidy` at build time; to pin a version and get it checked here, add a go.mod at the project root (`go mod init`) and run `go get %s`", p, p)
	case u.ThirdParty:
		d.Message = fmt.Sprintf("%q is not resolved locally (%s); the build resolves it with `go mod tidy`, or pin it now with `go get %s` in the project root", p, reason, p)
	case u.Transient:
		d.Message = fmt.Sprintf("%q could not be loaded right now (%s); it is retried on the next check", p, reason)
	default:
		d.Severity = Error
		d.Message = fmt.Sprintf("cannot import %q: %s", p, reason)
	}
	return d
}

// friendlyReason rewords the go command's usual reasons.
func friendlyReason(r string) string {
	switch {
	case strings.Contains(r, "no required module provides package") || strings.Contains(r, "import lookup disabled by -mod="):
		return "no module required by go.mod provides it"
	case strings.Contains(r, "missing go.sum entry"):
		return "go.sum has no entry for its module; run `go mod download` or `go mod tidy` in the project root"
	case strings.Contains(r, "module lookup disabled") || strings.Contains(r, "GOPROXY=off"):
		return "its module is not in the local module cache"
	case strings.Contains(r, "is not in std"):
		return "it is not in the standard library (an import path without a dot in its first element names a standard package)"
	}
	return r
}

// fake records an empty package for an import that cannot be loaded.
func (tc *taskCheck) fake(p string, spec *ast.ImportSpec) {
	if _, ok := tc.fakes[p]; !ok {
		pkg := types.NewPackage(p, guessPackageName(p))
		pkg.MarkComplete()
		tc.fakes[p] = pkg
	}
	name := tc.fakes[p].Name()
	if spec.Name != nil {
		name = spec.Name.Name
	}
	switch name {
	case "_":
	case ".":
		tc.fakeDot = true
	default:
		tc.fakeNames[name] = p
		if spec.Name == nil {
			tc.fakeDot = true // the real name may differ from the guess
		}
	}
}

// guessPackageName guesses a package's name from its import path, the way people
// name packages: gopkg.in/yaml.v3 → yaml, github.com/nats-io/nats.go → nats,
// example.com/x/v2 → x, github.com/a/go-bar → bar.
func guessPackageName(p string) string {
	elems := strings.Split(p, "/")
	name := elems[len(elems)-1]
	if len(elems) > 1 && len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
		name = elems[len(elems)-2]
	}
	name = strings.TrimPrefix(name, "go-")
	name = strings.TrimSuffix(name, "-go")
	name = strings.TrimSuffix(name, ".go")
	if i := strings.IndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	name = strings.Map(func(r rune) rune {
		if r == '-' || r == '.' {
			return '_'
		}
		return r
	}, name)
	if !token.IsIdentifier(name) {
		return "pkg"
	}
	return name
}

// execTaskDecl finds exec_task, reports PL404 and PL406, and returns the function when
// it is a plain top-level function.
func (tc *taskCheck) execTaskDecl() *ast.FuncDecl {
	var funcs []*ast.FuncDecl
	var funcFiles []*taskFile
	var others []Diagnostic
	var first *taskFile
	for _, f := range tc.job.files {
		if !f.usable() {
			continue
		}
		if first == nil {
			first = f
		}
		for _, decl := range f.ast.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Name.Name != "exec_task" {
					continue
				}
				if d.Recv == nil {
					funcs = append(funcs, d)
					funcFiles = append(funcFiles, f)
					continue
				}
				recv := "its receiver"
				if len(d.Recv.List) > 0 {
					recv = types.ExprString(d.Recv.List[0].Type)
				}
				others = append(others, Diagnostic{File: f.rel, Range: tc.fileRange(f, d.Recv.Opening, d.Name.End()), Severity: Error, Code: CodeExecTaskForm,
					Message: fmt.Sprintf("exec_task is a method of %s; the template calls a top-level function: remove the receiver", recv),
					Fixes:   []Fix{{Title: "Remove the receiver", Edits: []TextEdit{{File: f.rel, Range: tc.fileRange(f, d.Recv.Opening, d.Name.Pos()), NewText: ""}}}}})
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.ValueSpec:
						for i, n := range s.Names {
							if n.Name != "exec_task" {
								continue
							}
							what := "a variable"
							if d.Tok == token.CONST {
								what = "a constant"
							}
							diag := Diagnostic{File: f.rel, Range: tc.fileRange(f, n.Pos(), n.End()), Severity: Error, Code: CodeExecTaskForm,
								Message: fmt.Sprintf("exec_task is %s; the template calls a function declared with `func exec_task(...)`", what)}
							if lit, ok := valueAt(s, i).(*ast.FuncLit); ok && d.Tok == token.VAR && len(d.Specs) == 1 && len(s.Names) == 1 && !d.Lparen.IsValid() {
								sigRange := tc.fileRange(f, lit.Type.Params.Pos(), lit.Type.End())
								text := "func exec_task" + string(f.content[sigRange.Start:sigRange.End])
								diag.Fixes = []Fix{{Title: "Declare exec_task as a function", Edits: []TextEdit{{File: f.rel, Range: tc.fileRange(f, d.Pos(), lit.Type.End()), NewText: text}}}}
							}
							others = append(others, diag)
						}
					case *ast.TypeSpec:
						if s.Name.Name == "exec_task" {
							others = append(others, Diagnostic{File: f.rel, Range: tc.fileRange(f, s.Name.Pos(), s.Name.End()), Severity: Error, Code: CodeExecTaskForm,
								Message: "exec_task is a type; the template calls a function declared with `func exec_task(...)`"})
						}
					}
				}
			}
		}
	}
	if len(funcs) > 0 {
		fn, f := funcs[0], funcFiles[0]
		tc.execTask = &Location{File: f.rel, Range: tc.fileRange(f, fn.Name.Pos(), fn.Name.End())}
		if tp := fn.Type.TypeParams; tp != nil {
			tc.add(Diagnostic{File: f.rel, Range: tc.fileRange(f, tp.Opening, tp.Closing+1), Severity: Error, Code: CodeExecTaskForm,
				Message: "exec_task must not be generic: the template calls it with fixed types"})
			return nil
		}
		return fn
	}
	if len(others) > 0 {
		tc.diags = append(tc.diags, others...)
		return nil
	}
	if tc.syntax > 0 || first == nil {
		return nil // the declaration may be hidden by a syntax error
	}
	d := Diagnostic{File: first.rel, Range: tc.fileRange(first, first.ast.Package, first.ast.Name.End()), Severity: Error, Code: CodeNoExecTask,
		Message: "no exec_task function: the template calls exec_task"}
	if tc.job.req.Signature != "" {
		d.Message += " with `" + tc.job.req.Signature + "`"
	}
	if near, f := tc.nearExecTask(); near != nil {
		// A near miss (`Exec_task`, `execTask`): point at it, and offer the rename
		// first, then the stub.
		p := span.NewMapper(f.content).Point(tc.fileRange(f, near.Name.Pos(), near.Name.End()).Start)
		d.File, d.Range = f.rel, tc.fileRange(f, near.Name.Pos(), near.Name.End())
		d.Message = fmt.Sprintf("no exec_task function; did you mean `%s` (%s:%d)? The template calls exactly exec_task (Go names are case-sensitive)", near.Name.Name, f.rel, p.Line)
		if tc.job.req.Signature != "" {
			d.Message += ": `" + tc.job.req.Signature + "`"
		}
		d.Fixes = append(d.Fixes, Fix{Title: fmt.Sprintf("Rename %s to exec_task", near.Name.Name), Edits: tc.renameEdits(near.Name.Name, "exec_task")})
	}
	if stub := stubFunc(tc.job.req.Signature); stub != "" {
		at := len(first.content)
		text := stub
		if at > 0 && first.content[at-1] != '\n' {
			text = "\n" + text
		}
		d.Fixes = append(d.Fixes, Fix{Title: "Add an exec_task stub", Edits: []TextEdit{{File: first.rel, Range: span.Range{Start: at, End: at}, NewText: text}}})
	}
	tc.add(d)
	return nil
}

// nearExecTask returns a top-level function whose name is close to exec_task
// (another case, underscores, a typo), and its file; nil when there is none.
func (tc *taskCheck) nearExecTask() (*ast.FuncDecl, *taskFile) {
	for _, f := range tc.job.files {
		if !f.usable() {
			continue
		}
		for _, decl := range f.ast.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Name.Name == "main" || fn.Name.Name == "init" {
				continue
			}
			name := fn.Name.Name
			squashed := strings.ReplaceAll(strings.ToLower(name), "_", "")
			if _, near := closest(name, []string{"exec_task"}); near && (squashed == "exectask" || distance(name, "exec_task") <= 2) {
				return fn, f
			}
		}
	}
	return nil, nil
}

// renameEdits renames every identifier `from` of the task's files to `to` (the
// declaration and its uses; a field or method selector x.from is left alone).
func (tc *taskCheck) renameEdits(from, to string) []TextEdit {
	var edits []TextEdit
	for _, f := range tc.job.files {
		if !f.usable() {
			continue
		}
		sels := map[*ast.Ident]bool{}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.SelectorExpr:
				sels[x.Sel] = true
			case *ast.Ident:
				if x.Name == from && !sels[x] {
					edits = append(edits, TextEdit{File: f.rel, Range: tc.fileRange(f, x.Pos(), x.End()), NewText: to})
				}
			}
			return true
		})
	}
	return edits
}

func valueAt(s *ast.ValueSpec, i int) ast.Expr {
	if i < len(s.Values) {
		return s.Values[i]
	}
	return nil
}

// userMain reports PL407.
func (tc *taskCheck) userMain() {
	for _, f := range tc.job.files {
		if !f.usable() {
			continue
		}
		for _, decl := range f.ast.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Name.Name != "main" {
				continue
			}
			start := fn.Pos()
			if fn.Doc != nil {
				start = fn.Doc.Pos()
			}
			r := tc.fileRange(f, start, fn.End())
			// Remove whole lines: the indentation before and the line break after.
			for r.Start > 0 && (f.content[r.Start-1] == ' ' || f.content[r.Start-1] == '\t') {
				r.Start--
			}
			for r.End < len(f.content) && (f.content[r.End] == ' ' || f.content[r.End] == '\t' || f.content[r.End] == '\r') {
				r.End++
			}
			if r.End < len(f.content) && f.content[r.End] == '\n' {
				r.End++
			}
			tc.add(Diagnostic{File: f.rel, Range: tc.fileRange(f, fn.Name.Pos(), fn.Name.End()), Severity: Error, Code: CodeUserMain,
				Message: "a task must not declare func main: the generated program provides it and calls exec_task",
				Fixes:   []Fix{{Title: "Remove func main", Edits: []TextEdit{{File: f.rel, Range: r, NewText: ""}}}}})
		}
	}
}

// typeError is one error reported by go/types.
type typeError struct {
	f          *taskFile
	r          span.Range
	msg        string
	related    []Related
	suppressed bool
}

// typeCheck runs go/types over the usable files and reports PL402. Type errors are
// dropped when the task has syntax errors: they would mostly echo them.
func (tc *taskCheck) typeCheck() *types.Package {
	var files []*ast.File
	for _, f := range tc.job.files {
		if f.usable() {
			if f.ast.Name.Name != "main" {
				// PL403 reports it; checking the file as package main keeps its
				// declarations visible to the task's other files.
				f.ast.Name = &ast.Ident{NamePos: f.ast.Name.NamePos, Name: "main"}
			}
			files = append(files, f.ast)
		}
	}
	if len(files) == 0 {
		return nil
	}
	var errs []*typeError
	conf := types.Config{
		Importer:    importerFunc(tc.importPackage),
		FakeImportC: true,
		GoVersion:   goVersionOf(tc.im.Module().GoVersion),
		Error: func(err error) {
			var te types.Error
			if !errors.As(err, &te) {
				return
			}
			start, end := errorSpan(te)
			f := tc.fileOf(start)
			if f == nil {
				return
			}
			r := tc.fileRange(f, start, end)
			if r.End <= r.Start {
				r.End = tokenEnd(f.content, r.Start)
			}
			if strings.HasPrefix(te.Msg, "\t") && len(errs) > 0 {
				prev := errs[len(errs)-1]
				prev.related = append(prev.related, Related{File: f.rel, Range: r, Message: strings.TrimSpace(te.Msg)})
				return
			}
			errs = append(errs, &typeError{f: f, r: r, msg: te.Msg})
		},
	}
	release := tc.im.Hold()
	pkg, _ := conf.Check("main", tc.fset, files, nil)
	release()
	if tc.syntax > 0 {
		return pkg
	}
	tc.filterTypeErrors(errs)
	n := 0
	for _, e := range errs {
		if e.suppressed {
			continue
		}
		if n++; n > maxTaskErrors {
			continue
		}
		d := Diagnostic{File: e.f.rel, Range: e.r, Severity: Error, Code: CodeGoType, Message: e.msg, Related: e.related}
		if strings.HasSuffix(e.msg, "declared and not used") || strings.Contains(e.msg, "imported and not used") || strings.Contains(e.msg, "imported as ") && strings.HasSuffix(e.msg, "and not used") {
			d.Unnecessary = true
		}
		tc.add(d)
	}
	if n > maxTaskErrors {
		tc.add(Diagnostic{File: tc.job.files[0].rel, Severity: Error, Code: CodeGoType, Message: fmt.Sprintf("%d more type errors not shown", n-maxTaskErrors)})
	}
	return pkg
}

// filterTypeErrors marks the errors other diagnostics already explain: uses of
// unresolved imports and mismatched package names (PL403).
func (tc *taskCheck) filterTypeErrors(errs []*typeError) {
	usedFake := map[string]bool{}
	for _, e := range errs {
		if strings.HasPrefix(e.msg, "package ") && strings.Contains(e.msg, "; expected package ") {
			e.suppressed = true
			continue
		}
		name, ok := strings.CutPrefix(e.msg, "undefined: ")
		if !ok {
			continue
		}
		if qual, _, isSel := strings.Cut(name, "."); isSel {
			if p, fake := tc.fakeNames[qual]; fake {
				e.suppressed, usedFake[p] = true, true
			}
			continue
		}
		// "undefined: x" where x.Sel follows: x is probably an unresolved import whose
		// real name differs from the guess.
		if tc.fakeDot && e.r.End < len(e.f.content) && e.f.content[e.r.End] == '.' {
			e.suppressed = true
			for _, p := range tc.fakeNames {
				usedFake[p] = true
			}
		}
	}
	if len(usedFake) == 0 {
		return
	}
	for _, e := range errs {
		for p := range usedFake {
			if strings.HasPrefix(e.msg, strconv.Quote(p)+" imported") {
				e.suppressed = true
			}
		}
	}
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

func (tc *taskCheck) importPackage(p string) (*types.Package, error) {
	if pkg := tc.fakes[p]; pkg != nil {
		return pkg, nil
	}
	if pkg := tc.im.Package(p); pkg != nil {
		return pkg, nil
	}
	return nil, fmt.Errorf("package %s is not loaded", p)
}

// fileOf returns the task file holding pos.
func (tc *taskCheck) fileOf(pos token.Pos) *taskFile {
	for _, f := range tc.job.files {
		if f.tok != nil && int(pos) >= f.tok.Base() && int(pos) <= f.tok.Base()+f.tok.Size() {
			return f
		}
	}
	return nil
}

// errorSpan returns the span go/types attached to an error: its unexported start and
// end fields (read by reflection, as gopls did; the exported Pos is the fallback).
func errorSpan(e types.Error) (start, end token.Pos) {
	start, end = e.Pos, e.Pos
	v := reflect.ValueOf(e)
	if s := v.FieldByName("go116start"); s.IsValid() && s.CanInt() {
		if p := token.Pos(s.Int()); p.IsValid() {
			start = p
		}
	}
	if s := v.FieldByName("go116end"); s.IsValid() && s.CanInt() {
		if p := token.Pos(s.Int()); p.IsValid() && p >= start {
			end = p
		}
	}
	if start > e.Pos || end < e.Pos {
		start, end = e.Pos, e.Pos
	}
	return start, end
}

// goVersionOf turns a go.mod go directive into a types.Config.GoVersion, or "" when it
// is missing, invalid or newer than this toolchain.
func goVersionOf(v string) string {
	if v == "" {
		return ""
	}
	gv := "go" + v
	if !version.IsValid(gv) || version.Compare(gv, runtime.Version()) > 0 {
		return ""
	}
	return gv
}

// signature reports PL405 when exec_task does not have the template's signature.
func (tc *taskCheck) signature(fn *ast.FuncDecl, pkg *types.Package) {
	exp := tc.c.expected(tc.job.req.Signature)
	if exp == nil {
		return
	}
	obj, ok := pkg.Scope().Lookup("exec_task").(*types.Func)
	if !ok {
		return
	}
	sig, ok := obj.Type().(*types.Signature)
	if !ok || hasInvalid(sig) || identicalSignature(sig, exp.sig) {
		return
	}
	f := tc.fileOf(fn.Pos())
	if f == nil {
		return
	}
	found := types.TypeString(sig, types.RelativeTo(pkg))
	r := tc.fileRange(f, fn.Type.Func, fn.Type.End())
	tc.add(Diagnostic{File: f.rel, Range: r, Severity: Error, Code: CodeBadSignature,
		Message: fmt.Sprintf("exec_task has signature %s; %s calls %s", found, templatePlaceholder, tc.job.req.Signature),
		Fixes:   []Fix{{Title: "Use the template's signature", Edits: []TextEdit{{File: f.rel, Range: r, NewText: exp.rewrite(fn)}}}}})
}

func hasInvalid(sig *types.Signature) bool {
	for _, t := range []*types.Tuple{sig.Params(), sig.Results()} {
		for i := 0; i < t.Len(); i++ {
			if t.At(i).Type() == nil || t.At(i).Type() == types.Typ[types.Invalid] {
				return true
			}
		}
	}
	return false
}

func identicalSignature(a, b *types.Signature) bool {
	if a.Variadic() != b.Variadic() || a.Params().Len() != b.Params().Len() || a.Results().Len() != b.Results().Len() {
		return false
	}
	for i := 0; i < a.Params().Len(); i++ {
		if !types.Identical(a.Params().At(i).Type(), b.Params().At(i).Type()) {
			return false
		}
	}
	for i := 0; i < a.Results().Len(); i++ {
		if !types.Identical(a.Results().At(i).Type(), b.Results().At(i).Type()) {
			return false
		}
	}
	return true
}

// expectedSig is a template's exec_task signature, parsed and type-checked.
type expectedSig struct {
	source  string
	sig     *types.Signature
	params  []sigField
	results []sigField
}

type sigField struct{ name, typ string }

// expected returns the parsed template signature, cached per checker.
func (c *TaskChecker) expected(signature string) *expectedSig {
	if signature == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.sigs[signature]; ok {
		return e
	}
	e := parseExpectedSig(signature)
	c.sigs[signature] = e
	return e
}

// parseExpectedSig parses a declaration such as `func exec_task(arg string) string`;
// nil when it is not a valid, body-less function declaration.
func parseExpectedSig(signature string) *expectedSig {
	src := "package p\n\n" + signature + "\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "signature.go", src, parser.SkipObjectResolution)
	if err != nil || len(f.Decls) != 1 {
		return nil
	}
	fn, ok := f.Decls[0].(*ast.FuncDecl)
	if !ok || fn.Recv != nil || fn.Body != nil || fn.Type.TypeParams != nil {
		return nil
	}
	pkg, err := (&types.Config{Error: func(error) {}}).Check("p", fset, []*ast.File{f}, nil)
	if err != nil {
		return nil
	}
	obj, ok := pkg.Scope().Lookup(fn.Name.Name).(*types.Func)
	if !ok {
		return nil
	}
	tok := fset.File(f.FileStart)
	text := func(e ast.Node) string { return src[tok.Offset(e.Pos()):tok.Offset(e.End())] }
	flatten := func(fl *ast.FieldList, prefix string) []sigField {
		var out []sigField
		if fl == nil {
			return nil
		}
		for _, fd := range fl.List {
			if len(fd.Names) == 0 {
				out = append(out, sigField{name: fmt.Sprintf("%s%d", prefix, len(out)), typ: text(fd.Type)})
			}
			for _, n := range fd.Names {
				out = append(out, sigField{name: n.Name, typ: text(fd.Type)})
			}
		}
		return out
	}
	e := &expectedSig{source: signature, sig: obj.Type().(*types.Signature)}
	e.params = flatten(fn.Type.Params, "arg")
	e.results = flatten(fn.Type.Results, "")
	for i := range e.results {
		if len(fn.Type.Results.List) > 0 && len(fn.Type.Results.List[0].Names) == 0 {
			e.results[i].name = ""
		}
	}
	return e
}

// rewrite returns the template's signature as the text of fn's signature, keeping the
// user's parameter (and result) names when their number matches.
func (e *expectedSig) rewrite(fn *ast.FuncDecl) string {
	names := fieldNames(fn.Type.Params)
	var b strings.Builder
	b.WriteString("func exec_task(")
	for i, p := range e.params {
		if i > 0 {
			b.WriteString(", ")
		}
		name := p.name
		if len(names) == len(e.params) && names[i] != "" {
			name = names[i]
		}
		b.WriteString(name + " " + p.typ)
	}
	b.WriteString(")")
	resNames := fieldNames(fn.Type.Results)
	named := len(resNames) == len(e.results) && len(resNames) > 0 && resNames[0] != ""
	switch {
	case len(e.results) == 0:
	case named:
		b.WriteString(" (")
		for i, r := range e.results {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(resNames[i] + " " + r.typ)
		}
		b.WriteString(")")
	case len(e.results) == 1:
		b.WriteString(" " + e.results[0].typ)
	default:
		b.WriteString(" (")
		for i, r := range e.results {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(r.typ)
		}
		b.WriteString(")")
	}
	return b.String()
}

func fieldNames(fl *ast.FieldList) []string {
	var out []string
	if fl == nil {
		return nil
	}
	for _, f := range fl.List {
		if len(f.Names) == 0 {
			out = append(out, "")
		}
		for _, n := range f.Names {
			out = append(out, n.Name)
		}
	}
	return out
}

// stubFunc returns an exec_task declaration with the template's signature and a return
// of the right shape, preceded by a blank line; "" for an unusable signature.
func stubFunc(signature string) string {
	e := parseExpectedSig(signature)
	if e == nil {
		return ""
	}
	var ret []string
	for i, r := range e.results {
		t := e.sig.Results().At(i).Type()
		if i < e.sig.Params().Len() && types.Identical(e.sig.Params().At(i).Type(), t) && e.params[i].name != "_" {
			ret = append(ret, e.params[i].name)
			continue
		}
		ret = append(ret, zeroValue(t, r.typ))
	}
	body := "\n"
	if len(ret) > 0 {
		body = "\treturn " + strings.Join(ret, ", ") + "\n"
	}
	return "\n// exec_task is called by the template with each input; its result is the task's output.\n" + strings.TrimSpace(signature) + " {\n" + body + "}\n"
}

// stubFile returns a whole task file holding the stub.
func stubFile(signature string) string {
	stub := stubFunc(signature)
	if stub == "" {
		return ""
	}
	return "package main\n" + stub
}

func zeroValue(t types.Type, text string) string {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsString != 0:
			return `""`
		case u.Info()&types.IsBoolean != 0:
			return "false"
		case u.Info()&types.IsNumeric != 0:
			return "0"
		}
	case *types.Struct, *types.Array:
		return text + "{}"
	}
	return "nil"
}
