package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/hostile"
)

// Bounds the CLI keeps against a hostile project (docs/PERFORMANCE.md). Times are
// asserted with a margin for a loaded machine: they guard against hangs and blow-ups;
// the benchmarks of internal/check measure.
const (
	fileTime    = 3 * time.Second  // documented: a diagnostic within 1 s
	fileMemory  = 100 << 20        // peak heap above the baseline
	bigTime     = 6 * time.Second  // documented: 10 000 tasks checked in under 2 s
	bigMemory   = 300 << 20        // peak heap for 10 000 tasks
	bigOutput   = 5 << 20          // bytes printed for 10 000 tasks
	smallOutput = 64 << 10         // bytes printed about one hostile file
	fifoTimeout = 10 * time.Second // a run still going then has hung on a FIFO
)

// attack is one hostile project: how to build it, what to run, and what must come
// out.
type attack struct {
	name  string
	build func(t *testing.T, dir string) // turns a copy of examples/temperature into the attack
	args  []string                       // the command; "DIR" stands for the project
	env   map[string]string
	code  int
	says  []string // substrings of stdout+stderr
	never []string // substrings that must not appear (secrets, raw escapes)
	big   bool     // a 10 000-task project: the big bounds apply
}

func makeFile(kind, rel string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if err := hostile.MakeFile(filepath.Join(dir, rel), kind); err != nil {
			t.Skipf("cannot make a %s here: %v", kind, err)
		}
	}
}

func writeFile(rel, content string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func project(shape hostile.Shape) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		os.RemoveAll(filepath.Join(dir, "tasks"))
		if _, err := hostile.Project(dir, shape, 10000); err != nil {
			t.Fatal(err)
		}
	}
}

func attacks() []attack {
	const secret = "ghp_0123456789SECRETTOKEN"
	return []attack{
		// Files that are not what they claim, in every place pelato reads.
		{name: "workflow.yaml is a FIFO", build: makeFile(hostile.FIFO, "workflow.yaml"), args: []string{"check", "DIR"}, code: 1,
			says: []string{"workflow.yaml:1:1: error PL010: workflow.yaml is a named pipe (FIFO), not a regular file"}},
		{name: "workflow.yaml links to /dev/zero", build: makeFile(hostile.DevZero, "workflow.yaml"), args: []string{"check", "DIR"}, code: 1,
			says: []string{"PL010: workflow.yaml is a symbolic link to /dev/zero, a character device"}},
		{name: "workflow.yaml is 8 GiB", build: makeFile(hostile.HugeSparse, "workflow.yaml"), args: []string{"check", "DIR"}, code: 1,
			says: []string{"PL006: workflow.yaml is 8 GiB; pelato reads at most 2 MiB"}},
		{name: "task file is a FIFO", build: makeFile(hostile.FIFO, "tasks/filter.go"), args: []string{"check", "DIR"}, code: 1,
			says: []string{"tasks/filter.go", "PL411: cannot read tasks/filter.go: it is a named pipe (FIFO)"}},
		{name: "task file links to /dev/zero", build: makeFile(hostile.DevZero, "tasks/filter.go"), args: []string{"check", "DIR"}, code: 1,
			says: []string{"PL203: code `filter.go` is a symbolic link that leads out of tasks/"}},
		{name: "task file is 8 GiB", build: makeFile(hostile.HugeSparse, "tasks/filter.go"), args: []string{"check", "DIR"}, code: 1,
			says: []string{"PL411: tasks/filter.go is too large to check (8589934592 bytes; the limit is 16777216)"}},
		{name: "go.mod is a FIFO", build: makeFile(hostile.FIFO, "go.mod"), args: []string{"check", "DIR"}, code: 2,
			says: []string{"the check is incomplete", "go.mod is a named pipe (FIFO)"}},
		{name: ".env links to /dev/zero", build: makeFile(hostile.DevZero, ".env"), args: []string{"gen", "DIR"}, code: 2,
			says: []string{".env is a symbolic link to /dev/zero, a character device, not a regular file"}},
		{name: ".env is a FIFO", build: makeFile(hostile.FIFO, ".env"), args: []string{"gen", "DIR"}, code: 2,
			says: []string{".env is a named pipe (FIFO)"}},
		{name: ".env is 8 GiB", build: makeFile(hostile.HugeSparse, ".env"), args: []string{"gen", "DIR"}, code: 2,
			says: []string{".env is 8 GiB; pelato reads at most 1 MiB"}},
		{name: "metrics.yaml is a FIFO", build: makeFile(hostile.FIFO, "metrics.yaml"), args: []string{"gen", "DIR"}, env: map[string]string{"ENABLE_METRICS": "True"}, code: 0,
			says: []string{"warning:", "metrics.yaml is a named pipe (FIFO)"}},
		{name: "gen lock links to /dev/zero", build: func(t *testing.T, dir string) {
			if code, out, errOut := pelato(t, "gen", dir); code != 0 {
				t.Fatalf("first gen: %d %s %s", code, out, errOut)
			}
			makeFile(hostile.DevZero, "gen/.pelato-lock")(t, dir)
		}, args: []string{"gen", "DIR"}, code: 2, says: []string{".pelato-lock: it is a symbolic link, not a regular file"}},
		// Secrets and terminals.
		{name: ".env line holds a token", build: writeFile(".env", "# mine\nhttps://alice:"+secret+"@github.com\n"), args: []string{"gen", "DIR"}, code: 2,
			says: []string{".env:2:1: the line has no `=`", "not shown"}, never: []string{secret, "alice"}},
		{name: "REGISTRY_URL with a scheme", build: func(*testing.T, string) {}, args: []string{"gen", "DIR"}, env: map[string]string{"REGISTRY_URL": "https://bob:" + secret + "@registry.example:5000"}, code: 2,
			says: []string{"REGISTRY_URL (from environment): has a scheme (https://) and credentials"}, never: []string{secret}},
		{name: "REGISTRY_URL port out of range", build: func(*testing.T, string) {}, args: []string{"gen", "DIR"}, env: map[string]string{"REGISTRY_URL": "registry.example:99999"}, code: 2,
			says: []string{"port 99999 is not a port number"}},
		{name: "escape sequences in workflow.yaml", build: func(t *testing.T, dir string) {
			b, err := os.ReadFile("../../testdata/hostile/escapes/workflow.yaml")
			if err != nil {
				t.Fatal(err)
			}
			writeFile("workflow.yaml", string(b))(t, dir)
			writeFile("tasks/task.go", hostile.TaskSource)(t, dir)
		}, args: []string{"check", "DIR"}, code: 1,
			says: []string{`unknown template ` + "`" + `\x1b[2Jprocessor_nats`, `taregts\x1b[31m\r`}, never: []string{"\x1b", "\r"}},
		// Size: 10 000 tasks.
		{name: "10 000-task ring", build: project(hostile.Ring), args: []string{"check", "DIR"}, code: 0, big: true,
			says: []string{"warning PL302: tasks c0 → c1 → c2 → c3 → c4 → c5 → c6 → c7 → … (9992 more) → c0 form a cycle", "1 warning"}},
		{name: "10 000 tasks on one wildcard", build: project(hostile.Wildcard), args: []string{"check", "DIR"}, code: 0, big: true,
			says: []string{"(10000 tasks in all feed each other in this loop)", "1 warning"}},
		{name: "10 000 missing code files", build: project(hostile.MissingCode), args: []string{"check", "DIR"}, code: 1, big: true,
			says: []string{"task code `tasks/missing_9999.go` does not exist", "10000 errors"}},
	}
}

// TestCLIHostileProjects runs each attack through the CLI and checks that it ends
// within its time bound, prints within its byte bound, holds no more heap than its
// memory bound, exits with the right code and says what is wrong.
func TestCLIHostileProjects(t *testing.T) {
	for _, a := range attacks() {
		t.Run(a.name, func(t *testing.T) {
			dir := copyDir(t, "../../examples/temperature")
			a.build(t, dir)
			for k, v := range a.env {
				t.Setenv(k, v)
			}
			args := make([]string, len(a.args))
			for i, s := range a.args {
				args[i] = strings.ReplaceAll(s, "DIR", dir)
			}
			var out, errOut bytes.Buffer
			code := -1
			done := make(chan struct{})
			var u hostile.Usage
			go func() {
				defer close(done)
				u = hostile.Measure(func() { code = run(context.Background(), args, strings.NewReader(""), &out, &errOut) })
			}()
			select {
			case <-done:
			case <-time.After(fifoTimeout):
				t.Fatalf("pelato %s hung", strings.Join(a.args, " "))
			}
			all := out.String() + errOut.String()
			timeBound, memBound, outBound := fileTime, uint64(fileMemory), smallOutput
			if a.big {
				timeBound, memBound, outBound = bigTime, bigMemory, bigOutput
			}
			if u.Took > timeBound || u.PeakHeap > memBound || len(all) > outBound {
				t.Errorf("cost %s and printed %d bytes; bounds: %v, %d MB, %d bytes", u, len(all), timeBound, memBound>>20, outBound)
			}
			if code != a.code {
				t.Errorf("exit %d, want %d\n%s", code, a.code, tail(all))
			}
			for _, s := range a.says {
				if !strings.Contains(all, s) {
					t.Errorf("output should say %q:\n%s", s, tail(all))
				}
			}
			for _, s := range a.never {
				if strings.Contains(all, s) {
					t.Errorf("output must not contain %q:\n%s", s, tail(all))
				}
			}
			t.Logf("%s, %d bytes printed", u, len(all))
		})
	}
}

// tail keeps the end of long output for messages.
func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}
