// Package editors_test drives real editors headless against the real
// pelato-lsp: Neovim with its built-in LSP client (editors/nvim/pelato.lua),
// Emacs with Eglot (editors/emacs/pelato.el) and Vim with ALE
// (editors/vim/pelato.vim). Each editor opens a copy of examples/temperature
// with one error in workflow.yaml and one in tasks/convert.go, runs a script
// from testdata/ that waits for what the server publishes, and writes the
// result as JSON; the test compares it with the golden files in testdata/
// (go test ./editors -update rewrites them).
//
// A missing editor skips its test, except when CI=true: there it fails and
// points to .ci/install-editors.sh.
package editors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// editorTimeout bounds one editor run; waitTimeout bounds each wait inside it.
const (
	editorTimeout = 60 * time.Second
	waitTimeout   = 20 * time.Second
)

// The errors introduced into the copy of examples/temperature.
const (
	// workflow.yaml: an unknown template type, with a did-you-mean fix.
	wfOld, wfNew = "    type: processor_nats\n", "    type: procesor_nats\n"
	// tasks/convert.go: not package main, after a comment holding an emoji
	// (two UTF-16 code units, four bytes) so that columns must be converted.
	goOld, goNew = "\npackage main\n", "\n/* 🌡 */ package convert\n"
)

const installHint = "run `bash .ci/install-editors.sh` (Debian: apt-get install neovim emacs-nox elpa-eglot vim vim-ale)"

var (
	tmpRoot string // removed after the tests

	buildOnce  sync.Once
	serverPath string
	buildErr   error
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "pelato-editors-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	tmpRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the module root (the parent of this package's folder).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found: %v", err)
	}
	return root
}

// server builds ./cmd/pelato-lsp once for all tests and returns its path.
// PELATO_LSP_BIN, when set, names a server binary to use instead.
func server(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	buildOnce.Do(func() {
		if bin := os.Getenv("PELATO_LSP_BIN"); bin != "" {
			serverPath, buildErr = filepath.Abs(bin)
			return
		}
		start := time.Now()
		serverPath = filepath.Join(tmpRoot, "bin", "pelato-lsp")
		cmd := exec.Command("go", "build", "-o", serverPath, "./cmd/pelato-lsp")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/pelato-lsp: %v\n%s", err, out)
			return
		}
		t.Logf("built pelato-lsp in %v", time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return serverPath
}

// brokenProject copies examples/temperature into a fresh folder and
// introduces the two errors; it returns the project folder.
func brokenProject(t *testing.T) string {
	t.Helper()
	dst := exampleProject(t)
	replaceOnce(t, filepath.Join(dst, "workflow.yaml"), wfOld, wfNew)
	replaceOnce(t, filepath.Join(dst, "tasks", "convert.go"), goOld, goNew)
	return dst
}

// exampleProject copies examples/temperature (without gen/) into a fresh
// folder and returns the project folder.
func exampleProject(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "examples", "temperature")
	// Resolve symlinks (e.g. /tmp) so paths match what editors report.
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(base, "temperature")
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if rel == "gen" {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// replaceOnce replaces old by new in file, which must hold old exactly once.
func replaceOnce(t *testing.T, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), old); n != 1 {
		t.Fatalf("%s: want %q once, found it %d times (example changed?)", file, old, n)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// requireTool returns the path of program, or skips the test when it is
// missing (fails under CI=true).
func requireTool(t *testing.T, program, what string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		missing(t, fmt.Sprintf("%s (%s) not found on PATH", program, what))
	}
	return path
}

// missing skips the test with why (said on the terminal too), or fails it under
// CI=true.
func missing(t *testing.T, why string) {
	t.Helper()
	testenv.Missing(t, why+": "+installHint)
}

var (
	goEnvOnce sync.Once
	goEnvVars []string
	goEnvErr  error
)

// goEnv returns GOCACHE, GOMODCACHE and GOPATH as the go command sees them, so
// that the server keeps using the user's caches when HOME is moved (a cold
// build cache makes its first type check of a task take seconds).
func goEnv(t *testing.T) []string {
	t.Helper()
	goEnvOnce.Do(func() {
		names := []string{"GOCACHE", "GOMODCACHE", "GOPATH"}
		out, err := exec.Command("go", append([]string{"env"}, names...)...).Output()
		if err != nil {
			goEnvErr = fmt.Errorf("go env: %v", err)
			return
		}
		for i, v := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if i < len(names) && v != "" {
				goEnvVars = append(goEnvVars, names[i]+"="+v)
			}
		}
	})
	if goEnvErr != nil {
		t.Fatal(goEnvErr)
	}
	return goEnvVars
}

// run runs an editor with the test environment and returns the JSON object
// its script wrote to $PELATO_OUT, decoded into result.
func run(t *testing.T, project string, result any, name string, args ...string) {
	t.Helper()
	root := repoRoot(t)
	home := t.TempDir() // no user configuration, no state left behind
	out := filepath.Join(t.TempDir(), "result.json")

	ctx, cancel := context.WithTimeout(context.Background(), editorTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), goEnv(t)...)
	cmd.Env = append(cmd.Env,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"XDG_STATE_HOME="+filepath.Join(home, ".local", "state"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"PELATO_REPO="+root,
		"PELATO_LSP="+server(t),
		"PELATO_PROJECT="+project,
		"PELATO_OUT="+out,
		fmt.Sprintf("PELATO_TIMEOUT_MS=%d", waitTimeout.Milliseconds()),
	)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s ran %v", name, time.Since(start).Round(time.Millisecond))

	data, readErr := os.ReadFile(out)
	if readErr != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("%s did not finish within %v\noutput:\n%s", name, editorTimeout, output.String())
		}
		t.Fatalf("%s wrote no result (%v, exit: %v)\noutput:\n%s", name, readErr, err, output.String())
	}
	var failure struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &failure) == nil && failure.Error != "" {
		t.Fatalf("%s test script failed: %s\nresult: %s\noutput:\n%s", name, failure.Error, data, output.String())
	}
	if err != nil {
		t.Fatalf("%s: %v\noutput:\n%s", name, err, output.String())
	}
	if err := json.Unmarshal(data, result); err != nil {
		t.Fatalf("%s result %s: %v", name, data, err)
	}
}

// golden compares got, as indented JSON, with testdata/name, or rewrites the
// file under -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", file)
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./editors -update to create it)", err)
	}
	if !bytes.Equal(want, data) {
		t.Errorf("%s differs from what the editor saw (go test ./editors -update rewrites it)\n--- want\n%s--- got\n%s", file, want, data)
	}
}

// diag is one diagnostic in the form compared across editors: a file relative
// to the project, a code and a 1-based line.
type diag struct {
	File string `json:"file"`
	Code string `json:"code"`
	Line int    `json:"line"`
}

// requireDiag fails unless ds holds code on file at 1-based line.
func requireDiag(t *testing.T, editor string, ds []diag, file, code string, line int) {
	t.Helper()
	for _, d := range ds {
		if d.File == file && d.Code == code && d.Line == line {
			return
		}
	}
	t.Errorf("%s: no %s on %s:%d; got %+v", editor, code, file, line, ds)
}

// lineOf returns the 1-based line of the first line of file containing s.
func lineOf(t *testing.T, file, s string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%s: no line contains %q", file, s)
	return 0
}

// expected returns the 1-based lines of the two introduced errors.
func expected(t *testing.T, project string) (wfLine, goLine int) {
	return lineOf(t, filepath.Join(project, "workflow.yaml"), strings.TrimSpace(wfNew)),
		lineOf(t, filepath.Join(project, "tasks", "convert.go"), strings.TrimSpace(goNew))
}

// nvimResult is what testdata/nvim-test.lua writes.
type nvimResult struct {
	Diagnostics []struct {
		File     string `json:"file"`
		Code     string `json:"code"`
		Source   string `json:"source"`
		Severity int    `json:"severity"`
		Line     int    `json:"line"` // 0-based, as vim.diagnostic holds them
		Col      int    `json:"col"`  // 0-based byte column
		EndLine  int    `json:"end_line"`
		EndCol   int    `json:"end_col"`
		Message  string `json:"message"`
	} `json:"diagnostics"`
	// Raw holds the ranges as the server sent them (UTF-16 code units).
	Raw []struct {
		File  string `json:"file"`
		Code  string `json:"code"`
		Start [2]int `json:"start"`
		End   [2]int `json:"end"`
	} `json:"raw"`
	BrokenLine  string   `json:"broken_line"`
	Completion  []string `json:"completion"`
	CodeActions []struct {
		Title     string `json:"title"`
		Kind      string `json:"kind"`
		Preferred bool   `json:"preferred"`
	} `json:"code_actions"`
	FixedLine    string `json:"fixed_line"`
	PL201Cleared bool   `json:"pl201_cleared"`
	// ServerExited: the server exited after shutdown and exit.
	ServerExited bool `json:"server_exited"`
	// Omnifunc is workflow.yaml's 'omnifunc' after pelato.lua attached.
	Omnifunc string `json:"omnifunc"`
	// Lenses are the titles of workflow.yaml's code lenses, sorted (not compared
	// with the golden file).
	Lenses []string `json:"lenses,omitempty"`
	// StderrLines counts the server's stderr lines in Neovim's LSP log.
	StderrLines int `json:"stderr_lines"`
	// Timings holds milliseconds from the start to the end of each step; logged,
	// never compared.
	Timings map[string]int `json:"timings,omitempty"`
}

// TestNeovim runs Neovim (0.7+) with editors/nvim/pelato.lua: diagnostics on
// open for workflow.yaml and a task file (positions converted from UTF-16),
// completion after `type: `, the PL201 quick fix applied to the buffer, and
// the diagnostic gone after the edit reaches the server.
func TestNeovim(t *testing.T) {
	t.Parallel()
	nvim := requireTool(t, "nvim", "Neovim")
	project := brokenProject(t)
	var got nvimResult
	run(t, project, &got, nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n",
		"-c", "luafile editors/testdata/nvim-test.lua")

	wfLine, goLine := expected(t, project)
	var ds []diag
	for _, d := range got.Diagnostics {
		ds = append(ds, diag{d.File, d.Code, d.Line + 1})
		if d.Source != "pelato" {
			t.Errorf("diagnostic %s: source %q, want \"pelato\"", d.Code, d.Source)
		}
	}
	requireDiag(t, "nvim", ds, "workflow.yaml", "PL201", wfLine)
	requireDiag(t, "nvim", ds, "tasks/convert.go", "PL403", goLine)
	if !contains(got.Completion, "processor_nats") {
		t.Errorf("completion after `type: ` lacks processor_nats: %q", got.Completion)
	}
	if len(got.CodeActions) == 0 {
		t.Errorf("no code action for PL201")
	}
	if want := strings.TrimSuffix(wfOld, "\n"); got.FixedLine != want {
		t.Errorf("line after the first quick fix = %q, want %q", got.FixedLine, want)
	}
	if !got.PL201Cleared {
		t.Errorf("PL201 still published after the quick fix was applied")
	}
	if !got.ServerExited {
		t.Errorf("pelato-lsp did not exit within 5 s of shutdown and exit")
	}
	if got.Omnifunc != "v:lua.vim.lsp.omnifunc" {
		t.Errorf("omnifunc after attach = %q, want v:lua.vim.lsp.omnifunc", got.Omnifunc)
	}
	if !contains(got.Lenses, "Generate all") || !contains(got.Lenses, "Check") {
		t.Errorf("code lenses %q lack Generate all and Check", got.Lenses)
	}
	if got.StderrLines != 0 {
		t.Errorf("Neovim's LSP log holds %d lines the server wrote to stderr (logged there as errors)", got.StderrLines)
	}
	t.Logf("nvim steps done at (ms): %v", got.Timings)
	got.Timings = nil
	got.Lenses = nil // checked above; other branches add lenses
	golden(t, "nvim.golden.json", got)
}

// emacsResult is what testdata/emacs-test.el writes.
type emacsResult struct {
	Root        string   `json:"root"`  // the project root Eglot used, relative to the project
	Modes       []string `json:"modes"` // major modes of workflow.yaml and the task file
	Diagnostics []struct {
		File string `json:"file"`
		Code string `json:"code"` // parsed from "pelato [CODE]: message"
		Line int    `json:"line"`
		Col  int    `json:"col"` // 0-based, in characters
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"diagnostics"`
}

// TestEmacs runs Emacs with Eglot and editors/emacs/pelato.el: the pelato
// modes are chosen for both files, one server manages them with the project
// folder as root, and Flymake shows the server's diagnostics.
func TestEmacs(t *testing.T) {
	t.Parallel()
	emacs := requireTool(t, "emacs", "Emacs 28+")
	if out, err := exec.Command(emacs, "--batch", "-q", "--eval", "(require 'eglot)").CombinedOutput(); err != nil {
		missing(t, fmt.Sprintf("Emacs cannot load eglot (%v: %s)", err, strings.TrimSpace(string(out))))
	}
	project := brokenProject(t)
	var got emacsResult
	run(t, project, &got, emacs, "--batch", "-q",
		"-l", "editors/emacs/pelato.el", "-l", "editors/testdata/emacs-test.el")

	if got.Root != "./" {
		t.Errorf("Eglot project root = %q relative to the project, want \"./\"", got.Root)
	}
	wfLine, goLine := expected(t, project)
	type normal struct {
		diag
		Type string `json:"type"`
	}
	var ds []diag
	var norm []normal
	for _, d := range got.Diagnostics {
		if !strings.HasPrefix(d.Text, "pelato") {
			t.Errorf("Flymake text %q does not name the source pelato", d.Text)
		}
		ds = append(ds, diag{d.File, d.Code, d.Line})
		norm = append(norm, normal{diag{d.File, d.Code, d.Line}, d.Type})
	}
	requireDiag(t, "emacs", ds, "workflow.yaml", "PL201", wfLine)
	requireDiag(t, "emacs", ds, "tasks/convert.go", "PL403", goLine)
	golden(t, "emacs.golden.json", map[string]any{"modes": got.Modes, "diagnostics": norm})
}

// vimResult is what testdata/vim-test.vim writes.
type vimResult struct {
	Filetypes   []string `json:"filetypes"`
	Diagnostics []struct {
		File   string `json:"file"`
		Linter string `json:"linter"`
		Code   string `json:"code"`
		Line   int    `json:"line"`
		Col    int    `json:"col"`
		Type   string `json:"type"`
		Text   string `json:"text"`
	} `json:"diagnostics"`
}

// TestVim runs Vim with ALE and editors/vim/pelato.vim: the 'pelato' LSP
// linter runs for workflow.yaml (filetype yaml) and the task file (go), and
// ALE's problem list holds the server's diagnostics.
func TestVim(t *testing.T) {
	t.Parallel()
	vim := requireTool(t, "vim", "Vim 9")
	root := repoRoot(t)
	probe := exec.Command(vim, "-N", "-u", "editors/testdata/vimrc", "-i", "NONE", "-n", "-es",
		"-c", "if exists('g:loaded_ale') && exists('g:loaded_pelato_ale') | qall! | else | cquit 1 | endif")
	probe.Dir = root
	probe.Env = append(os.Environ(), "PELATO_REPO="+root)
	if out, err := probe.CombinedOutput(); err != nil {
		missing(t, fmt.Sprintf("Vim cannot load ALE and editors/vim/pelato.vim (%v: %s)", err, strings.TrimSpace(string(out))))
	}
	project := brokenProject(t)
	var got vimResult
	run(t, project, &got, vim, "-N", "-u", "editors/testdata/vimrc", "-i", "NONE", "-n", "-es",
		"-S", "editors/testdata/vim-test.vim")

	wfLine, goLine := expected(t, project)
	type normal struct {
		diag
		Type string `json:"type"`
	}
	var ds []diag
	var norm []normal
	for _, d := range got.Diagnostics {
		if d.Linter != "pelato" {
			t.Errorf("problem %q from linter %q, want pelato", d.Text, d.Linter)
		}
		ds = append(ds, diag{d.File, d.Code, d.Line})
		norm = append(norm, normal{diag{d.File, d.Code, d.Line}, d.Type})
	}
	requireDiag(t, "vim", ds, "workflow.yaml", "PL201", wfLine)
	requireDiag(t, "vim", ds, "tasks/convert.go", "PL403", goLine)
	golden(t, "vim.golden.json", map[string]any{"filetypes": got.Filetypes, "diagnostics": norm})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
