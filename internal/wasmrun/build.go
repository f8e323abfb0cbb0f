package wasmrun

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/pelato-dev/pelato/internal/gotoolchain"
	"github.com/pelato-dev/pelato/internal/userfile"
)

// ErrGoNotFound is returned (wrapped) when the Go toolchain cannot be found: it is
// gotoolchain.ErrNotFound, whose text is the install hint every command gives.
var ErrGoNotFound = gotoolchain.ErrNotFound

// buildModulePath is the module path of the generated build module.
const buildModulePath = "pelatotask"

// toolchain identifies the host Go toolchain.
type toolchain struct {
	bin     string // path of the go command
	version string // e.g. go1.26.8
	id      string // extra identity (resolved path, size, mtime, env)
	goroot  string // the toolchain's GOROOT when it was found beside the command, else ""
}

// goToolchain finds and identifies the Go toolchain, memoized per Runtime.
// The version is read from $GOROOT/VERSION so a cache hit does not run `go`;
// only when that file is missing is `go env GOVERSION` run.
func (r *Runtime) goToolchain(ctx context.Context) (toolchain, error) {
	r.tcMu.Lock()
	defer r.tcMu.Unlock()
	if r.tc != nil {
		return *r.tc, nil
	}
	bin := r.opts.GoBinary
	if bin == "" {
		p, err := gotoolchain.LookPath("go")
		if err != nil {
			return toolchain{}, fmt.Errorf("wasmrun: the Go toolchain is needed to run tasks locally: %w", err)
		}
		bin = p
	} else if _, err := os.Stat(bin); err != nil {
		return toolchain{}, fmt.Errorf("wasmrun: Options.GoBinary %s: %w (%w)", bin, err, ErrGoNotFound)
	}
	real, err := filepath.EvalSymlinks(bin)
	if err != nil {
		real = bin
	}
	var id strings.Builder
	id.WriteString(real)
	if st, err := os.Stat(real); err == nil {
		fmt.Fprintf(&id, "|%d|%d", st.Size(), st.ModTime().UnixNano())
	}
	for _, k := range []string{"GOTOOLCHAIN", "GOFLAGS", "GOEXPERIMENT", "GOROOT", "GOENV"} {
		fmt.Fprintf(&id, "|%s=%s", k, os.Getenv(k))
	}
	// Settings written by `go env -w` also influence the build.
	if envFile := goEnvFile(); envFile != "" {
		if b, err := os.ReadFile(envFile); err == nil {
			fmt.Fprintf(&id, "|envfile=%x", sha256.Sum256(b))
		}
	}
	version, goroot := "", ""
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(real)), "VERSION")); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if strings.HasPrefix(line, "go") {
			version = strings.TrimSpace(line)
			goroot = filepath.Dir(filepath.Dir(real))
			if env := os.Getenv("GOROOT"); env != "" {
				goroot = env
			}
		}
	}
	if version == "" {
		out, err := r.runGo(ctx, bin, "", nil, "env", "GOVERSION")
		if err != nil {
			return toolchain{}, fmt.Errorf("wasmrun: asking %s for its version: %w: %s", bin, err, out)
		}
		version = strings.TrimSpace(string(out))
	}
	r.tc = &toolchain{bin: bin, version: version, id: id.String(), goroot: goroot}
	return *r.tc, nil
}

// goEnvFile returns the path of the `go env -w` settings file.
func goEnvFile() string {
	if v, ok := os.LookupEnv("GOENV"); ok {
		if v == "off" {
			return ""
		}
		return v
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "go", "env")
}

// goLangVersion turns a toolchain version like go1.26.8 into "1.26".
func goLangVersion(v string) string {
	if i := strings.Index(v, "go1."); i >= 0 {
		rest := v[i+len("go1."):]
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if minor, err := strconv.Atoi(rest[:n]); err == nil && minor >= 24 {
			return "1." + rest[:n]
		}
	}
	return "1.24"
}

// runGo runs the go command, reporting the invocation to Options.OnGoCommand.
func (r *Runtime) runGo(ctx context.Context, bin, dir string, extraEnv []string, args ...string) ([]byte, error) {
	if r.opts.OnGoCommand != nil {
		r.opts.OnGoCommand(append([]string(nil), args...))
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), extraEnv...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err != nil && ctx.Err() != nil {
		return out.Bytes(), fmt.Errorf("go %s interrupted: %w", strings.Join(args, " "), ctx.Err())
	}
	return out.Bytes(), err
}

// maxModFileSize bounds the project's go.mod and go.sum (read only when regular
// files; see internal/userfile).
const maxModFileSize = 64 << 20

// projectModFiles returns the project's go.mod and go.sum (either may be nil).
func projectModFiles(projectDir string) (gomod, gosum []byte, err error) {
	if projectDir == "" {
		return nil, nil, nil
	}
	gomod, err = userfile.Read(filepath.Join(projectDir, "go.mod"), maxModFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("wasmrun: reading project go.mod: %w", err)
	}
	gosum, err = userfile.Read(filepath.Join(projectDir, "go.sum"), maxModFileSize)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("wasmrun: reading project go.sum: %w", err)
	}
	return gomod, gosum, nil
}

// buildInputs is everything a build depends on.
type buildInputs struct {
	files      []taskFile
	kind       Kind
	harness    string
	projectDir string // absolute, "" when there is no project go.mod
	gomod      []byte
	gosum      []byte
	tc         toolchain
}

// key hashes all build inputs into the cache key.
func (in *buildInputs) key() string {
	h := sha256.New()
	field := func(name string, b []byte) {
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	field("abi", []byte(harnessABI))
	field("harness", []byte(in.harness))
	field("kind", []byte(in.kind))
	field("goversion", []byte(in.tc.version))
	field("toolchain", []byte(in.tc.id))
	field("projectdir", []byte(in.projectDir))
	field("go.mod", in.gomod)
	field("go.sum", in.gosum)
	for _, f := range in.files {
		field("path", []byte(f.userPath))
		field("src", f.original)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// buildResult is a built (or cached) wasm module.
type buildResult struct {
	wasm   []byte
	path   string
	kind   Kind
	cached bool
}

// build returns the wasm module for src, from the cache when possible.
func (r *Runtime) build(ctx context.Context, src Source) (*buildResult, error) {
	if src.Kind != "" && src.Kind != KindString && src.Kind != KindKV {
		return nil, fmt.Errorf("wasmrun: unknown task kind %q (want %q or %q)", src.Kind, KindString, KindKV)
	}
	files, err := loadTaskFiles(src)
	if err != nil {
		return nil, err
	}
	kind, err := checkTask(files, src.Kind)
	if err != nil {
		return nil, err
	}
	harness, err := harnessSource(kind)
	if err != nil {
		return nil, err
	}
	tc, err := r.goToolchain(ctx)
	if err != nil {
		return nil, err
	}
	in := &buildInputs{files: files, kind: kind, harness: harness, tc: tc}
	if src.ProjectDir != "" {
		abs, err := filepath.Abs(src.ProjectDir)
		if err != nil {
			return nil, fmt.Errorf("wasmrun: resolving project dir: %w", err)
		}
		if in.gomod, in.gosum, err = projectModFiles(abs); err != nil {
			return nil, err
		}
		if in.gomod != nil {
			in.projectDir = abs
		}
	}

	cachePath := filepath.Join(r.cacheRoot, "wasm", in.key()+".wasm")
	if b, err := os.ReadFile(cachePath); err == nil && bytes.HasPrefix(b, []byte("\x00asm")) {
		touch(cachePath) // used: trimming removes it last
		return &buildResult{wasm: b, path: cachePath, kind: kind, cached: true}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wasmrun: compiling task: %w", err)
	}
	wasm, err := r.goBuild(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(cachePath, wasm); err != nil {
		return nil, err
	}
	return &buildResult{wasm: wasm, path: cachePath, kind: kind}, nil
}

// goEditJSON is the subset of `go mod edit -json` output that is needed.
type goEditJSON struct {
	Replace []struct {
		Old struct{ Path, Version string }
		New struct{ Path, Version string }
	}
}

// goBuild compiles the task with the host go toolchain in a temporary
// build module and returns the wasm bytes.
func (r *Runtime) goBuild(ctx context.Context, in *buildInputs) ([]byte, error) {
	dir, err := os.MkdirTemp("", "pelato-build-")
	if err != nil {
		return nil, fmt.Errorf("wasmrun: creating build directory: %w", err)
	}
	defer os.RemoveAll(dir)

	for _, f := range in.files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.prepared, 0o644); err != nil {
			return nil, fmt.Errorf("wasmrun: writing build directory: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, harnessFileName), []byte(in.harness), 0o644); err != nil {
		return nil, fmt.Errorf("wasmrun: writing harness: %w", err)
	}

	env := []string{"GOOS=wasip1", "GOARCH=wasm", "GOWORK=off", "CGO_ENABLED=0"}
	fail := func(step string, out []byte, err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("wasmrun: %s: %w", step, ctx.Err())
		}
		if len(out) == 0 {
			return fmt.Errorf("wasmrun: %s: %w", step, err)
		}
		be := mapBuildOutput(string(out), dir, in.files)
		if len(be.Diagnostics) == 0 {
			be.Diagnostics = importDiagnostics(in.files, be.Output)
			if len(be.Diagnostics) > 0 {
				be.Output = newBuildError(be.Diagnostics).Output + be.Output
			}
		}
		return be
	}

	modKey := in.modKey()
	mf, modCached := r.cachedModFiles(modKey)
	if modCached {
		// Written by an earlier build of the same go.mod, go.sum and imports.
		if err := mf.write(dir); err != nil {
			return nil, err
		}
	} else if in.gomod != nil {
		// Use the project's go.mod (requires, replaces, go/toolchain lines)
		// under the build module's own path; relative replacements are made
		// absolute because the build directory lives elsewhere.
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), in.gomod, 0o644); err != nil {
			return nil, fmt.Errorf("wasmrun: writing go.mod: %w", err)
		}
		if in.gosum != nil {
			if err := os.WriteFile(filepath.Join(dir, "go.sum"), in.gosum, 0o644); err != nil {
				return nil, fmt.Errorf("wasmrun: writing go.sum: %w", err)
			}
		}
		out, err := r.runGo(ctx, in.tc.bin, dir, env, "mod", "edit", "-json")
		if err != nil {
			return nil, fail("reading project go.mod", out, err)
		}
		var mod goEditJSON
		if err := json.Unmarshal(out, &mod); err != nil {
			return nil, fmt.Errorf("wasmrun: parsing `go mod edit -json` output: %w", err)
		}
		args := []string{"mod", "edit", "-module=" + buildModulePath}
		for _, rep := range mod.Replace {
			if rep.New.Version != "" || !isLocalPath(rep.New.Path) || filepath.IsAbs(rep.New.Path) {
				continue
			}
			old := rep.Old.Path
			if rep.Old.Version != "" {
				old += "@" + rep.Old.Version
			}
			args = append(args, "-replace="+old+"="+filepath.Join(in.projectDir, rep.New.Path))
		}
		if out, err := r.runGo(ctx, in.tc.bin, dir, env, args...); err != nil {
			return nil, fail("rewriting go.mod", out, err)
		}
	} else {
		gomod := "module " + buildModulePath + "\n\ngo " + goLangVersion(in.tc.version) + "\n"
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
			return nil, fmt.Errorf("wasmrun: writing go.mod: %w", err)
		}
	}

	// The real build runs `go mod tidy`, so third-party imports resolve the
	// same way here. A task that imports only the standard library needs no
	// module (tidy would only drop requirements), which saves the save path a
	// go command.
	if !modCached {
		if !stdOnly(in.tc.goroot, in.files) {
			if out, err := r.runGo(ctx, in.tc.bin, dir, env, "mod", "tidy"); err != nil {
				return nil, fail("go mod tidy", out, err)
			}
		}
		r.storeModFiles(modKey, dir)
	}
	outFile := filepath.Join(dir, "task.wasm")
	if out, err := r.runGo(ctx, in.tc.bin, dir, env, "build", "-buildmode=c-shared", "-o", outFile, "."); err != nil {
		return nil, fail("go build", out, err)
	}
	wasm, err := os.ReadFile(outFile)
	if err != nil {
		return nil, fmt.Errorf("wasmrun: reading built module: %w", err)
	}
	return wasm, nil
}

// modFiles are a build module's go.mod and go.sum (nil when it has none) as `go
// build` gets them.
type modFiles struct {
	gomod, gosum []byte
}

// write puts the files in dir.
func (mf modFiles) write(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), mf.gomod, 0o644); err != nil {
		return fmt.Errorf("wasmrun: writing go.mod: %w", err)
	}
	if mf.gosum != nil {
		if err := os.WriteFile(filepath.Join(dir, "go.sum"), mf.gosum, 0o644); err != nil {
			return fmt.Errorf("wasmrun: writing go.sum: %w", err)
		}
	}
	return nil
}

// modKey identifies what a build module's go.mod and go.sum are made from: the
// project's go.mod, go.sum and folder, the toolchain, and the packages the task
// imports (tidy resolves them). A save that changes a task's code but not its imports
// keeps the key, and the build runs `go build` alone. "" when the imports cannot be
// read (the build then reports the syntax error).
func (in *buildInputs) modKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d:%s\x00%d:%s\x00", in.tc.id, in.tc.version, in.projectDir, len(in.gomod), in.gomod, len(in.gosum), in.gosum)
	fset := token.NewFileSet()
	for _, f := range in.files {
		af, err := parser.ParseFile(fset, f.userPath, f.original, parser.ImportsOnly)
		if err != nil {
			return ""
		}
		for _, imp := range af.Imports {
			fmt.Fprintf(h, "%s\x00", imp.Path.Value)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cachedModFiles returns the module files an earlier build made for key.
func (r *Runtime) cachedModFiles(key string) (modFiles, bool) {
	if key == "" {
		return modFiles{}, false
	}
	r.modMu.Lock()
	defer r.modMu.Unlock()
	mf, ok := r.modFiles[key]
	return mf, ok
}

// storeModFiles remembers the module files in dir for key (for this process: they
// depend on the module cache and the network too).
func (r *Runtime) storeModFiles(key, dir string) {
	if key == "" {
		return
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return
	}
	gosum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
	r.modMu.Lock()
	defer r.modMu.Unlock()
	if r.modFiles == nil {
		r.modFiles = map[string]modFiles{}
	}
	r.modFiles[key] = modFiles{gomod: gomod, gosum: gosum}
}

// stdOnly reports whether the task files import nothing but packages of the standard
// library found under goroot (false when goroot is unknown or a file does not parse).
func stdOnly(goroot string, files []taskFile) bool {
	if goroot == "" {
		return false
	}
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f.userPath, f.original, parser.ImportsOnly)
		if err != nil {
			return false
		}
		for _, imp := range af.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil || path == "C" {
				return false
			}
			if path == "unsafe" {
				continue
			}
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") {
				return false
			}
			if info, err := os.Stat(filepath.Join(goroot, "src", filepath.FromSlash(path))); err != nil || !info.IsDir() {
				return false
			}
		}
	}
	return true
}

// isLocalPath reports whether a replacement target is a directory path.
func isLocalPath(p string) bool {
	return filepath.IsAbs(p) || strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") ||
		strings.HasPrefix(p, `.\`) || strings.HasPrefix(p, `..\`) || p == "." || p == ".."
}

var diagLine = regexp.MustCompile(`^(.+?\.go):(\d+)(?::(\d+))?: (.*)$`)

// mapBuildOutput rewrites go tool output so paths name the user's files,
// and returns it as a *BuildError.
func mapBuildOutput(out, dir string, files []taskFile) *BuildError {
	var mapped []string
	var diags []Diagnostic
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "# "+buildModulePath {
			continue
		}
		for _, f := range files {
			line = strings.ReplaceAll(line, filepath.Join(dir, f.name)+":", f.userPath+":")
			if strings.HasPrefix(line, "./"+f.name+":") || strings.HasPrefix(line, f.name+":") {
				line = f.userPath + line[strings.Index(line, f.name)+len(f.name):]
			}
			// The compiler shortens paths relative to its working directory (the build
			// directory), e.g. ../project/tasks/t.go: give the user's path back.
			if rel, err := filepath.Rel(dir, f.userPath); err == nil && strings.HasPrefix(line, rel+":") {
				line = f.userPath + line[len(rel):]
			}
		}
		line = strings.ReplaceAll(line, dir, "<build dir>")
		mapped = append(mapped, line)
		if m := diagLine.FindStringSubmatch(line); m != nil {
			d := Diagnostic{File: m[1], Message: m[4]}
			d.Line, _ = strconv.Atoi(m[2])
			if m[3] != "" {
				d.Column, _ = strconv.Atoi(m[3])
			}
			diags = append(diags, d)
		}
	}
	return &BuildError{Diagnostics: diags, Output: strings.Join(mapped, "\n") + "\n"}
}

// importDiagnostics positions module resolution errors (which the go
// command reports without a position) at the failing import in the user's
// files.
func importDiagnostics(files []taskFile, out string) []Diagnostic {
	var diags []Diagnostic
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f.userPath, f.original, parser.ImportsOnly)
		if err != nil {
			continue
		}
		for _, imp := range af.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				continue
			}
			i := strings.Index(out, path+": ")
			if i < 0 {
				continue
			}
			msg, _, _ := strings.Cut(out[i+len(path)+2:], "\n")
			p := fset.Position(imp.Path.Pos())
			diags = append(diags, Diagnostic{File: p.Filename, Line: p.Line, Column: p.Column,
				Message: fmt.Sprintf("cannot resolve import %q: %s", path, strings.TrimSpace(msg))})
		}
	}
	return diags
}

// writeFileAtomic writes data to path via a temporary file and rename, so
// readers never see a partial file.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("wasmrun: creating cache directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("wasmrun: writing cache: %w", err)
	}
	_, werr := io.Copy(tmp, bytes.NewReader(data))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("wasmrun: writing cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("wasmrun: writing cache: %w", err)
	}
	return nil
}
