package check

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/goimporter"
	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/templates"
)

// taskCasesDir holds the task-check cases: each is a project folder (tasks/..., maybe a
// go.mod) with requests.txt (one "<template> <code>" per line) and expect.golden.
// Refresh the goldens with: go test ./internal/check/ -run TestTaskGolden -update
const taskCasesDir = "testdata/tasks"

// formatTaskGolden renders a task result as stable text: 1-based lines and character
// columns, fixes and related locations indented.
func formatTaskGolden(res TaskResult) string {
	var b strings.Builder
	mappers := map[string]*span.Mapper{}
	pos := func(file string, r span.Range) string {
		m, ok := mappers[file]
		if !ok {
			m = span.NewMapper(res.Contents[file])
			mappers[file] = m
		}
		s, e := m.Point(r.Start), m.Point(r.End)
		return fmt.Sprintf("%s:%d:%d-%d:%d", file, s.Line, s.Col, e.Line, e.Col)
	}
	if res.Err != nil {
		fmt.Fprintf(&b, "err: %v\n", res.Err)
	}
	fmt.Fprintf(&b, "files: %s\n", strings.Join(res.Files, " "))
	if res.ExecTask != nil {
		fmt.Fprintf(&b, "exec_task: %s\n", pos(res.ExecTask.File, res.ExecTask.Range))
	}
	for _, d := range res.Diagnostics {
		fmt.Fprintf(&b, "%s %s %s %s\n", pos(d.File, d.Range), d.Severity, d.Code, d.Message)
		for _, f := range d.Fixes {
			fmt.Fprintf(&b, "    fix: %s\n", f.Title)
			for _, e := range f.Edits {
				fmt.Fprintf(&b, "        %s %q\n", pos(e.File, e.Range), e.NewText)
			}
			if f.Create != nil {
				fmt.Fprintf(&b, "        create %s %q\n", f.Create.File, f.Create.Content)
			}
		}
		for _, r := range d.Related {
			fmt.Fprintf(&b, "    related: %s %s\n", pos(r.File, r.Range), r.Message)
		}
	}
	return b.String()
}

type taskCaseRequest struct{ template, code string }

func readTaskCase(t testing.TB, dir string) []taskCaseRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "requests.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []taskCaseRequest
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		tpl, code, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			t.Fatalf("%s: bad request line %q", dir, line)
		}
		out = append(out, taskCaseRequest{tpl, code})
	}
	return out
}

func taskRequest(t testing.TB, root, tplName, code string) TaskRequest {
	t.Helper()
	tpl, ok := templates.Default().Lookup(tplName)
	if !ok {
		t.Fatalf("no template %s", tplName)
	}
	return TaskRequest{Root: root, Code: code, Template: tpl.Name, Signature: tpl.Signature, Kind: tpl.Kind}
}

// checkRanges asserts that every range of res lies within its file.
func checkRanges(t testing.TB, res TaskResult) {
	t.Helper()
	in := func(file string, r span.Range, what string) {
		content, ok := res.Contents[file]
		if !ok {
			// a folder-level diagnostic or a file that could not be read
			if r.Start != 0 || r.End != 0 {
				t.Errorf("%s: %s range %v in a file that was not read", file, what, r)
			}
			return
		}
		if r.Start < 0 || r.End < r.Start || r.End > len(content) {
			t.Errorf("%s: %s range %v outside [0,%d]", file, what, r, len(content))
		}
	}
	for _, d := range res.Diagnostics {
		in(d.File, d.Range, string(d.Code))
		for _, f := range d.Fixes {
			for _, e := range f.Edits {
				in(e.File, e.Range, "fix of "+string(d.Code))
			}
		}
		for _, r := range d.Related {
			in(r.File, r.Range, "related of "+string(d.Code))
		}
	}
	if res.ExecTask != nil {
		in(res.ExecTask.File, res.ExecTask.Range, "exec_task")
	}
}

// rawSuffix marks a case's Go source kept byte-exact (a BOM, CRLF line ends, layout
// gofmt would change): stored as NAME.go.raw so formatters leave it alone, checked as
// NAME.go.
const rawSuffix = ".raw"

// caseRoot returns the absolute project root to check for the case folder dir: dir
// itself, or a temporary copy with every .go.raw file named .go when it has any.
func caseRoot(t *testing.T, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	var raw bool
	filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		raw = raw || (err == nil && strings.HasSuffix(p, ".go"+rawSuffix))
		return nil
	})
	if !raw {
		return abs
	}
	root := t.TempDir()
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(abs, p)
		dst := filepath.Join(root, strings.TrimSuffix(rel, rawSuffix))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestTaskGolden(t *testing.T) {
	// Export data only: the goldens are the build's view.
	testTaskGolden(t, NewTaskChecker(TaskCheckerOptions{ImporterOptions: goimporter.Options{SourceAfter: -1}}), *update)
}

// TestTaskGoldenFromSource: with the imports type-checked from source (a cold build
// cache), every case gives the diagnostics it gives from export data.
func TestTaskGoldenFromSource(t *testing.T) {
	c := NewTaskChecker(TaskCheckerOptions{ImporterOptions: goimporter.Options{SourceOnly: true}})
	t.Cleanup(func() { // after the parallel cases
		if c.Imports().Loads() != 0 || c.Imports().SourceLoads() == 0 {
			t.Errorf("go list -export ran %d times, go list for source %d times; want 0, > 0", c.Imports().Loads(), c.Imports().SourceLoads())
		}
	})
	testTaskGolden(t, c, false)
}

// testTaskGolden checks every case of taskCasesDir with c (shared: the cases also
// exercise the cache) against its expect.golden, or rewrites them when update is set.
func testTaskGolden(t *testing.T, c *TaskChecker, update bool) {
	entries, err := os.ReadDir(taskCasesDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(taskCasesDir, name)
			root := caseRoot(t, dir)
			var b strings.Builder
			for _, r := range readTaskCase(t, dir) {
				req := taskRequest(t, root, r.template, r.code)
				res := c.Check(context.Background(), req)
				checkRanges(t, res)
				again := c.Check(context.Background(), req) // memoized
				if got, want := formatTaskGolden(again), formatTaskGolden(res); got != want {
					t.Errorf("second check differs:\n%s\nfirst:\n%s", got, want)
				}
				fmt.Fprintf(&b, "== %s %s\n%s", r.template, r.code, formatTaskGolden(res))
			}
			golden := filepath.Join(dir, "expect.golden")
			if update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("diagnostics differ from %s (run with -update to accept):\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
	if n < 25 {
		t.Errorf("only %d task cases; want at least 25", n)
	}
}

// applyFix applies a fix's edits to content (edits of one file, non-overlapping).
func applyFix(content []byte, f Fix) []byte {
	edits := append([]TextEdit(nil), f.Edits...)
	sort.Slice(edits, func(i, j int) bool { return edits[i].Range.Start > edits[j].Range.Start })
	out := append([]byte(nil), content...)
	for _, e := range edits {
		out = append(out[:e.Range.Start:e.Range.Start], append([]byte(e.NewText), out[e.Range.End:]...)...)
	}
	return out
}

// TestTaskFixes applies each case's first fix for a code and checks that the code is
// gone afterwards.
func TestTaskFixes(t *testing.T) {
	cases := []struct {
		dir, template, code string
		fix                 Code
	}{
		{"not_main", "processor_nats", "convert.go", CodeNotMain},
		{"no_exec_task", "processor_nats", "run.go", CodeNoExecTask},
		{"no_exec_task", "nats_to_nats-kv", "run.go", CodeNoExecTask},
		{"bad_signature_string", "processor_nats", "bytes.go", CodeBadSignature},
		{"bad_signature_kv", "nats_to_nats-kv", "kv.go", CodeBadSignature},
		{"named_results", "nats_to_nats-kv", "kv.go", CodeBadSignature},
		{"exec_task_var", "processor_nats", "var.go", CodeExecTaskForm},
		{"exec_task_method", "processor_nats", "method.go", CodeExecTaskForm},
		{"user_main", "processor_nats", "main.go", CodeUserMain},
		{"empty_file", "processor_nats", "empty.go", CodeNoExecTask},
		{"empty_file", "nats_to_nats-kv", "blank.go", CodeNoExecTask},
	}
	c := NewTaskChecker(TaskCheckerOptions{})
	for _, tc := range cases {
		t.Run(tc.dir+"/"+string(tc.fix), func(t *testing.T) {
			root, _ := filepath.Abs(filepath.Join(taskCasesDir, tc.dir))
			req := taskRequest(t, root, tc.template, tc.code)
			res := c.Check(context.Background(), req)
			var fix *Fix
			for _, d := range res.Diagnostics {
				if d.Code == tc.fix && len(d.Fixes) > 0 {
					fix = &d.Fixes[0]
					break
				}
			}
			if fix == nil {
				t.Fatalf("no %s fix in %v", tc.fix, res.Diagnostics)
			}
			file := fix.Edits[0].File
			fixed := applyFix(res.Contents[file], *fix)
			abs := filepath.Join(root, filepath.FromSlash(file))
			req.Overlay = func(p string) ([]byte, bool) {
				if p == abs {
					return fixed, true
				}
				return nil, false
			}
			res = c.Check(context.Background(), req)
			for _, d := range res.Diagnostics {
				if d.Code == tc.fix || d.Severity == Error && d.Code != CodeGoType {
					t.Errorf("after the fix:\n%s\nstill: %s %s", fixed, d.Code, d.Message)
				}
			}
		})
	}
}

func writeProject(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestTaskWarmNeverLoads checks that edits with a known import set never run go list,
// and that the overlay's text is what is checked.
func TestTaskWarmNeverLoads(t *testing.T) {
	root := writeProject(t, map[string]string{"tasks/t.go": "package main\n\nimport \"strings\"\n\nfunc exec_task(arg string) string { return strings.ToUpper(arg) }\n"})
	c := NewTaskChecker(TaskCheckerOptions{})
	req := taskRequest(t, root, "processor_nats", "t.go")
	if res := c.Check(context.Background(), req); len(res.Diagnostics) != 0 || res.Err != nil {
		t.Fatalf("clean file: %v %v", res.Err, res.Diagnostics)
	}
	loads := c.Imports().Loads()
	abs := filepath.Join(root, "tasks", "t.go")
	for i := 0; i < 20; i++ {
		text := fmt.Sprintf("package main\n\nimport \"strings\"\n\nfunc exec_task(arg string) string { return strings.ToUpper(arg) + %d }\n", i)
		req.Overlay = func(p string) ([]byte, bool) { return []byte(text), p == abs }
		res := c.Check(context.Background(), req)
		if len(res.Diagnostics) != 1 || res.Diagnostics[0].Code != CodeGoType {
			t.Fatalf("edit %d: want one type error, got %v", i, res.Diagnostics)
		}
	}
	// A subset of the known imports, and a dependency of a known import, need no load.
	text := "package main\n\nimport \"unicode/utf8\"\n\nfunc exec_task(arg string) string { _ = utf8.RuneLen; return arg }\n"
	req.Overlay = func(p string) ([]byte, bool) { return []byte(text), p == abs }
	if res := c.Check(context.Background(), req); len(res.Diagnostics) != 0 {
		t.Fatalf("utf8: %v", res.Diagnostics)
	}
	if got := c.Imports().Loads(); got != loads {
		t.Errorf("go list ran %d more times on warm checks", got-loads)
	}
}

// TestTaskCheckAll checks a project with one go list run and the same results as
// single checks.
func TestTaskCheckAll(t *testing.T) {
	files := map[string]string{}
	var reqs []TaskRequest
	imports := []string{"strings", "strconv", "encoding/json", "time", "math", "bytes", "sort", "unicode"}
	for i := 0; i < 8; i++ {
		files[fmt.Sprintf("tasks/t%d.go", i)] = fmt.Sprintf("package main\n\nimport %q\n\nvar _ = %s.%s\n\nfunc exec_task(arg string) string { return arg }\n", imports[i], filepath.Base(imports[i]), map[string]string{
			"strings": "ToUpper", "strconv": "Itoa", "encoding/json": "Marshal", "time": "Now", "math": "Abs", "bytes": "Equal", "sort": "Strings", "unicode": "IsUpper"}[imports[i]])
	}
	root := writeProject(t, files)
	for i := 0; i < 8; i++ {
		reqs = append(reqs, taskRequest(t, root, "processor_nats", fmt.Sprintf("t%d.go", i)))
	}
	c := NewTaskChecker(TaskCheckerOptions{})
	all := c.CheckAll(context.Background(), reqs)
	if got := c.Imports().Loads(); got != 1 {
		t.Errorf("CheckAll ran go list %d times, want 1", got)
	}
	single := NewTaskChecker(TaskCheckerOptions{Imports: c.Imports()})
	for i, r := range reqs {
		one := single.Check(context.Background(), r)
		if a, b := formatTaskGolden(all[i]), formatTaskGolden(one); a != b {
			t.Errorf("task %d: CheckAll\n%s\nCheck\n%s", i, a, b)
		}
		if len(one.Diagnostics) != 0 {
			t.Errorf("task %d: %v", i, one.Diagnostics)
		}
	}
}

// TestTaskSharedFileKey checks that a file shared by tasks with one signature is one
// check, and that PL405 names each task's template.
func TestTaskSharedFileKey(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join(taskCasesDir, "bad_signature_string"))
	c := NewTaskChecker(TaskCheckerOptions{})
	a := c.Check(context.Background(), taskRequest(t, root, "processor_nats", "bytes.go"))
	b := c.Check(context.Background(), taskRequest(t, root, "http_producer_nats", "bytes.go"))
	k := c.Check(context.Background(), taskRequest(t, root, "nats_to_nats-kv", "bytes.go"))
	if a.Key == "" || a.Key != b.Key {
		t.Errorf("same file and signature, different keys %q %q", a.Key, b.Key)
	}
	if k.Key == a.Key {
		t.Error("different signatures share a key")
	}
	if !strings.Contains(a.Diagnostics[0].Message, "template processor_nats") || !strings.Contains(b.Diagnostics[0].Message, "template http_producer_nats") {
		t.Errorf("messages: %q / %q", a.Diagnostics[0].Message, b.Diagnostics[0].Message)
	}
}

func TestTaskCancelled(t *testing.T) {
	root := writeProject(t, map[string]string{"tasks/t.go": "package main\n\nimport \"archive/zip\"\n\nvar _ = zip.NewReader\n\nfunc exec_task(arg string) string { return arg }\n"})
	c := NewTaskChecker(TaskCheckerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := c.Check(ctx, taskRequest(t, root, "processor_nats", "t.go"))
	if res.Err == nil {
		t.Error("cancelled check without an error")
	}
	// Cancelled while a load is under way: returns promptly, and the load still
	// completes for the next check.
	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = c.Check(ctx, taskRequest(t, root, "processor_nats", "t.go"))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelled check took %v", d)
	}
	res = c.Check(context.Background(), taskRequest(t, root, "processor_nats", "t.go"))
	if res.Err != nil || len(res.Diagnostics) != 0 {
		t.Errorf("after cancel: %v %v", res.Err, res.Diagnostics)
	}
}

func TestTaskLargeFile(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("package main\n\n// Code generated by a test. DO NOT EDIT.\n\nvar table = []string{\n")
	for b.Len() < 5<<20 {
		fmt.Fprintf(&b, "\t\"entry %08d é🌡\",\n", b.Len())
	}
	b.WriteString("}\n\nfunc exec_task(arg string) string { return table[0] + arg + 1 }\n")
	root := writeProject(t, map[string]string{"tasks/big.go": b.String()})
	c := NewTaskChecker(TaskCheckerOptions{})
	start := time.Now()
	res := c.Check(context.Background(), taskRequest(t, root, "processor_nats", "big.go"))
	t.Logf("5 MB file checked in %v", time.Since(start))
	checkRanges(t, res)
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].Code != CodeGoType {
		t.Errorf("want one type error, got %v", res.Diagnostics)
	}
	small := NewTaskChecker(TaskCheckerOptions{MaxFileSize: 1 << 20})
	res = small.Check(context.Background(), taskRequest(t, root, "processor_nats", "big.go"))
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].Code != CodeTaskUnreadable {
		t.Errorf("over the limit: %v", res.Diagnostics)
	}
}

// TestTaskDeletedWhileChecking removes a folder task's file between listing and
// reading it.
func TestTaskDeletedWhileChecking(t *testing.T) {
	root := writeProject(t, map[string]string{
		"tasks/f/a.go": "package main\n\nfunc exec_task(arg string) string { return helper(arg) }\n",
		"tasks/f/b.go": "package main\n\nfunc helper(s string) string { return s }\n",
	})
	b := filepath.Join(root, "tasks", "f", "b.go")
	req := taskRequest(t, root, "processor_nats", "f")
	req.Overlay = func(p string) ([]byte, bool) {
		if strings.HasSuffix(p, "a.go") {
			_ = os.Remove(b)
		}
		return nil, false
	}
	res := NewTaskChecker(TaskCheckerOptions{}).Check(context.Background(), req)
	checkRanges(t, res)
	var codes []string
	for _, d := range res.Diagnostics {
		codes = append(codes, string(d.Code)+" "+d.Message)
	}
	if len(codes) == 0 || !strings.Contains(strings.Join(codes, "\n"), "PL411 cannot read tasks/f/b.go") {
		t.Errorf("diagnostics: %v", codes)
	}
}

func TestTaskConcurrent(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join(taskCasesDir, "type_errors"))
	cache := goimporter.New(goimporter.Options{})
	c := NewTaskChecker(TaskCheckerOptions{Imports: cache, MemoSize: -1})
	want := formatTaskGolden(c.Check(context.Background(), taskRequest(t, root, "processor_nats", "typed.go")))
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				got := formatTaskGolden(c.Check(context.Background(), taskRequest(t, root, "processor_nats", "typed.go")))
				if got != want {
					t.Errorf("concurrent check differs:\n%s", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSuppressGo(t *testing.T) {
	content := []byte("package main\n\n// pelato:ignore-file PL408,PL409\n// pelato:ignore PL402\nx\ny // pelato:ignore all\nz\n")
	m := span.NewMapper(content)
	at := func(line int, code Code) Diagnostic {
		s := m.LineStart(line - 1)
		return Diagnostic{File: "tasks/a.go", Range: span.Range{Start: s, End: s + 1}, Code: code}
	}
	ds := []Diagnostic{at(5, CodeGoType), at(5, CodeNotMain), at(6, CodeUserMain), at(7, CodeGoType), at(1, CodeWasmImport), at(7, CodeUnresolvedImp), {File: "tasks/b.go", Code: CodeWasmImport}}
	got := SuppressGo(ds, "tasks/a.go", content)
	var s []string
	for _, d := range got {
		s = append(s, fmt.Sprintf("%s:%d", d.Code, m.Point(d.Range.Start).Line))
	}
	if want := "PL403:5 PL402:7 PL408:1"; strings.Join(s, " ") != want {
		t.Errorf("kept %v, want %s", s, want)
	}
}

func TestTaskStubs(t *testing.T) {
	for _, tpl := range templates.Default().All() {
		stub := stubFile(tpl.Signature)
		if stub == "" {
			t.Fatalf("%s: no stub for %q", tpl.Name, tpl.Signature)
		}
		root := writeProject(t, map[string]string{"tasks/s.go": stub})
		res := NewTaskChecker(TaskCheckerOptions{}).Check(context.Background(), TaskRequest{Root: root, Code: "s.go", Template: tpl.Name, Signature: tpl.Signature, Kind: tpl.Kind})
		if len(res.Diagnostics) != 0 {
			t.Errorf("%s stub:\n%s\n%v", tpl.Name, stub, res.Diagnostics)
		}
	}
	if got := guessPackageName("github.com/nats-io/nats.go"); got != "nats" {
		t.Errorf("guess nats.go = %q", got)
	}
	if got := guessPackageName("gopkg.in/yaml.v3"); got != "yaml" {
		t.Errorf("guess yaml.v3 = %q", got)
	}
	if got := guessPackageName("example.com/go-thing/v2"); got != "thing" {
		t.Errorf("guess go-thing/v2 = %q", got)
	}
}

func TestWasmIncompatible(t *testing.T) {
	for p, want := range map[string]bool{"os/exec": true, "net": true, "net/http": true, "net/http/httputil": true, "net/url": false, "net/netip": false, "unsafe": false, "syscall": true, "plugin": true, "C": true, "strings": false, "netx": false} {
		if got := wasmIncompatible(p) != ""; got != want {
			t.Errorf("%s: incompatible=%v, want %v", p, got, want)
		}
	}
}

// FuzzTaskCheck checks arbitrary file contents: no panic, ranges within the file.
func FuzzTaskCheck(f *testing.F) {
	for _, s := range []string{
		"", "package main\n", "package main\nfunc exec_task(arg string) string { return arg }\n",
		"package main\nimport \"strings\"\nfunc exec_task(a []byte) string { return strings.ToUpper(string(a)) }\n",
		"package x\nfunc exec_task[T any](t T) T { return t }\nfunc main() {}\n",
		"package main\nvar exec_task = func(s string) string { return s }\n",
		"\xff\xfepackage main", "package main\nfunc exec_task(", "package main\n/* é🌡 \x00 */ func f() { s := \"é🌡\"; return 42 }",
		"\ufeffpackage main\r\nfunc exec_task(arg string) string {\r\n\treturn 1\r\n}\r\n",
	} {
		f.Add([]byte(s))
	}
	root := f.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "tasks"), 0o755); err != nil {
		f.Fatal(err)
	}
	abs := filepath.Join(root, "tasks", "fuzz.go")
	c := NewTaskChecker(TaskCheckerOptions{MemoSize: -1})
	f.Fuzz(func(t *testing.T, content []byte) {
		req := taskRequest(t, root, "processor_nats", "fuzz.go")
		req.Overlay = func(p string) ([]byte, bool) { return content, p == abs }
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res := c.Check(ctx, req)
		checkRanges(t, res)
	})
}

// TestExecTaskNearMiss: a function named almost exec_task (case, underscores, a typo)
// gets a did-you-mean on its name and a rename fix; an unrelated function does not.
func TestExecTaskNearMiss(t *testing.T) {
	c := NewTaskChecker(TaskCheckerOptions{})
	for _, tc := range []struct {
		name string
		near bool
	}{
		{"Exec_task", true}, {"ExecTask", true}, {"execTask", true}, {"exec_tsak", true}, {"exectask", true}, {"EXEC_TASK", true},
		{"execute", false}, {"run", false}, {"task", false},
	} {
		root := writeProject(t, map[string]string{
			"tasks/a.go": "package main\n\nfunc " + tc.name + "(arg string) string { return arg }\n",
		})
		res := c.Check(context.Background(), taskRequest(t, root, "processor_nats", "a.go"))
		checkRanges(t, res)
		var d *Diagnostic
		for i := range res.Diagnostics {
			if res.Diagnostics[i].Code == CodeNoExecTask {
				d = &res.Diagnostics[i]
			}
		}
		if d == nil {
			t.Fatalf("%s: no PL404 in %+v", tc.name, res.Diagnostics)
		}
		got := strings.Contains(d.Message, "did you mean `"+tc.name+"`")
		if got != tc.near {
			t.Errorf("%s: did-you-mean = %v, want %v: %s", tc.name, got, tc.near, d.Message)
			continue
		}
		if !tc.near {
			continue
		}
		if span := res.Contents["tasks/a.go"][d.Range.Start:d.Range.End]; string(span) != tc.name {
			t.Errorf("%s: diagnostic on %q, want the function's name", tc.name, span)
		}
		if len(d.Fixes) == 0 || d.Fixes[0].Title != "Rename "+tc.name+" to exec_task" || len(d.Fixes[0].Edits) != 1 || d.Fixes[0].Edits[0].NewText != "exec_task" {
			t.Errorf("%s: fixes %+v", tc.name, d.Fixes)
		}
	}
}

// TestRecoverWarning: recover() in task code is a PL414 warning naming the pinned
// TinyGo version (it has no effect there); a package's own func recover is not.
func TestRecoverWarning(t *testing.T) {
	c := NewTaskChecker(TaskCheckerOptions{})
	for _, tc := range []struct {
		name, src string
		want      int
	}{
		{"builtin", "package main\n\nfunc exec_task(arg string) (out string) {\n\tdefer func() {\n\t\tif r := recover(); r != nil {\n\t\t\tout = \"failed\"\n\t\t}\n\t}()\n\treturn arg\n}\n", 1},
		{"own recover", "package main\n\nfunc recover() any { return nil }\n\nfunc exec_task(arg string) string {\n\t_ = recover()\n\treturn arg\n}\n", 0},
		{"none", "package main\n\nfunc exec_task(arg string) string { return arg }\n", 0},
	} {
		root := writeProject(t, map[string]string{"tasks/a.go": tc.src})
		res := c.Check(context.Background(), taskRequest(t, root, "processor_nats", "a.go"))
		checkRanges(t, res)
		n := 0
		for _, d := range res.Diagnostics {
			if d.Code == CodeRecover {
				n++
				if d.Severity != Warning || !strings.Contains(d.Message, "TinyGo "+templates.TinyGoVersion()) || !strings.Contains(d.Message, "a panic traps") ||
					string(res.Contents["tasks/a.go"][d.Range.Start:d.Range.End]) != "recover()" {
					t.Errorf("%s: %+v", tc.name, d)
				}
			} else if d.Severity <= Warning {
				t.Errorf("%s: unexpected %s %s", tc.name, d.Code, d.Message)
			}
		}
		if n != tc.want {
			t.Errorf("%s: %d PL414, want %d", tc.name, n, tc.want)
		}
	}
}

// TestRecoverFollowsTinyGo: the rule follows the pinned TinyGo version against the
// release that gains recover on WebAssembly (none yet).
func TestRecoverFollowsTinyGo(t *testing.T) {
	if TinyGoRecoverSince == "" {
		for _, v := range []string{"0.42.0", "0.43.0", templates.TinyGoVersion(), "1.0.0"} {
			if RecoverWorks(v) {
				t.Errorf("RecoverWorks(%s) with no release implementing it", v)
			}
		}
	} else if !RecoverWorks(TinyGoRecoverSince) {
		t.Errorf("RecoverWorks(%s) = false", TinyGoRecoverSince)
	}
	for _, c := range []struct {
		a, b string
		want int
	}{{"0.42.0", "0.43.0", -1}, {"0.43.0", "0.43.0", 0}, {"0.100.0", "0.43.0", 1}, {"v1.0", "0.99.9", 1}, {"0.43.0-rc1", "0.43.0", 0}} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// TestMemoFitsLargeCheck: a check of more tasks than the memo holds raises its bound,
// so that a re-check finds every unchanged task (it would otherwise evict them in
// turn and type-check every task on every edit of a large workflow).
func TestMemoFitsLargeCheck(t *testing.T) {
	files := map[string]string{}
	var reqs []TaskRequest
	for i := range 10 {
		files[fmt.Sprintf("tasks/t%d.go", i)] = fmt.Sprintf("package main\n\nfunc exec_task(arg string) string { return arg + %q }\n", fmt.Sprint(i))
	}
	root := writeProject(t, files)
	for i := range 10 {
		reqs = append(reqs, taskRequest(t, root, "processor_nats", fmt.Sprintf("t%d.go", i)))
	}
	c := NewTaskChecker(TaskCheckerOptions{MemoSize: 4})
	first := c.CheckAll(context.Background(), reqs)
	c.mu.Lock()
	size, held := c.memoSize, len(c.memo)
	c.mu.Unlock()
	if size < 20 || held != 10 {
		t.Fatalf("memo bound %d holding %d after a check of 10 tasks; want ≥ 20 holding 10", size, held)
	}
	second := c.CheckAll(context.Background(), reqs)
	for i := range first {
		if first[i].Key != second[i].Key || len(second[i].Diagnostics) != len(first[i].Diagnostics) {
			t.Errorf("task %d: re-check differs", i)
		}
	}
	fixed := NewTaskChecker(TaskCheckerOptions{MemoSize: 4})
	fixed.fixedMemo = true
	fixed.CheckAll(context.Background(), reqs)
	if len(fixed.memo) != 4 {
		t.Errorf("a fixed memo holds %d, want 4", len(fixed.memo))
	}
}
