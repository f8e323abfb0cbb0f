package wasmrun

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pelato-dev/pelato/internal/taskcode"
)

// Kind is the signature family of a task's exec_task function.
type Kind string

const (
	// KindString is `func exec_task(arg string) string`
	// (templates processor_nats and http_producer_nats).
	KindString Kind = "string"
	// KindKV is `func exec_task(key string, data string) (string, string)`
	// (template nats_to_nats-kv).
	KindKV Kind = "kv"
)

// Source describes a task to compile.
type Source struct {
	// Path is a task .go file, or a directory whose non-test .go files
	// together form the task (package main, no func main).
	Path string
	// Kind is the expected exec_task signature. When empty it is detected
	// from the source; when set, a mismatching signature is an error.
	Kind Kind
	// ProjectDir is the project root. When it holds a go.mod (and
	// optionally go.sum), their require/replace directives pin the versions
	// of third-party imports; otherwise imports are resolved by `go mod tidy`.
	ProjectDir string
}

// taskFile is one task source file prepared for the build directory.
type taskFile struct {
	userPath string // absolute path of the user's file, used in positions
	name     string // file name inside the build directory
	original []byte
	prepared []byte // build-ignore line blanked, //line directive added
}

// loadTaskFiles reads the task files named by src.Path.
func loadTaskFiles(src Source) ([]taskFile, error) {
	if src.Path == "" {
		return nil, errors.New("wasmrun: Source.Path is empty")
	}
	abs, err := filepath.Abs(src.Path)
	if err != nil {
		return nil, fmt.Errorf("wasmrun: resolving task path %q: %w", src.Path, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("wasmrun: reading task: %w", err)
	}
	if !info.IsDir() && !strings.HasSuffix(abs, ".go") {
		return nil, fmt.Errorf("wasmrun: task file %s is not a .go file", abs)
	}
	paths, err := taskcode.Files(abs)
	if err != nil {
		return nil, fmt.Errorf("wasmrun: reading task: %w", err)
	}
	files := make([]taskFile, 0, len(paths))
	for _, p := range paths {
		data, err := taskcode.Read(p)
		if err != nil {
			return nil, fmt.Errorf("wasmrun: reading task file: %w", err)
		}
		name := filepath.Base(p)
		if name == harnessFileName {
			return nil, fmt.Errorf("wasmrun: task file name %s is reserved for the pelato harness", p)
		}
		files = append(files, taskFile{userPath: p, name: name, original: data})
	}
	noRecover := disableRecover(files)
	for i := range files {
		files[i].prepared = prepareFile(files[i].userPath, noRecover[i])
	}
	return files, nil
}

// noRecoverName replaces the builtin recover in task code: the harness declares it
// as a function returning nil. It is as long as "recover", so no position moves.
const noRecoverName = "_recovr"

// disableRecover returns each file's source with every call of the builtin recover
// replaced by noRecoverName: in every released TinyGo recover() does nothing on
// WebAssembly (a panic traps the invocation), and the local runtime does as
// production does (templates/rules.go). A file that does not parse, or a package
// that declares its own recover, is left as it is.
func disableRecover(files []taskFile) [][]byte {
	out := make([][]byte, len(files))
	for i, f := range files {
		out[i] = f.original
	}
	fset := token.NewFileSet()
	type call struct{ file, off int }
	var calls []call
	for i, f := range files {
		af, err := parser.ParseFile(fset, f.userPath, f.original, 0)
		if err != nil {
			return out
		}
		if af.Scope != nil && af.Scope.Lookup("recover") != nil {
			return out // the package's own recover
		}
		ast.Inspect(af, func(n ast.Node) bool {
			c, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := c.Fun.(*ast.Ident); ok && id.Name == "recover" && id.Obj == nil && len(c.Args) == 0 {
				calls = append(calls, call{i, fset.Position(id.Pos()).Offset})
			}
			return true
		})
	}
	cloned := make([]bool, len(files))
	for _, c := range calls {
		if !cloned[c.file] {
			out[c.file], cloned[c.file] = bytes.Clone(out[c.file]), true
		}
		copy(out[c.file][c.off:], noRecoverName)
	}
	return out
}

// prepareFile returns the copy of a task file that is compiled:
//   - a `//go:build ignore` (or `// +build ignore`) constraint above the
//     package clause is blanked, keeping the line so line numbers do not move;
//   - a /*line*/ directive naming the user's file is put right before the
//     package keyword, so compiler errors and runtime stack traces show the
//     user's path with unchanged line and column numbers.
func prepareFile(userPath string, src []byte) []byte {
	out, pkgOff := taskcode.Prepare(src)
	if pkgOff < 0 {
		return out
	}
	fset := token.NewFileSet()
	file := fset.AddFile(userPath, -1, len(out))
	file.SetLinesForContent(out)
	p := file.Position(file.Pos(pkgOff))
	directive := fmt.Sprintf("/*line %s:%d:%d*/", userPath, p.Line, p.Column)
	res := make([]byte, 0, len(out)+len(directive))
	res = append(res, out[:pkgOff]...)
	res = append(res, directive...)
	return append(res, out[pkgOff:]...)
}

// checkTask parses the task files, rejects a func main, finds exec_task and
// returns its kind. want may be empty (detect). A non-nil *BuildError is
// returned for problems in the user's code.
func checkTask(files []taskFile, want Kind) (Kind, error) {
	fset := token.NewFileSet()
	var diags []Diagnostic
	var found *ast.FuncDecl
	var foundPos token.Position
	for _, f := range files {
		// Parse the original bytes: the blanked constraint does not change
		// positions and the parser ignores build constraints.
		af, err := parser.ParseFile(fset, f.userPath, f.original, parser.SkipObjectResolution)
		if err != nil {
			var list scanner.ErrorList
			if errors.As(err, &list) {
				for _, e := range list {
					diags = append(diags, Diagnostic{File: e.Pos.Filename, Line: e.Pos.Line, Column: e.Pos.Column, Message: e.Msg})
				}
			} else {
				diags = append(diags, Diagnostic{File: f.userPath, Message: err.Error()})
			}
			continue
		}
		if af.Name.Name != "main" {
			p := fset.Position(af.Name.Pos())
			diags = append(diags, Diagnostic{File: p.Filename, Line: p.Line, Column: p.Column,
				Message: fmt.Sprintf("task must be in package main, found package %s", af.Name.Name)})
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil {
				continue
			}
			switch fd.Name.Name {
			case "main":
				p := fset.Position(fd.Pos())
				diags = append(diags, Diagnostic{File: p.Filename, Line: p.Line, Column: p.Column,
					Message: "task must not define func main (the pelato harness provides it)"})
			case "exec_task":
				if found == nil {
					found, foundPos = fd, fset.Position(fd.Pos())
				}
			}
		}
	}
	if len(diags) > 0 {
		return "", newBuildError(diags)
	}
	if found == nil {
		return "", newBuildError([]Diagnostic{{File: files[0].userPath,
			Message: "no func exec_task found; want `func exec_task(arg string) string` or `func exec_task(key string, data string) (string, string)`"}})
	}
	got, ok := signatureKind(found.Type)
	bad := func(msg string) error {
		return newBuildError([]Diagnostic{{File: foundPos.Filename, Line: foundPos.Line, Column: foundPos.Column, Message: msg}})
	}
	if !ok {
		return "", bad("exec_task has an unsupported signature; want `func exec_task(arg string) string` (kind string) or `func exec_task(key string, data string) (string, string)` (kind kv)")
	}
	if want != "" && want != got {
		return "", bad(fmt.Sprintf("exec_task has the %q signature but the task kind is %q; want %s", got, want, signatureOf(want)))
	}
	return got, nil
}

// signatureKind classifies an exec_task signature.
func signatureKind(ft *ast.FuncType) (Kind, bool) {
	if ft.TypeParams != nil {
		return "", false
	}
	params, ok1 := stringFields(ft.Params)
	results, ok2 := stringFields(ft.Results)
	switch {
	case !ok1 || !ok2:
		return "", false
	case params == 1 && results == 1:
		return KindString, true
	case params == 2 && results == 2:
		return KindKV, true
	}
	return "", false
}

// stringFields counts the entries of a field list, requiring type string.
func stringFields(fl *ast.FieldList) (int, bool) {
	if fl == nil {
		return 0, true
	}
	n := 0
	for _, f := range fl.List {
		id, ok := f.Type.(*ast.Ident)
		if !ok || id.Name != "string" {
			return 0, false
		}
		if len(f.Names) == 0 {
			n++
		} else {
			n += len(f.Names)
		}
	}
	return n, true
}

func signatureOf(k Kind) string {
	if k == KindKV {
		return "`func exec_task(key string, data string) (string, string)`"
	}
	return "`func exec_task(arg string) string`"
}

// Diagnostic is one positioned problem in the user's task source.
type Diagnostic struct {
	File    string // the user's file path (absolute), empty if unknown
	Line    int    // 1-based line, 0 if unknown
	Column  int    // 1-based column, 0 if unknown
	Message string
}

// String formats the diagnostic as file:line:col: message.
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		if d.Line > 0 {
			b.WriteString(":" + strconv.Itoa(d.Line))
			if d.Column > 0 {
				b.WriteString(":" + strconv.Itoa(d.Column))
			}
		}
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// BuildError reports that the task could not be compiled. Positions refer to
// the user's original files.
type BuildError struct {
	// Diagnostics are the positioned errors that could be parsed.
	Diagnostics []Diagnostic
	// Output is the full tool output with build-directory paths replaced by
	// the user's paths.
	Output string
}

// Error implements error.
func (e *BuildError) Error() string {
	return "wasmrun: compiling task failed:\n" + strings.TrimRight(e.Output, "\n")
}

func newBuildError(diags []Diagnostic) *BuildError {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return &BuildError{Diagnostics: diags, Output: b.String()}
}
