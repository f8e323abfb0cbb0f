package templates_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/go/packages"

	"github.com/pelato-dev/pelato/templates"

	"github.com/pelato-dev/pelato/internal/testenv"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// witDeps holds the WIT packages the generated worlds use, written from the
// upstream definitions (names and types; wit/PROVENANCE.md says where
// each comes from). `wash build` fetches them itself; this copy lets the test run
// with no registry.
const witDeps = "wit/deps"

// TestHarnessTypeChecksAgainstBindings generates each template's project, runs the
// harness's own go:generate line (wit-bindgen-go v0.7.0, the version go.mod pins,
// through `go tool`) on its world with the WIT of wit/deps, and
// type-checks main.go, a task with the template's exec_task signature, the
// generated bindings and go.bytecodealliance.org/cm with go/types for
// GOOS=wasip1 GOARCH=wasm. go/types applies every rule of the language and none of
// the compiler's restrictions on //go:wasmimport and //go:wasmexport signatures
// (which reject cm's types on wasip1: TinyGo accepts them), so a template change
// that breaks against the real binding API fails here.
//
// It needs the go command and the Go module proxy (wit-bindgen-go and its
// dependencies are fetched by exact version). Locally it skips with -short or when
// the modules cannot be fetched; with CI=true it never skips.
func TestHarnessTypeChecksAgainstBindings(t *testing.T) {
	ci := os.Getenv("CI") == "true"
	if testing.Short() && !ci {
		t.Skip("-short: skipping the binding type-check (wit-bindgen-go run and a type-check from source, ~10 s a template)")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("the go command is not on PATH (%v); the harnesses are type-checked with it", err))
	}
	for _, tmpl := range templates.Default().All() {
		for _, platform := range workflow.Platforms() {
			t.Run(tmpl.Name+"/"+platform, func(t *testing.T) {
				t.Parallel()
				dir := generateWithBindings(t, goCmd, tmpl, platform)
				typeCheck(t, dir)
			})
		}
	}
}

// generateWithBindings writes the project of one task of tmpl into a temporary
// folder with the test's WIT dependencies and a task file, runs the generate
// command of the harness and returns the folder.
func generateWithBindings(t *testing.T, goCmd string, tmpl *templates.Template, platform string) string {
	t.Helper()
	d := contractCases()["everything set"]
	d.Platform = platform
	files, err := templates.Render(tmpl, d)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files["task.go"] = []byte("package main\n\n" + tmpl.Signature + " {\n\tpanic(\"type-check only\")\n}\n")
	for name, data := range files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), data)
	}
	deps := templates.WITDepsFor(platform)
	err = fs.WalkDir(deps, "deps", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := fs.ReadFile(deps, p)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(dir, "wit", filepath.FromSlash(p)), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	args := generateArgs(t, files["main.go"])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, args[1:]...)
	cmd.Dir = dir
	// go.mod and go.sum are used as generated: nothing may be added to them.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("%s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
		if unreachableProxy(out) {
			testenv.Missing(t, "wit-bindgen-go v0.7.0 could not be fetched from the Go module proxy: "+msg)
		}
		t.Fatal(msg)
	}
	return dir
}

// generateArgs returns the command of main.go's go:generate line, which must run
// the go command.
func generateArgs(t *testing.T, mainGo []byte) []string {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(mainGo))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "//go:generate "); ok {
			args := strings.Fields(rest)
			if len(args) < 3 || args[0] != "go" || args[1] != "tool" || args[2] != "wit-bindgen-go" {
				t.Fatalf("main.go's go:generate line does not run `go tool wit-bindgen-go`: %q", rest)
			}
			return args
		}
	}
	t.Fatal("main.go has no go:generate line")
	return nil
}

// unreachableProxy reports whether go command output says the module proxy could
// not be reached (no network, GOPROXY=off).
func unreachableProxy(out []byte) bool {
	return regexp.MustCompile(`dial tcp|no such host|connection refused|GOPROXY=off|module lookup disabled|i/o timeout|TLS handshake timeout`).Match(out)
}

// typeCheck loads the module in dir from source, dependencies included, for
// wasip1/wasm and fails on any error.
func typeCheck(t *testing.T, dir string) {
	t.Helper()
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedImports | packages.NeedDeps |
			packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir:   dir,
		Env:   append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOWORK=off", "GOTOOLCHAIN=local"),
		Tests: false,
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]bool{}
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		checked[p.PkgPath] = p.Types != nil && p.Types.Complete()
		for _, e := range p.Errors {
			t.Errorf("%s: %v", p.PkgPath, e)
		}
	})
	// The harness, the bindings it uses and cm were all checked from source.
	for _, p := range []string{"pelato.dev/task", "go.bytecodealliance.org/cm", pkgHandler} {
		if !checked[p] {
			t.Errorf("%s was not type-checked (packages: %d)", p, len(checked))
		}
	}
}

// writeFile writes data to p, creating its folder.
func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWITProvenance keeps wit/PROVENANCE.md in step with the packages it
// describes: every package of wit/deps is listed with its upstream
// repository, tag and path, and carries the header pointing at the note.
func TestWITProvenance(t *testing.T) {
	note, err := os.ReadFile("wit/PROVENANCE.md")
	if err != nil {
		t.Fatal(err)
	}
	type pkgDir struct{ dir, marker string }
	var dirs []pkgDir
	for _, d := range []pkgDir{{witDeps, "Provenance: see ../../PROVENANCE.md"}, {"wit/wasmcloud2/deps", "Provenance: see ../../../PROVENANCE.md"}} {
		entries, err := os.ReadDir(d.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			dirs = append(dirs, pkgDir{filepath.Join(d.dir, e.Name()), d.marker})
		}
	}
	pkgLine := regexp.MustCompile(`(?m)^package ([a-z][a-z0-9-]*:[a-z][a-z0-9-]*@[0-9][0-9A-Za-z.+-]*);$`)
	row := regexp.MustCompile(`(?m)^\| ` + "`" + `([^` + "`" + `]+)` + "`" + ` \| (\S+/\S+) \| (\S+) \| (.+) \|$`)
	rows := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(note), -1) {
		rows[m[1]] = m[2:]
	}
	for _, d := range dirs {
		name := filepath.Base(d.dir)
		src, err := os.ReadFile(filepath.Join(d.dir, "package.wit"))
		if err != nil {
			t.Errorf("%s: %v", d.dir, err)
			continue
		}
		m := pkgLine.FindSubmatch(src)
		if m == nil {
			t.Errorf("%s/package.wit declares no versioned package", d.dir)
			continue
		}
		pkg := string(m[1])
		if want := strings.NewReplacer(":", "-", "@", "-").Replace(pkg); name != want {
			t.Errorf("folder %s holds %s; name it %s", d.dir, pkg, want)
		}
		if !bytes.Contains(src, []byte(d.marker)) {
			t.Errorf("%s/package.wit does not point at PROVENANCE.md (%q)", d.dir, d.marker)
		}
		if r, ok := rows[pkg]; !ok {
			t.Errorf("PROVENANCE.md has no row `| `%s` | owner/repo | tag | path |`", pkg)
		} else if r[1] == "" || r[2] == "" {
			t.Errorf("PROVENANCE.md row of %s lacks a tag or path", pkg)
		}
		delete(rows, pkg)
	}
	for pkg := range rows {
		t.Errorf("PROVENANCE.md lists %s, which wit/deps does not hold", pkg)
	}
}
