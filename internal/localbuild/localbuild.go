// Package localbuild builds a generated project (gen/<component_name>/) into a
// wasm32-wasip2 component with the toolchain installed on this machine — TinyGo,
// wasm-tools and Go found on PATH — instead of a container of the builder image,
// like the host builder of knative func. It runs the steps `wash build` runs in
// the builder image (templates/builder/Dockerfile) for a TinyGo component: the WIT
// dependencies into wit/deps, `go generate` (the harness's wit-bindgen-go line),
// then `tinygo build` for the world and scheduler of wasmcloud.toml; see Steps.
//
// It knows nothing of workflows: internal/pipeline decides what to build and
// checks the artifact.
package localbuild

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// ProjectFile is the generated build settings file every step reads.
const ProjectFile = "wasmcloud.toml"

// Toolchain is the set of tools a local build runs, found on PATH.
type Toolchain struct {
	// Go, TinyGo and WasmTools are the absolute paths of the commands.
	Go, TinyGo, WasmTools string
	// Version is the first line of `tinygo version`; WasmToolsVersion the first
	// line of `wasm-tools --version`.
	Version, WasmToolsVersion string
}

// Install says what to install for a local build; MissingError repeats it.
const Install = "install TinyGo 0.42 or later (https://tinygo.org/getting-started/install/, or `bash .ci/tinygo.sh` in pelato's repository, which puts tinygo and wasm-tools in ~/.cache/pelato-toolchain/tinygo-0.42.0/bin) and wasm-tools (https://github.com/bytecodealliance/wasm-tools/releases) and put them on PATH, or build in Docker (--builder docker)"

// MissingError reports the tools a local build needs that are not on PATH.
type MissingError struct {
	// Missing names the commands not found: "tinygo", "wasm-tools", "go".
	Missing []string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("the local builder needs %s on PATH: %s", strings.Join(e.Missing, " and "), Install)
}

// Find looks up the toolchain on PATH and asks tinygo and wasm-tools their
// versions. Its error is a *MissingError when a command is not found.
func Find(ctx context.Context) (*Toolchain, error) {
	var (
		t       Toolchain
		missing []string
	)
	for _, c := range []struct {
		name string
		dst  *string
	}{{"tinygo", &t.TinyGo}, {"wasm-tools", &t.WasmTools}, {"go", &t.Go}} {
		p, err := exec.LookPath(c.name)
		if err != nil {
			missing = append(missing, c.name)
			continue
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		*c.dst = p
	}
	if len(missing) > 0 {
		return nil, &MissingError{Missing: missing}
	}
	var err error
	if t.Version, err = firstLine(ctx, t.TinyGo, "version"); err != nil {
		return nil, fmt.Errorf("local builder: %s version: %w", t.TinyGo, err)
	}
	if t.WasmToolsVersion, err = firstLine(ctx, t.WasmTools, "--version"); err != nil {
		return nil, fmt.Errorf("local builder: %s --version: %w", t.WasmTools, err)
	}
	return &t, nil
}

func firstLine(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", err
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(line), nil
}

// Ref names the toolchain for people: "local tinygo version 0.42.0 ...".
func (t *Toolchain) Ref() string { return "local " + t.Version }

// ID identifies the toolchain in build records: a build made with another
// TinyGo, wasm-tools or Go is not reused.
func (t *Toolchain) ID() string {
	h := sha256.New()
	for _, s := range []string{t.TinyGo, t.Version, t.WasmTools, t.WasmToolsVersion, t.Go} {
		io.WriteString(h, s)
		h.Write([]byte{0})
	}
	return "local:" + hex.EncodeToString(h.Sum(nil))[:24]
}

// Project is what a build reads from a generated folder's wasmcloud.toml.
type Project struct {
	// Name is the component's name: the artifact is build/<Name>_s.wasm.
	Name string
	// World is the WIT world the component implements ([component] wit_world).
	World string
	// Target is the wasm target ([component] wasm_target), e.g. wasm32-wasip2.
	Target string
	// Scheduler is TinyGo's scheduler ([tinygo] scheduler); "" leaves TinyGo's default.
	Scheduler string
}

// ReadProject reads dir/wasmcloud.toml, the file pelato generates: the keys a
// build needs, each a quoted string on its own line.
func ReadProject(dir string) (Project, error) {
	path := filepath.Join(dir, ProjectFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return Project{}, fmt.Errorf("read the build settings: %w", err)
	}
	var p Project
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[] ")
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		var dst *string
		switch section + "." + key {
		case ".name":
			dst = &p.Name
		case "component.wit_world":
			dst = &p.World
		case "component.wasm_target":
			dst = &p.Target
		case "tinygo.scheduler":
			dst = &p.Scheduler
		default:
			continue
		}
		s, err := strconv.Unquote(val)
		if err != nil {
			return p, fmt.Errorf("%s:%d: %s is not a quoted string: regenerate the project (pelato gen)", path, n, key)
		}
		*dst = s
	}
	switch {
	case p.Name == "":
		return p, fmt.Errorf("%s: no name: regenerate the project (pelato gen)", path)
	case p.World == "":
		return p, fmt.Errorf("%s: no [component] wit_world: regenerate the project (pelato gen)", path)
	case p.Target != "" && p.Target != "wasm32-wasip2":
		return p, fmt.Errorf("%s: wasm_target %q: the local builder builds wasm32-wasip2 components only", path, p.Target)
	}
	return p, nil
}

// Step is one command of a build, run in the project's folder.
type Step struct {
	// Name says what the step does, for logs.
	Name string
	// Args is the command line; Args[0] is "go" or "tinygo", resolved through
	// the Toolchain.
	Args []string
}

// Output is the unsigned component a build writes, relative to the project folder.
func (p Project) Output() string { return "build/" + p.Name + ".wasm" }

// Artifact is the component pelato deploys, relative to the project folder: the
// name `wash build` gives its signed output. The local builder does not sign
// (wasmCloud 1.x does not require it), so it holds the same bytes as Output.
func (p Project) Artifact() string { return "build/" + p.Name + "_s.wasm" }

// Steps returns the commands that build p: the harness's go:generate line
// (wit-bindgen-go through `go tool`, writing the bindings to gen/), then TinyGo for
// the wasip2 target, the world of p and its scheduler, which embeds the WIT of
// ./wit and makes the component with wasm-tools. These are the commands `wash
// build` runs for a TinyGo component in the builder image.
func Steps(p Project) []Step {
	build := []string{"tinygo", "build", "-target", "wasip2"}
	if p.Scheduler != "" {
		build = append(build, "-scheduler", p.Scheduler)
	}
	build = append(build, "--wit-package", "./wit", "--wit-world", p.World, "-o", p.Output(), ".")
	return []Step{
		{Name: "generate the WIT bindings", Args: []string{"go", "generate", "./..."}},
		{Name: "compile the component", Args: build},
	}
}

// Build builds the project in dir: it writes the WIT dependencies pelato keeps
// (templates.WITDeps) to wit/deps where the project has none, runs Steps with
// their output written to out, then copies the component to p.Artifact(). The
// commands inherit the environment, so TinyGo and Go use the caller's caches.
func (t *Toolchain) Build(ctx context.Context, dir string, out io.Writer) (Project, error) {
	p, err := ReadProject(dir)
	if err != nil {
		return p, err
	}
	if err := writeWITDeps(filepath.Join(dir, "wit", "deps"), witDepsOfWorld(filepath.Join(dir, "wit"))); err != nil {
		return p, fmt.Errorf("write the WIT dependencies: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "build"), 0o755); err != nil {
		return p, err
	}
	for _, s := range Steps(p) {
		args := append([]string(nil), s.Args...)
		switch args[0] {
		case "go":
			args[0] = t.Go
		case "tinygo":
			args[0] = t.TinyGo
		}
		fmt.Fprintf(out, "# %s: %s\n", s.Name, strings.Join(s.Args, " "))
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = out, out
		// TinyGo runs WASMTOOLS (default: wasm-tools on PATH); name the one found.
		cmd.Env = append(os.Environ(), "WASMTOOLS="+t.WasmTools)
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return p, ctx.Err()
			}
			return p, &StepError{Step: s, Err: err}
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p.Output())))
	if err != nil {
		return p, fmt.Errorf("tinygo exited 0 but wrote no %s: %w", p.Output(), err)
	}
	art := filepath.Join(dir, filepath.FromSlash(p.Artifact()))
	if err := os.WriteFile(art+".tmp", b, 0o644); err != nil {
		return p, err
	}
	return p, os.Rename(art+".tmp", art)
}

// StepError is a build step that failed.
type StepError struct {
	Step Step
	Err  error
}

func (e *StepError) Error() string {
	var ee *exec.ExitError
	if errors.As(e.Err, &ee) {
		return fmt.Sprintf("%s (%s) exited with status %d", e.Step.Name, e.Step.Args[0], ee.ExitCode())
	}
	return fmt.Sprintf("%s (%s): %v", e.Step.Name, e.Step.Args[0], e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// witUse matches a WIT world's use of another package: `import ns:pkg/iface@version;`,
// `export ...` or `include ns:pkg/world@version;`.
var witUse = regexp.MustCompile(`(?m)^\s*(?:import|export|include)\s+([a-z][a-z0-9-]*):([a-z][a-z0-9-]*)/[a-z][a-z0-9-]*@([0-9][0-9A-Za-z.+-]*)\s*;`)

// witDepsOfWorld returns the set of pelato's WIT packages (templates.WITDepsFor of
// a platform) that holds every package the worlds under witDir name: the set of the
// platform the project was generated for. wit-bindgen-go refuses a deps folder
// holding a package nothing uses, so only one platform's set may be written.
// Without a match (a world pelato did not write) it is the default set.
func witDepsOfWorld(witDir string) fs.FS {
	var used []string
	if entries, err := os.ReadDir(witDir); err == nil {
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".wit") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(witDir, e.Name()))
			if err != nil {
				continue
			}
			for _, m := range witUse.FindAllStringSubmatch(string(b), -1) {
				used = append(used, m[1]+"-"+m[2]+"-"+m[3])
			}
		}
	}
	for _, p := range workflow.Platforms() {
		deps := templates.WITDepsFor(p)
		fits := true
		for _, u := range used {
			if _, err := fs.Stat(deps, "deps/"+u+"/package.wit"); err != nil {
				fits = false
				break
			}
		}
		if fits {
			return deps
		}
	}
	return templates.WITDeps()
}

// writeWITDeps writes the WIT packages of deps (laid out as templates.WITDeps) into
// dst, leaving a package folder that is already there as it is (a project may bring
// its own).
func writeWITDeps(dst string, deps fs.FS) error {
	src, err := fs.Sub(deps, "deps")
	if err != nil {
		return err
	}
	entries, err := fs.ReadDir(src, ".")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dst, e.Name())); err == nil {
			continue
		}
		sub, err := fs.Sub(src, e.Name())
		if err != nil {
			return err
		}
		if err := os.CopyFS(filepath.Join(dst, e.Name()), sub); err != nil {
			return err
		}
	}
	return nil
}
