package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/gotoolchain"
	"github.com/pelato-dev/pelato/internal/testenv"
	"github.com/spf13/cobra"
)

// TestProblemsCountedOnce: a Go error is reported in the task file and summed up by
// PL410 on the task's code: value, but counted once, with a correct plural.
func TestProblemsCountedOnce(t *testing.T) {
	dir := copyDir(t, "../../testdata/projects/task_type_error")
	code, out, _ := pelato(t, "check", dir)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "PL402") || !strings.Contains(out, "PL410") {
		t.Fatalf("both the Go error and its summary are shown:\n%s", out)
	}
	if strings.Contains(out, "error PL410") || strings.Count(out, ": error ") != 1 {
		t.Errorf("one Go error is one error entry; PL410 only points at it:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := lines[len(lines)-1]; got != "1 error, 2 hints" {
		t.Errorf("summary %q, want %q", got, "1 error, 2 hints")
	}
	code, out, _ = pelato(t, "check", "--format", "json", dir)
	var doc struct {
		Summary     map[string]int `json:"summary"`
		Diagnostics []struct {
			Code    string `json:"code"`
			Derived bool   `json:"derived"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 1 {
		t.Fatalf("exit %d, %v\n%s", code, err, out)
	}
	if doc.Summary["error"] != 1 {
		t.Errorf("JSON summary counts %d errors, want 1", doc.Summary["error"])
	}
	for _, d := range doc.Diagnostics {
		if d.Derived != (d.Code == "PL410") {
			t.Errorf("%s: derived = %v", d.Code, d.Derived)
		}
	}
	code, _, errOut := pelato(t, "gen", dir)
	if code != 1 || !strings.Contains(errOut, "the project has 1 error;") {
		t.Errorf("gen: exit %d, %q", code, errOut)
	}
}

// commands returns every runnable command of the CLI (not help topics, not cobra's
// own help and completion machinery), by path such as "check" or "cache clean".
func commands(t *testing.T) map[string]*cobra.Command {
	t.Helper()
	out := map[string]*cobra.Command{}
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			name := sub.Name()
			if name == "help" || name == "completion" || strings.HasPrefix(name, "__") || sub.Hidden {
				continue
			}
			p := append(append([]string(nil), path...), name)
			if sub.Runnable() {
				out[strings.Join(p, " ")] = sub
			}
			walk(sub, p)
		}
	}
	walk(newCLI(strings.NewReader(""), io.Discard, io.Discard), nil)
	if len(out) < 8 {
		t.Fatalf("only %d commands found: %v", len(out), out)
	}
	return out
}

// requiredArgs returns values for the required arguments of c after its optional
// [dir]: TASK is the first task of the project in dir, anything else "x".
func requiredArgs(c *cobra.Command, dir string) []string {
	var out []string
	for _, a := range useArgs(c) {
		switch {
		case a == "TASK":
			task := "x"
			if tasks := taskCompletions(dir, nil); len(tasks) > 0 {
				task, _, _ = strings.Cut(tasks[0], "\t")
			}
			out = append(out, task)
		case !strings.HasPrefix(a, "[") && !strings.HasSuffix(a, "..."):
			out = append(out, "x")
		}
	}
	return out
}

// TestExitCodesEveryCommand holds every command to the exit-code table: a bad flag
// and too many arguments are usage errors (2) with a one-line message and no stack;
// --help succeeds on stdout; a command on a project run where there is none exits 2;
// a command that checks the project exits 1 when the project has errors.
func TestExitCodesEveryCommand(t *testing.T) {
	empty := t.TempDir()
	broken := copyDir(t, "../../testdata/projects/value_version_latest")
	checking := 0
	for path, c := range commands(t) {
		args := strings.Fields(path)
		t.Run(strings.ReplaceAll(path, " ", "_"), func(t *testing.T) {
			code, out, errOut := pelato(t, append(args, "--no-such-flag")...)
			if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "pelato: unknown flag: --no-such-flag") || strings.Contains(errOut, "goroutine") {
				t.Errorf("bad flag: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			code, out, errOut = pelato(t, append(args, "--help")...)
			if code != exitOK || !strings.Contains(out, "Usage:") || errOut != "" {
				t.Errorf("--help: exit %d, stderr %q", code, errOut)
			}
			if n := len(useArgs(c)); n > 0 && !strings.Contains(c.Use, "...") {
				extra := append(append([]string(nil), args...), strings.Fields(strings.Repeat("extra ", n+1))...)
				if code, _, errOut := pelato(t, extra...); code != exitUsage || !strings.HasPrefix(errOut, "pelato: ") {
					t.Errorf("%d arguments: exit %d, stderr %q", n+1, code, errOut)
				}
			}
			if !hasDirArg(c) || c.Name() == "init" {
				return
			}
			code, _, errOut = pelato(t, append(append(append([]string(nil), args...), empty), requiredArgs(c, empty)...)...)
			if code != exitUsage || !strings.Contains(errOut, "no workflow.yaml in "+empty) {
				t.Errorf("outside a project: exit %d, stderr %q", code, errOut)
			}
			if c.Annotations["pelato:checks-project"] == "true" {
				checking++
				code, out, errOut = pelato(t, append(append(append([]string(nil), args...), broken), requiredArgs(c, broken)...)...)
				if code != exitProblems || !strings.Contains(out+errOut, "PL206") {
					t.Errorf("project with errors: exit %d, stderr %q", code, errOut)
				}
			}
		})
	}
	if checking < 3 {
		t.Errorf("only %d commands are annotated as checking the project (check, gen and invoke are)", checking)
	}
}

// TestExitCodesDocumented: README.md's table and `pelato help exit-codes` say what
// exitCodes says.
func TestExitCodesDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	i := strings.Index(section, "\n## Exit codes")
	if i < 0 {
		t.Fatal("README.md has no \"## Exit codes\" section")
	}
	section = section[i+1:]
	if j := strings.Index(section[3:], "\n## "); j >= 0 {
		section = section[:j+3]
	}
	for _, c := range exitCodes {
		row := fmt.Sprintf("| %d | %s |", c.Code, c.Meaning)
		if !strings.Contains(section, row) {
			t.Errorf("README.md's exit-code table lacks the row\n%s", row)
		}
	}
	if n := strings.Count(section, "\n| "); n != len(exitCodes)+1 {
		t.Errorf("README.md's exit-code table has %d rows (with its header); the code has %d codes", n, len(exitCodes))
	}
	code, out, _ := pelato(t, "help", "exit-codes")
	for _, c := range exitCodes {
		if !strings.Contains(out, fmt.Sprintf("%d  %s", c.Code, c.Meaning)) {
			t.Errorf("pelato help exit-codes lacks code %d:\n%s", c.Code, out)
		}
	}
	if code != 0 {
		t.Errorf("pelato help exit-codes: exit %d", code)
	}
}

// TestHelpDescribesOnlyWhatExists: no help text mentions a command that does not
// exist, or promises a pipeline step (build, push, deploy) no command performs; and
// the README's command table lists exactly the commands there are.
func TestHelpDescribesOnlyWhatExists(t *testing.T) {
	cmds := commands(t)
	exists := func(name string) bool {
		for path := range cmds {
			if strings.Fields(path)[0] == name {
				return true
			}
		}
		return name == "help" || name == "completion"
	}
	mention := regexp.MustCompile("['`]pelato ([a-z][a-z-]*)")
	verbs := map[string]*regexp.Regexp{
		"build":   regexp.MustCompile(`(?i)\bbuild(s|ing)?\b`),
		"push":    regexp.MustCompile(`(?i)\bpush(es|ing)?\b`),
		"deploy":  regexp.MustCompile(`(?i)\bdeploy(s|ing)?\b`),
		"publish": regexp.MustCompile(`(?i)\bpublish(es|ing)? (a|the|to the) (registry|lattice)\b`),
	}
	root := newCLI(strings.NewReader(""), io.Discard, io.Discard)
	all := []*cobra.Command{root}
	for _, c := range cmds {
		all = append(all, c)
	}
	for _, c := range all {
		text := c.Short + "\n" + c.Long + "\n" + c.Example
		for _, m := range mention.FindAllStringSubmatch(text, -1) {
			if !exists(m[1]) {
				t.Errorf("help of %q mentions `pelato %s`, which does not exist", c.CommandPath(), m[1])
			}
		}
		for verb, re := range verbs {
			if re.MatchString(text) && !exists(verb) {
				t.Errorf("help of %q promises %q (%q), but there is no `pelato %s`", c.CommandPath(), verb, re.FindString(text), verb)
			}
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `pelato ([a-z][a-z-]*)").FindAllStringSubmatch(string(readme), -1) {
		listed[m[1]] = true
		if !exists(m[1]) {
			t.Errorf("README.md's command table lists `pelato %s`, which does not exist", m[1])
		}
	}
	for _, m := range regexp.MustCompile("`pelato ([a-z][a-z-]*)").FindAllStringSubmatch(string(readme), -1) {
		listed[m[1]] = true
	}
	for path := range cmds {
		if name := strings.Fields(path)[0]; !listed[name] {
			t.Errorf("README.md does not mention `pelato %s`", name)
		}
	}
}

// TestUpwardSearch: a command run below a project's folder works on that project, as
// git and go do; paths in its output are relative to where it ran.
func TestUpwardSearch(t *testing.T) {
	dir := copyDir(t, "../../testdata/projects/task_type_error")
	t.Chdir(filepath.Join(dir, "tasks"))
	code, out, errOut := pelato(t, "check")
	if code != exitProblems || !strings.Contains(out, "upper.go:6:20: error PL402") || !strings.Contains(out, "../workflow.yaml:5:11: info PL410") {
		t.Errorf("check in tasks/: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = pelato(t, "check", ".")
	if code != exitProblems || !strings.Contains(out, "PL402") {
		t.Errorf("check . in tasks/: exit %d\n%s", code, out)
	}
	// A new project is not created inside another one's tasks/.
	code, _, errOut = pelato(t, "init")
	if code != exitUsage || !strings.Contains(errOut, "inside the tasks/ folder of the project "+dir) {
		t.Errorf("init in tasks/: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "tasks", "workflow.yaml")); err == nil {
		t.Errorf("init created a nested project")
	}
	// Outside any project: the message says where pelato looked and what to do.
	outside := t.TempDir()
	t.Chdir(outside)
	code, _, errOut = pelato(t, "check")
	if code != exitUsage || !strings.Contains(errOut, "no workflow.yaml in "+outside+" or any folder above it") || !strings.Contains(errOut, "pelato init") {
		t.Errorf("outside a project: exit %d, %q", code, errOut)
	}
}

func TestExplainLists(t *testing.T) {
	code, out, errOut := pelato(t, "explain")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(check.Catalogue()) {
		t.Errorf("%d lines for %d codes", len(lines), len(check.Catalogue()))
	}
	if !strings.HasPrefix(lines[0], "PL001  error    YAML syntax error") || !strings.Contains(errOut, "pelato explain CODE") {
		t.Errorf("first line %q, stderr %q", lines[0], errOut)
	}
	code, out, _ = pelato(t, "explain", "PL410", "--format", "json")
	var one struct {
		Code, Severity, Title, URL string
	}
	if code != 0 || json.Unmarshal([]byte(out), &one) != nil || one.Code != "PL410" || !strings.HasSuffix(one.URL, "#pl410") {
		t.Errorf("explain PL410 --format json: exit %d, %s", code, out)
	}
}

// TestCompletesTaskNames: task arguments and --task flags complete the project's
// component names, described by the task names.
func TestCompletesTaskNames(t *testing.T) {
	dir := copyDir(t, "../../examples/temperature")
	want := "celsius_to_kelvin_conversion\tTemp data conversion"
	check := func(what string, args ...string) {
		t.Helper()
		code, out, _ := pelato(t, append([]string{"__complete"}, args...)...)
		if code != 0 || !strings.Contains(out, want+"\n") || !strings.Contains(out, "temp_filter\tData filter\n") || !strings.Contains(out, "\n:4\n") {
			t.Errorf("%s: exit %d\n%s", what, code, out)
		}
	}
	check("invoke DIR TASK", "invoke", dir, "")
	check("gen DIR --task", "gen", dir, "--task", "")
	t.Chdir(filepath.Join(dir, "tasks"))
	check("invoke TASK in the project", "invoke", "")
	check("gen --task in the project", "gen", "--task", "")
	// After the task comes the input: nothing to complete.
	if _, out, _ := pelato(t, "__complete", "invoke", "temp_filter", ""); strings.Contains(out, "temp_filter\t") {
		t.Errorf("completed a task name for INPUT:\n%s", out)
	}
	// build, push, deploy, remove, status and brush take several tasks: each completes
	// the project's tasks but those already given, with or without the folder.
	t.Chdir(dir)
	for _, command := range []string{"build", "push", "deploy", "remove", "status", "brush"} {
		check(command+" TASK in the project", command, "")
		check(command+" DIR TASK", command, dir, "")
		_, out, _ := pelato(t, "__complete", command, dir, "temp_filter", "")
		if !strings.Contains(out, want+"\n") || strings.Contains(out, "temp_filter\t") {
			t.Errorf("%s DIR temp_filter: want the other task only:\n%s", command, out)
		}
	}
	// Topics: dev --send offers TOPIC= for each topic a task consumes (the inputs of
	// the workflow said so), without a space after it; publish offers the topics.
	input := "living_room_celsius_data%s\tinput of the workflow, consumed by celsius_to_kelvin_conversion\n"
	inner := "living_room_kelvin_data%s\tconsumed by temp_filter\n"
	for _, args := range [][]string{{"dev", "--send", ""}, {"dev", dir, "--send", ""}, {"dev", dir, "--send", "x=1", "--send", ""}} {
		_, out, _ := pelato(t, append([]string{"__complete"}, args...)...)
		if !strings.Contains(out, fmt.Sprintf(input, "=")) || !strings.Contains(out, fmt.Sprintf(inner, "=")) || !strings.Contains(out, "\n:6\n") || strings.Contains(out, "filtered_kelvin_data") {
			t.Errorf("%q:\n%s", args, out)
		}
	}
	_, out, _ := pelato(t, "__complete", "publish", "")
	if !strings.Contains(out, fmt.Sprintf(input, "")) || !strings.Contains(out, fmt.Sprintf(inner, "")) || !strings.Contains(out, "\n:4\n") {
		t.Errorf("publish TOPIC:\n%s", out)
	}
	if _, out, _ := pelato(t, "__complete", "publish", "living_room_celsius_data", ""); strings.Contains(out, "living_room") {
		t.Errorf("publish TOPIC DATA: completed a topic for DATA:\n%s", out)
	}
	// Every command with a --task flag or a TASK argument completes task names, so
	// commands added later do too.
	for path, c := range commands(t) {
		if f := c.Flags().Lookup("task"); f != nil {
			if _, ok := c.GetFlagCompletionFunc("task"); !ok {
				t.Errorf("%s: --task has no completion", path)
			}
		}
		if taskPosition(c) >= 0 && c.ValidArgsFunction == nil {
			t.Errorf("%s: TASK has no completion", path)
		}
	}
}

// TestVersionFromBuildInfo builds pelato and pelato-lsp from a clone of this
// repository (the go command records the revision only for a repository whose .git is
// a folder, which a git worktree's is not) and checks that both report the module
// version the go command derived from the commit, and the commit itself.
func TestVersionFromBuildInfo(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		testenv.Missing(t, "git is not installed; the version test builds from a clone")
	}
	top, err := exec.Command(git, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		testenv.Missing(t, "the source is not in a git checkout; the version test builds from a clone")
	}
	clone := filepath.Join(t.TempDir(), "pelato")
	if out, err := exec.Command(git, "clone", "--quiet", "--no-hardlinks", strings.TrimSpace(string(top)), clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	rev, err := exec.Command(git, "-C", clone, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	head := strings.TrimSpace(string(rev))
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, "./cmd/pelato", "./cmd/pelato-lsp")
	build.Dir = clone
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=true")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(bin, "pelato"), "version", "--format", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Version   string `json:"version"`
		Revision  string `json:"revision"`
		GoVersion string `json:"go_version"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if info.Revision != head || !strings.Contains(info.Version, head[:12]) || info.GoVersion == "" {
		t.Errorf("pelato version --format json = %s; want revision %s in a pseudo-version", out, head)
	}
	for _, c := range [][]string{{filepath.Join(bin, "pelato"), "version"}, {filepath.Join(bin, "pelato-lsp"), "--version"}} {
		out, err := exec.Command(c[0], c[1:]...).Output()
		if err != nil || !strings.Contains(string(out), info.Version+" (rev "+head[:12]) {
			t.Errorf("%s: %v %q; want %s (rev %s, ...)", strings.Join(c, " "), err, out, info.Version, head[:12])
		}
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// checkKeys reports every object key in v that is not snake_case, by its path.
func checkKeys(t *testing.T, what string, v any, path string) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if !snakeCase.MatchString(k) {
				t.Errorf("%s: key %q at %s is not snake_case", what, k, path)
			}
			checkKeys(t, what, e, path+"."+k)
		}
	case []any:
		for i, e := range x {
			checkKeys(t, what, e, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// TestJSONEveryFormat runs every command that offers --format json, on a working
// project, and checks that stdout holds exactly one JSON document whose keys are all
// snake_case (progress and logs belong on stderr).
func TestJSONEveryFormat(t *testing.T) {
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		testenv.Missing(t, "the go command is not on PATH; invoke --format json needs it")
	}
	t.Setenv("GOCACHE", strings.TrimSpace(string(gocache))) // keep Go's cache warm
	t.Setenv("XDG_CACHE_HOME", t.TempDir())                 // pelato's own cache: fresh
	dir := copyDir(t, "../../examples/temperature")
	ran := 0
	for path, c := range commands(t) {
		f := c.Flags().Lookup("format")
		if f == nil || !strings.Contains(f.Usage, "json") {
			continue
		}
		args := append(strings.Fields(path), "--format", "json")
		if hasDirArg(c) {
			args = append(append(args, dir), requiredArgs(c, dir)...)
		} else {
			args = append(args, requiredArgs(c, dir)...)
		}
		if strings.Contains(c.Use, "INPUT") {
			args = append(args, "21.5")
		}
		if c.Flags().Lookup("send") != nil {
			args = append(args, "--send", "living_room_celsius_data=21.5") // dev: run, then stop
		}
		t.Run(strings.ReplaceAll(path, " ", "_"), func(t *testing.T) {
			// A command that needs a peer (Docker, a registry, NATS) may run long or
			// fail here; what it prints must still be JSON of the right style.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var outb, errb strings.Builder
			code := run(ctx, args, strings.NewReader(""), &outb, &errb)
			out, errOut := outb.String(), errb.String()
			if code != 0 && strings.TrimSpace(out) == "" {
				t.Logf("%v: exit %d without output (its own tests cover its JSON): %s", args, code, errOut)
				return
			}
			dec := json.NewDecoder(strings.NewReader(out))
			docs := 0
			for {
				var v any
				if err := dec.Decode(&v); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("%v: stdout is not JSON: %v\n%s", args, err, out)
				}
				checkKeys(t, path, v, "$")
				docs++
			}
			if docs > 1 && c.Annotations[jsonLines] != "true" {
				t.Errorf("%v: stdout holds %d JSON documents; one, or annotate the command as JSON lines (an event stream)", args, docs)
			}
			if code != 0 {
				t.Logf("%v: exit %d with JSON output: %s", args, code, errOut)
				return
			}
			ran++
		})
	}
	if ran < 7 {
		t.Errorf("only %d commands produced JSON; check, gen, invoke, templates, explain, version and cache do", ran)
	}
}

// TestCheckDotEnv: check reads .env too and reports setting names and values with
// file and line, like workflow problems.
func TestCheckDotEnv(t *testing.T) {
	dir := copyDir(t, "../../testdata/projects/settings_misspelled")
	t.Chdir(dir)
	code, out, _ := pelato(t, "check")
	for _, want := range []string{
		".env:2:1: warning PL501: REGISTY_URL is not a pelato setting, so it is ignored; did you mean REGISTRY_URL?",
		".env:4:1: error PL502: PARALLEL_BUILD (from .env): \"maybe\" is not True or False",
		".env:6:1: warning PL503: NATS_HOST is set again (first on line 5)",
		"1 error, 3 warnings, 3 hints",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if code != exitProblems {
		t.Errorf("exit %d, want 1 (an invalid value)", code)
	}
}

// terminal is a stderr that says it is a terminal.
type terminal struct{ strings.Builder }

func (*terminal) IsTerminal() bool { return true }

// TestCheckSaysWhatItLoads: with an empty Go build cache, check on a terminal says
// that it is loading Go type information and how long it took, then reports as usual;
// off a terminal it prints nothing of the kind (a new process loads again, so the
// message would show if it were printed there).
func TestCheckSaysWhatItLoads(t *testing.T) {
	t.Setenv("GOCACHE", t.TempDir())
	dir := copyDir(t, "../../testdata/projects/task_type_error")
	var out strings.Builder
	var errOut terminal
	code := run(context.Background(), []string{"check", dir}, strings.NewReader(""), &out, &errOut)
	if code != exitProblems || !strings.Contains(out.String(), "PL402") {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	if !strings.HasPrefix(errOut.String(), loadingMessage+"…\n") || !regexp.MustCompile(`\nloaded Go type information in [0-9.]+m?s\n$`).MatchString(errOut.String()) {
		t.Errorf("stderr on a terminal: %q", errOut.String())
	}
	if code, _, errOut := pelato(t, "check", dir); code != exitProblems || errOut != "" {
		t.Errorf("off a terminal: exit %d, stderr %q", code, errOut)
	}
}

// TestCacheCommand: pelato cache reports the compile cache and its bounds, cache clean
// empties it (and nothing else in the folder), and invoke keeps it within the bounds.
func TestCacheCommand(t *testing.T) {
	cache := t.TempDir()
	old := time.Now().Add(-72 * time.Hour)
	for rel, size := range map[string]int{"wasm/a.wasm": 3 << 20, "wasm/b.wasm": 1 << 20, "wazero/wazero-v1-amd64-linux/c": 5 << 20, "dev/state": 100} {
		p := filepath.Join(cache, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, make([]byte, size), 0o644)
		os.Chtimes(p, old, old)
	}
	t.Setenv("CACHE_MAX_SIZE", "1GiB")
	code, out, _ := pelato(t, "cache", "--cache-dir", cache)
	for _, want := range []string{"compile cache: " + cache, "modules:     2 files, 4.0 MiB", "native code: 1 file, 5.0 MiB", "total:       9.0 MiB of at most 1.0 GiB; entries unused for 30 days are removed"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	// A new build trims: here everything unused for a day goes.
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "the go command is not on PATH; invoke needs it")
	}
	t.Setenv("CACHE_MAX_AGE", "1d")
	if code, out, errOut := pelato(t, "invoke", "--cache-dir", cache, "../../examples/temperature", "celsius_to_kelvin_conversion", "0"); code != 0 || out != "273.15\n" {
		t.Fatalf("invoke: exit %d %q %q", code, out, errOut)
	}
	code, out, _ = pelato(t, "cache", "--cache-dir", cache, "--format", "json")
	var rep struct {
		Entries       int   `json:"entries"`
		Bytes         int64 `json:"bytes"`
		MaxBytes      int64 `json:"max_bytes"`
		MaxAgeSeconds int64 `json:"max_age_seconds"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Entries != 2 || rep.MaxBytes != 1<<30 || rep.MaxAgeSeconds != 86400 {
		t.Errorf("after invoke (the old entries trimmed, the new module and its native code kept): exit %d\n%s", code, out)
	}
	code, out, _ = pelato(t, "cache", "clean", "--cache-dir", cache)
	if code != 0 || !strings.HasPrefix(out, "removed 2 files (") {
		t.Errorf("clean: exit %d %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(cache, "dev", "state")); err != nil {
		t.Errorf("clean removed what is not the compile cache's: %v", err)
	}
	t.Setenv("CACHE_MAX_SIZE", "lots")
	if code, _, errOut := pelato(t, "cache", "--cache-dir", cache); code != exitUsage || !strings.Contains(errOut, "CACHE_MAX_SIZE") {
		t.Errorf("a bad setting: exit %d, %q", code, errOut)
	}
}

// TestDotEnvCannotChooseBuilder: a cloned project's .env cannot pick the builder
// image, the build network or the limits (testdata/hostile/dotenv-builder): check
// warns (PL504) and build ignores the lines and says so.
func TestDotEnvCannotChooseBuilder(t *testing.T) {
	dir := copyDir(t, "../../testdata/hostile/dotenv-builder")
	code, out, _ := pelato(t, "check", dir)
	for _, want := range []string{
		".env:3:1: warning PL504: PELATO_BUILDER_IMAGE in .env is ignored",
		".env:4:1: warning PL504: PELATO_BUILD_NETWORK in .env is ignored",
		".env:5:1: warning PL504: PELATO_BUILD_MEMORY in .env is ignored",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check: missing %q in\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("check: exit %d, want 0 (warnings only)", code)
	}
	// Without Docker the build stops at once, after saying what it ignored; the
	// image named in .env is never asked for.
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
	code, out, errOut := pelato(t, "build", "--progress", "plain", dir)
	all := out + errOut
	if !strings.Contains(all, "PELATO_BUILDER_IMAGE in .env is ignored") || !strings.Contains(all, "PELATO_BUILD_NETWORK in .env is ignored") {
		t.Errorf("build does not say what it ignored:\n%s", all)
	}
	if strings.Contains(all, "attacker.example") {
		t.Errorf("build used the image .env named:\n%s", all)
	}
	if code == 0 {
		t.Error("build without Docker succeeded")
	}
	code, _, errOut = pelato(t, "build", "--network", "container:x", dir)
	if code != exitUsage || !strings.Contains(errOut, `PELATO_BUILD_NETWORK (from flag) is "container:x"; expected bridge (the default), host or none`) {
		t.Errorf("bad --network: exit %d\n%s", code, errOut)
	}
}

// TestGoMissingHint: without the go command on PATH, check (which loads the types of
// the tasks' imports with it) and invoke (which compiles with it) exit 2 with the same
// install hint, once.
func TestGoMissingHint(t *testing.T) {
	dir := copyDir(t, "../../examples/temperature")
	t.Setenv("PATH", t.TempDir())
	for _, args := range [][]string{{"check", dir}, {"invoke", "--cache-dir", t.TempDir(), dir, "celsius_to_kelvin_conversion", "21.5"}} {
		code, _, errOut := pelato(t, args...)
		if code != exitUsage || strings.Count(errOut, gotoolchain.ErrNotFound.Error()) != 1 {
			t.Errorf("%s without go: exit %d, stderr %q", args[0], code, errOut)
		}
	}
}
