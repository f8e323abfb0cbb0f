package tinygotest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/pipeline"
	"github.com/pelato-dev/pelato/internal/tinygotest"
	"github.com/pelato-dev/pelato/internal/wasmcomponent"
	"github.com/pelato-dev/pelato/templates"
)

// stringTask and kvTask are the task code of the test project, one shape per
// template kind: results the assertions below can predict.
const (
	stringTask = "package main\n\nimport \"strings\"\n\n// exec_task shouts.\nfunc exec_task(arg string) string {\n\treturn strings.ToUpper(arg) + \"!\"\n}\n"
	kvTask     = "package main\n\nimport \"strings\"\n\n// exec_task stores the data upper-cased under key.v2.\nfunc exec_task(key string, data string) (string, string) {\n\treturn key + \".v2\", strings.ToUpper(data)\n}\n"
)

// buildProject builds root with the local builder, failing t with the
// diagnostics when the project does not pass its check.
func buildProject(ctx context.Context, t *testing.T, root string) *pipeline.BuildResult {
	t.Helper()
	res, err := pipeline.Build(ctx, pipeline.BuildOptions{Root: root, Builder: pipeline.BuilderLocal, Jobs: 2})
	var cf *pipeline.CheckFailedError
	if errors.As(err, &cf) {
		for _, d := range cf.Result.Diagnostics {
			t.Logf("%+v", d)
		}
	}
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return res
}

// project writes a project with one task per template (component tpl_<i>, its
// template's name in the task's name) and returns its folder and the template of
// each component.
func project(t *testing.T) (string, map[string]*templates.Template) {
	t.Helper()
	dir := t.TempDir()
	byComponent := map[string]*templates.Template{}
	var b strings.Builder
	b.WriteString("project_name: TinyGo build test\ntasks:\n")
	for i, tmpl := range templates.Default().All() {
		c := fmt.Sprintf("tpl_%d", i)
		byComponent[c] = tmpl
		fmt.Fprintf(&b, "  - name: Task %s\n    type: %s\n    code: %s.go\n    targets: [edge]\n    source_topic: in_%d\n    component_name: %s\n    version: 1.0.0\n", tmpl.Name, tmpl.Name, c, i, c)
		for _, k := range tmpl.Keys.Required {
			switch k {
			case "dest_topic":
				fmt.Fprintf(&b, "    dest_topic: out_%d\n", i)
			case "bucket":
				fmt.Fprintf(&b, "    bucket: results_%d\n", i)
			default:
				t.Fatalf("template %s requires key %s, which this test does not know how to set: add it here", tmpl.Name, k)
			}
		}
		code := stringTask
		if tmpl.Kind == templates.KindKV {
			code = kvTask
		}
		writeFile(t, filepath.Join(dir, "tasks", c+".go"), code)
	}
	writeFile(t, filepath.Join(dir, "workflow.yaml"), b.String())
	return dir, byComponent
}

// projectWasmCloud2 writes a wasmcloud2 project with one processor_nats task
// (component tpl-w2) and returns its folder.
func projectWasmCloud2(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "workflow.yaml"), "project_name: TinyGo build test on wasmCloud 2\nplatform: wasmcloud2\ntasks:\n"+
		"  - name: Task on wasmcloud2\n    type: processor_nats\n    code: w2.go\n    targets: [edge]\n    source_topic: in_w2\n    dest_topic: out_w2\n    component_name: tpl-w2\n    version: 1.0.0\n")
	writeFile(t, filepath.Join(dir, "tasks", "w2.go"), stringTask)
	return dir
}

// TestTemplatesBuildAndRun builds every template's generated project with the real
// TinyGo (pelato's local builder: the builder image's steps with the toolchain of
// .ci/tinygo.sh), checks that each artifact is a component importing and exporting
// what its WIT world declares, and runs it under Node.js (jco transpile) against
// test doubles of the host's interfaces (testdata/doubles.mjs): a message in gives
// the result published to dest_topic (and to the reply subject), an HTTP POST gives
// 200 and a publish, a key-value message stores the pair.
//
// Beside them, at the same time (the builds overlap on the machine's cores), it
// builds one processor_nats task of a wasmcloud2 project and checks that its
// component imports wasi:config/store@0.2.0-rc.1, what wasmCloud 2 serves, and not
// the 1.x wasi:config/runtime, and runs it the same way.
func TestTemplatesBuildAndRun(t *testing.T) {
	tc := tinygotest.Require(t)
	root, byComponent := project(t)
	rootW2 := projectWasmCloud2(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	var resW2 *pipeline.BuildResult
	var errW2 error
	doneW2 := make(chan struct{})
	go func() {
		defer close(doneW2)
		resW2, errW2 = pipeline.Build(ctx, pipeline.BuildOptions{Root: rootW2, Builder: pipeline.BuilderLocal, Jobs: 1})
	}()
	defer func() { cancel(); <-doneW2 }()
	res := buildProject(ctx, t, root)
	t.Logf("built %d components in %s", len(res.Components), time.Since(start).Round(time.Second))
	if len(res.Components) != len(byComponent) {
		t.Fatalf("built %d components, want %d", len(res.Components), len(byComponent))
	}
	for _, c := range res.Components {
		if c.Status != pipeline.StatusBuilt {
			log, _ := os.ReadFile(filepath.Join(root, filepath.FromSlash(c.Log)))
			t.Fatalf("%s: %s: %s\n%s", c.ComponentName, c.Status, c.Err, log)
		}
	}
	for _, c := range res.Components {
		tmpl := byComponent[c.ComponentName]
		t.Run(tmpl.Name, func(t *testing.T) {
			art := filepath.Join(root, filepath.FromSlash(c.Artifact))
			checkWorld(t, art, filepath.Join(root, pipeline.GenDir, c.ComponentName, "wit", "world.wit"), tmpl, "wasi:config/runtime@0.2.0-draft")
			run(t, tc, art, c.ComponentName, tmpl)
		})
	}

	<-doneW2
	t.Logf("built the wasmcloud2 component too in %s", time.Since(start).Round(time.Second))
	if errW2 != nil || len(resW2.Components) != 1 {
		t.Fatalf("wasmcloud2 build: %v %+v", errW2, resW2)
	}
	t.Run("wasmcloud2/processor_nats", func(t *testing.T) {
		c := resW2.Components[0]
		if c.Status != pipeline.StatusBuilt {
			log, _ := os.ReadFile(filepath.Join(rootW2, filepath.FromSlash(c.Log)))
			t.Fatalf("%s: %s: %s\n%s", c.ComponentName, c.Status, c.Err, log)
		}
		tmpl, _ := templates.Default().Lookup("processor_nats")
		art := filepath.Join(rootW2, filepath.FromSlash(c.Artifact))
		checkWorld(t, art, filepath.Join(rootW2, pipeline.GenDir, c.ComponentName, "wit", "world.wit"), tmpl, "wasi:config/store@0.2.0-rc.1")
		info, err := wasmcomponent.ParseFile(art)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range info.ImportNames() {
			if strings.HasPrefix(n, "wasi:config/runtime") {
				t.Errorf("the wasmcloud2 component imports %s, which wasmCloud 2 does not serve", n)
			}
		}
		run(t, tc, art, c.ComponentName, tmpl)
	})

	// Unchanged: the second build reuses every artifact.
	res = buildProject(ctx, t, root)
	if n := res.Count(pipeline.StatusSkipped); n != len(byComponent) {
		t.Errorf("second build skipped %d of %d unchanged components: %s", n, len(byComponent), res.Summary())
	}
}

// checkWorld checks that the artifact at art is a component exporting exactly what
// its world.wit exports, importing nothing its world does not allow (the world's
// imports, the WASI 0.2.0 packages that wasi:cli/imports includes and the types of
// the packages it imports: wasm-tools leaves out imports the code never calls),
// and importing what its template's harness uses (configImport: the wasi:config
// interface of its platform).
func checkWorld(t *testing.T, art, worldWIT string, tmpl *templates.Template, configImport string) {
	t.Helper()
	info, err := wasmcomponent.ParseFile(art)
	if err != nil {
		t.Fatalf("%s: %v", art, err)
	}
	imports, exports := info.ImportNames(), info.ExportNames()
	var worldImports, worldExports []string
	f, err := os.Open(worldWIT)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSuffix(strings.TrimSpace(sc.Text()), ";")
		if name, ok := strings.CutPrefix(line, "import "); ok {
			worldImports = append(worldImports, name)
		} else if name, ok := strings.CutPrefix(line, "export "); ok {
			worldExports = append(worldExports, name)
		}
	}
	if len(worldExports) == 0 {
		t.Fatalf("%s declares no export", worldWIT)
	}
	slices.Sort(worldExports)
	got := slices.Clone(exports)
	slices.Sort(got)
	if !slices.Equal(got, worldExports) {
		t.Errorf("exports %v, want %v (its world's)", got, worldExports)
	}
	// pkg is "wasi:config@0.2.0-draft" for "wasi:config/runtime@0.2.0-draft".
	pkg := func(name string) string {
		ns, rest, _ := strings.Cut(name, "/")
		_, version, _ := strings.Cut(rest, "@")
		return ns + "@" + version
	}
	allowed := map[string]bool{}
	for _, p := range []string{"wasi:cli", "wasi:io", "wasi:clocks", "wasi:filesystem", "wasi:random", "wasi:sockets"} {
		allowed[p+"@0.2.0"] = true
	}
	for _, n := range append(worldImports, worldExports...) {
		allowed[pkg(n)] = true
	}
	for _, n := range imports {
		if !slices.Contains(worldImports, n) && !allowed[pkg(n)] {
			t.Errorf("the component imports %s, which its world does not allow; imports: %v", n, imports)
		}
	}
	need := []string{"wasi:logging/logging@0.1.0-draft"}
	if tmpl.Publishes {
		need = append(need, "wasmcloud:messaging/consumer@0.2.0", configImport)
	}
	if tmpl.Kind == templates.KindKV {
		need = append(need, "wasi:keyvalue/store@0.2.0-draft")
	}
	for _, n := range need {
		if !slices.Contains(imports, n) {
			t.Errorf("the component does not import %s, which its harness uses; imports: %v", n, imports)
		}
	}
	if tmpl.Publishes != slices.Contains(imports, "wasmcloud:messaging/consumer@0.2.0") {
		t.Errorf("template publishes=%v but imports %v", tmpl.Publishes, imports)
	}
	if want := "wasi:http/incoming-handler@0.2.0"; tmpl.HTTP != slices.Contains(exports, want) {
		t.Errorf("template http=%v but exports %v", tmpl.HTTP, exports)
	}
}

// outcome is what testdata/runner.mjs prints.
type outcome struct {
	Messages []struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"messages"`
	HTTP []struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"http"`
	Published []struct {
		Subject string `json:"subject"`
		Body    string `json:"body"`
	} `json:"published"`
	KV     map[string]map[string]string `json:"kv"`
	Opened []string                     `json:"opened"`
	Logs   []struct {
		Level   string `json:"level"`
		Message string `json:"message"`
	} `json:"logs"`
}

type message struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
	ReplyTo string `json:"replyTo,omitempty"`
}

type request struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   string `json:"body,omitempty"`
}

// run transpiles the component with jco and runs a scenario of its template.
func run(t *testing.T, tc *tinygotest.Toolchain, art, component string, tmpl *templates.Template) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"runner.mjs", "doubles.mjs"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f), string(b))
	}
	// The transpiled code imports @bytecodealliance/preview2-shim for WASI.
	if err := os.Symlink(tc.NodeModules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	args := []string{tc.JCO, "transpile", art, "-o", filepath.Join(dir, "out"), "--name", "component", "--quiet"}
	for iface, export := range map[string]string{
		"wasi:logging/logging": "logging", "wasi:config/runtime": "config", "wasi:config/store": "config", "wasmcloud:messaging/consumer": "consumer",
		"wasmcloud:messaging/types": "types", "wasi:keyvalue/store": "store",
	} {
		args = append(args, "--map", iface+"=../doubles.mjs#"+export)
	}
	node(t, tc, dir, args...)

	const dest = "results.out"
	sc := map[string]any{"config": map[string]string{"dest_topic": dest}}
	switch {
	case tmpl.Kind == templates.KindKV:
		sc["messages"] = []message{{Subject: "in", Body: `{"key": "room1", "data": "warm"}`}, {Subject: "in", Body: "not json"}}
	case tmpl.HTTP:
		sc["messages"] = []message{{Subject: "in", Body: "hello"}}
		sc["http"] = []request{{Method: "POST", Path: "/", Body: "posted"}, {Method: "GET", Path: "/"}}
	default:
		sc["messages"] = []message{{Subject: "in", Body: "hello", ReplyTo: "reply.1"}}
	}
	scPath := filepath.Join(dir, "scenario.json")
	b, _ := json.Marshal(sc)
	writeFile(t, scPath, string(b))
	var out outcome
	raw := node(t, tc, dir, filepath.Join(dir, "runner.mjs"), scPath)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("runner output: %v\n%s", err, raw)
	}
	t.Logf("%s: %s", component, raw)

	published := func(subject, body string) bool {
		for _, p := range out.Published {
			if p.Subject == subject && p.Body == body {
				return true
			}
		}
		return false
	}
	switch {
	case tmpl.Kind == templates.KindKV:
		if len(out.Messages) != 2 || !out.Messages[0].OK {
			t.Fatalf("the key-value message failed: %+v", out.Messages)
		}
		if got := out.KV["default"]["room1.v2"]; got != "WARM" {
			t.Errorf("stored %v, want room1.v2=WARM in the store opened as \"default\"", out.KV)
		}
		if out.Messages[1].OK || !strings.Contains(out.Messages[1].Error, "JSON") {
			t.Errorf("a body that is not JSON: %+v, want an error about JSON", out.Messages[1])
		}
		if len(out.Published) != 0 {
			t.Errorf("a key-value component published %+v", out.Published)
		}
	case tmpl.HTTP:
		if len(out.Messages) != 1 || !out.Messages[0].OK || !published(dest, "HELLO!") {
			t.Errorf("message: %+v, published %+v; want HELLO! on %s", out.Messages, out.Published, dest)
		}
		if len(out.HTTP) != 2 {
			t.Fatalf("HTTP: %+v", out.HTTP)
		}
		if out.HTTP[0].Status != 200 || !published(dest, "POSTED!") {
			t.Errorf("POST: %d %q, published %+v; want 200 and POSTED! on %s", out.HTTP[0].Status, out.HTTP[0].Body, out.Published, dest)
		}
		if out.HTTP[1].Status != 405 {
			t.Errorf("GET: %d %q, want 405", out.HTTP[1].Status, out.HTTP[1].Body)
		}
	default:
		if len(out.Messages) != 1 || !out.Messages[0].OK {
			t.Fatalf("message: %+v", out.Messages)
		}
		if !published(dest, "HELLO!") || !published("reply.1", "HELLO!") {
			t.Errorf("published %+v; want HELLO! on %s and on the reply subject", out.Published, dest)
		}
	}
}

// node runs node with args in dir and returns its standard output.
func node(t *testing.T, tc *tinygotest.Toolchain, dir string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tc.Node, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
