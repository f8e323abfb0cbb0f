package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/wadm"
	"github.com/pelato-dev/pelato/templates"
)

func copyProject(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "gen" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// snapshot returns every file under dir with its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

func TestGenExampleIsDeterministicAndValid(t *testing.T) {
	a, b := copyProject(t, "../../examples/temperature"), copyProject(t, "../../examples/temperature")
	for _, dir := range []string{a, b} {
		res, err := Gen(context.Background(), GenOptions{Root: dir, Registry: "registry.example:5000/team"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Components) != 2 || res.Failed() != 0 {
			t.Fatalf("result %+v", res)
		}
	}
	sa, sb := snapshot(t, filepath.Join(a, GenDir)), snapshot(t, filepath.Join(b, GenDir))
	if len(sa) == 0 || fmt.Sprint(sa) != fmt.Sprint(sb) {
		t.Fatalf("output differs between two runs on the same input")
	}
	conv := sa["celsius_to_kelvin_conversion/convert.go"]
	if strings.Contains(conv, "//go:build ignore") || !strings.Contains(conv, "func exec_task") {
		t.Errorf("task copy must keep the code and drop the build-ignore line:\n%s", conv)
	}
	if !strings.HasPrefix(conv, "package main\n") {
		t.Errorf("the task copy must start with its package clause, not the blank lines the build line left:\n%q", conv[:min(len(conv), 40)])
	}
	// Every generated Go file, the task copies included, is gofmt-clean byte for byte.
	for name, src := range sa {
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		if formatted, err := format.Source([]byte(src)); err != nil || string(formatted) != src {
			t.Errorf("%s is not gofmt-clean (%v)", name, err)
		}
	}
	for _, c := range []string{"celsius_to_kelvin_conversion", "temp_filter"} {
		m, err := wadm.Decode([]byte(sa[c+"/wadm.yaml"]))
		if err != nil {
			t.Fatalf("%s/wadm.yaml: %v", c, err)
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%s/wadm.yaml: %v", c, err)
		}
		if !strings.Contains(sa[c+"/wadm.yaml"], "image: registry.example:5000/team/"+c+":") {
			t.Errorf("%s: image does not use the registry", c)
		}
		if !strings.Contains(sa[c+"/wasmcloud.toml"], `name = "`+c+`"`) {
			t.Errorf("%s: wasmcloud.toml name must be the component name", c)
		}
		for _, f := range []string{"go.mod", "main.go", "wit/world.wit", RecordFile} {
			if _, ok := sa[c+"/"+f]; !ok {
				t.Errorf("%s: missing %s", c, f)
			}
		}
	}
}

func TestGenFormatsTaskCopies(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature")
	// A task file as an editor without gofmt might leave it: CRLF line ends, no
	// blank lines, odd spacing and indentation, a BOM.
	messy := "\ufeff//go:build ignore\r\npackage main\r\nimport \"strings\"\r\n// exec_task shouts.\r\nfunc exec_task(arg string)string{\r\n    return strings.ToUpper( arg )}\r\n"
	if err := os.WriteFile(filepath.Join(dir, "tasks", "filter.go"), []byte(messy), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Gen(context.Background(), GenOptions{Root: dir, Tasks: []string{"temp_filter"}}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, GenDir, "temp_filter", "filter.go"))
	if err != nil {
		t.Fatal(err)
	}
	want := "package main\n\nimport \"strings\"\n\n// exec_task shouts.\nfunc exec_task(arg string) string {\n\treturn strings.ToUpper(arg)\n}\n"
	if string(got) != want {
		t.Errorf("task copy:\n%q\nwant\n%q", got, want)
	}
}

func TestGenSkipsUnchangedAndSelectsTasks(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature")
	ctx := context.Background()
	if _, err := Gen(ctx, GenOptions{Root: dir}); err != nil {
		t.Fatal(err)
	}
	res, err := Gen(ctx, GenOptions{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Components {
		if c.Changed {
			t.Errorf("%s rewritten although nothing changed", c.ComponentName)
		}
	}
	task := filepath.Join(dir, "tasks", "filter.go")
	b, _ := os.ReadFile(task)
	os.WriteFile(task, append(b, []byte("\n// edited\n")...), 0o644)
	res, err = Gen(ctx, GenOptions{Root: dir, Tasks: []string{"Data filter", "temp_filter"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Components) != 1 || !res.Components[0].Changed || res.Components[0].ComponentName != "temp_filter" {
		t.Errorf("selection by name: %+v", res.Components)
	}
	if _, err := Gen(ctx, GenOptions{Root: dir, Tasks: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), "temp_filter") {
		t.Errorf("unknown task must list the tasks: %v", err)
	}
}

func TestGenRefusesWithErrorsAndForeignFolders(t *testing.T) {
	ctx := context.Background()
	dir := copyProject(t, "../../examples/temperature")
	wf := filepath.Join(dir, "workflow.yaml")
	good, _ := os.ReadFile(wf)
	os.WriteFile(wf, bytes.Replace(good, []byte("version: 1.0.2"), []byte("version: latest"), 1), 0o644)
	var cf *CheckFailedError
	if _, err := Gen(ctx, GenOptions{Root: dir}); !errors.As(err, &cf) {
		t.Fatalf("want CheckFailedError, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, GenDir)); err == nil {
		t.Errorf("gen/ written despite errors")
	}
	os.WriteFile(wf, good, 0o644)

	// A gen/ without the marker is the user's: untouched.
	os.MkdirAll(filepath.Join(dir, GenDir, "temp_filter"), 0o755)
	os.WriteFile(filepath.Join(dir, GenDir, "temp_filter", "mine.txt"), []byte("keep"), 0o644)
	if _, err := Gen(ctx, GenOptions{Root: dir}); err == nil || !strings.Contains(err.Error(), "not created by pelato") {
		t.Fatalf("want refusal, got %v", err)
	}
	// With the marker but a component folder that is not ours: that component fails.
	os.WriteFile(filepath.Join(dir, GenDir, MarkerFile), nil, 0o644)
	res, err := Gen(ctx, GenOptions{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 1 {
		t.Errorf("want one failed component, got %+v", res.Components)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, GenDir, "temp_filter", "mine.txt")); string(b) != "keep" {
		t.Errorf("user file lost")
	}
}

func TestGenHostileStrings(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature")
	wf := filepath.Join(dir, "workflow.yaml")
	b, _ := os.ReadFile(wf)
	b = bytes.Replace(b, []byte("name: Data filter"), []byte(`name: "Filter \"{{.Name}}\" }} \n: # - & * ! | > ' % @ `+"`"+` 🌡"`), 1)
	b = bytes.Replace(b, []byte("project_name: Temperature data analysis"), []byte(`project_name: "{{printf \"%s\" 1}}\n---\nkind: x"`), 1)
	b = bytes.Replace(b, []byte("    targets: [cloud]"), []byte("    targets: [cloud]\n    config:\n      note: \"\\\"'{{ }}\\n#\""), 1)
	os.WriteFile(wf, b, 0o644)
	res, err := Gen(context.Background(), GenOptions{Root: dir})
	if err != nil || res.Failed() > 0 {
		t.Fatalf("%v %+v", err, res)
	}
	for rel, content := range snapshot(t, filepath.Join(dir, GenDir)) {
		if strings.Contains(content, "{{") && !strings.HasSuffix(rel, "wadm.yaml") {
			t.Errorf("%s contains a template delimiter from user input", rel)
		}
	}
	m, err := wadm.Decode(mustRead(t, filepath.Join(dir, GenDir, "temp_filter", "wadm.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Metadata.Annotations["description"]; !strings.Contains(got, `"{{.Name}}" }}`) || !strings.Contains(got, "\n") {
		t.Errorf("description not carried verbatim: %q", got)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGenDiskFullLeavesNoPartialComponent(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature")
	ctx := context.Background()
	if _, err := Gen(ctx, GenOptions{Root: dir}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, filepath.Join(dir, GenDir))
	os.WriteFile(filepath.Join(dir, "tasks", "filter.go"), append(mustRead(t, filepath.Join(dir, "tasks", "filter.go")), "// v2\n"...), 0o644)
	written := 0
	full := func(p string, b []byte) error {
		if written++; written > 3 {
			return &fs.PathError{Op: "write", Path: p, Err: syscall.ENOSPC}
		}
		return writeFileSync(p, b)
	}
	res, err := Gen(ctx, GenOptions{Root: dir, writeFile: full})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 1 || !strings.Contains(res.Components[1].Err, "no space left") {
		t.Fatalf("want the temp_filter component to fail with ENOSPC: %+v", res.Components)
	}
	after := snapshot(t, filepath.Join(dir, GenDir))
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("a failed write changed gen/ (partial component or lost previous output)")
	}
}

func TestGenUnwritableAndDeletedTask(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores permissions: make gen/ a file instead.
		dir := copyProject(t, "../../examples/temperature")
		os.WriteFile(filepath.Join(dir, GenDir), []byte("not a folder"), 0o644)
		if _, err := Gen(context.Background(), GenOptions{Root: dir}); err == nil || !strings.Contains(err.Error(), "not a folder") {
			t.Errorf("gen/ as a file: %v", err)
		}
	} else {
		dir := copyProject(t, "../../examples/temperature")
		os.Chmod(dir, 0o555)
		defer os.Chmod(dir, 0o755)
		if _, err := Gen(context.Background(), GenOptions{Root: dir}); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("unwritable project: %v", err)
		}
	}
	// A task file deleted between the check and the copy: the component fails cleanly.
	dir := copyProject(t, "../../examples/temperature")
	res, err := check.Project(context.Background(), check.Options{Root: dir})
	if err != nil || check.HasErrors(res.Diagnostics) {
		t.Fatal(err, res.Diagnostics)
	}
	genDir := filepath.Join(dir, GenDir)
	if err := claimGenDir(genDir); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "tasks", "filter.go"))
	task, _ := res.Workflow.Find("temp_filter")
	c := genOne(GenOptions{Root: dir, Registry: DefaultRegistry, Templates: templates.Default()}, genDir, res.Workflow, task)
	if !strings.Contains(c.Err, "filter.go") {
		t.Errorf("want an error naming the deleted file, got %q", c.Err)
	}
	entries, _ := os.ReadDir(genDir)
	for _, e := range entries {
		if e.Name() != MarkerFile {
			t.Errorf("%s left behind", e.Name())
		}
	}
}

// hundredTasks writes a project of 100 processor tasks sharing one task file.
func hundredTasks(b *testing.B) string {
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "tasks"), 0o755)
	os.WriteFile(filepath.Join(dir, "tasks", "task.go"), []byte("package main\n\nimport \"strings\"\n\nfunc exec_task(arg string) string { return strings.ToUpper(arg) }\n"), 0o644)
	var wf strings.Builder
	wf.WriteString("project_name: Hundred\ntasks:\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&wf, "  - name: Task %d\n    type: processor_nats\n    code: task.go\n    targets: [edge, cloud]\n    source_topic: t.%d\n    dest_topic: t.%d\n    component_name: task_%d\n    version: 1.0.0\n", i, i, i+1, i)
	}
	os.WriteFile(filepath.Join(dir, "workflow.yaml"), []byte(wf.String()), 0o644)
	return dir
}

// BenchmarkGen100 measures gen of a 100-task project, every component changed, in a
// long-lived process (imports already loaded by the task checker, as in the language
// server; a fresh CLI process adds one `go list`, see BenchmarkTaskFirstCheck20).
// Target: under 100 ms.
func BenchmarkGen100(b *testing.B) {
	dir := hundredTasks(b)
	ctx := context.Background()
	checker := check.NewTaskChecker(check.TaskCheckerOptions{})
	if _, err := Gen(ctx, GenOptions{Root: dir, TaskChecker: checker}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		os.RemoveAll(filepath.Join(dir, GenDir))
		b.StartTimer()
		res, err := Gen(ctx, GenOptions{Root: dir, TaskChecker: checker, writeFile: writeFileNoSync})
		if err != nil || res.Failed() > 0 {
			b.Fatal(err, res)
		}
	}
}

// BenchmarkGen100Unchanged measures gen of the same 100-task project when nothing
// changed: every component is verified and skipped.
func BenchmarkGen100Unchanged(b *testing.B) {
	dir := hundredTasks(b)
	ctx := context.Background()
	checker := check.NewTaskChecker(check.TaskCheckerOptions{})
	if _, err := Gen(ctx, GenOptions{Root: dir, TaskChecker: checker}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Gen(ctx, GenOptions{Root: dir, TaskChecker: checker})
		if err != nil || res.Components[0].Changed {
			b.Fatal(err, res)
		}
	}
}

// writeFileNoSync skips fsync, whose cost depends on the disk, not on pelato.
func writeFileNoSync(p string, b []byte) error { return os.WriteFile(p, b, 0o644) }

// gen records the task's source hash in the manifest, so a code change alone changes
// the manifest (and deploy then asks for a new version).
func TestGenRecordsSourceHash(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature")
	hashOf := func() string {
		t.Helper()
		if _, err := Gen(context.Background(), GenOptions{Root: dir}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, GenDir, "temp_filter", templates.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		m, err := wadm.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		return m.Metadata.Annotations[wadm.AnnotationSourceHash]
	}
	first := hashOf()
	if !strings.HasPrefix(first, "sha256:") || len(first) != len("sha256:")+64 {
		t.Fatalf("source hash %q", first)
	}
	if again := hashOf(); again != first {
		t.Errorf("same code, different hash: %s, %s", first, again)
	}
	p := filepath.Join(dir, "tasks", "filter.go")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, append(b, []byte("\n// a comment changes the code\n")...), 0o644)
	if changed := hashOf(); changed == first {
		t.Errorf("the code changed and the hash did not: %s", changed)
	}
}

// TestGenRefusesGoGenerate: a //go:generate line of a task file (which wash build would
// run) is not copied into gen/ unless the user opts in; gen/ keeps no component for
// the refused task, and the error names the file and the command.
func TestGenRefusesGoGenerate(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature")
	task := filepath.Join(dir, "tasks", "filter.go")
	b := mustRead(t, task)
	withGen := strings.Replace(string(b), "package main\n", "package main\n\n//go:generate touch /tmp/pwned\n", 1)
	if err := os.WriteFile(task, []byte(withGen), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := Gen(ctx, GenOptions{Root: dir, Tasks: []string{"temp_filter"}})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Components[0]
	if res.Failed() != 1 || !strings.Contains(c.Err, "tasks/filter.go has a //go:generate line (`touch /tmp/pwned`)") || !strings.Contains(c.Err, "--allow-go-generate") {
		t.Fatalf("component %+v", c)
	}
	if _, err := os.Stat(filepath.Join(dir, GenDir, "temp_filter")); !os.IsNotExist(err) {
		t.Errorf("a refused component was written: %v", err)
	}
	res, err = Gen(ctx, GenOptions{Root: dir, Tasks: []string{"temp_filter"}, AllowGoGenerate: true})
	if err != nil || res.Failed() != 0 {
		t.Fatalf("opted in: %v %+v", err, res)
	}
	if got := mustRead(t, filepath.Join(dir, GenDir, "temp_filter", "filter.go")); !strings.Contains(string(got), "\n//go:generate touch /tmp/pwned\n") {
		t.Errorf("opted in, the directive is copied:\n%s", got)
	}
}
