package check

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// editLine applies one random edit to a line of text: a character typed or deleted,
// a line copied, removed or emptied, or a value replaced.
func editLine(rng *rand.Rand, text string) string {
	lines := strings.SplitAfter(text, "\n")
	i := rng.Intn(len(lines))
	l := lines[i]
	switch rng.Intn(6) {
	case 0: // type a character
		at := rng.Intn(len(l) + 1)
		l = l[:at] + string("ax1 :-_.#"[rng.Intn(9)]) + l[at:]
	case 1: // delete a character
		if len(l) > 0 {
			at := rng.Intn(len(l))
			l = l[:at] + l[at+1:]
		}
	case 2: // copy the line
		l += l
	case 3: // remove the line
		l = ""
	case 4: // replace the value
		if k, _, ok := strings.Cut(l, ": "); ok {
			vals := []string{"1.0.x", "Task 1", "processor_nats", "t001.go", "missing.go", "[edge]", "topic.*", "latest", "UPPER", "8080", "''"}
			l = k + ": " + vals[rng.Intn(len(vals))] + "\n"
		}
	default: // change a digit
		l = strings.Replace(l, "1", "2", 1)
	}
	lines[i] = l
	return strings.Join(lines, "")
}

// checkBoth checks the project at root with text as its workflow.yaml, with and
// without the session, and fails when they differ.
func checkBoth(t *testing.T, s *Session, opts Options, text string) *Result {
	t.Helper()
	wf := filepath.Join(opts.Root, "workflow.yaml")
	opts.Overlay = func(p string) ([]byte, bool) {
		if p == wf {
			return []byte(text), true
		}
		return nil, false
	}
	full, ferr := Project(context.Background(), opts)
	opts.Session = s
	inc, ierr := Project(context.Background(), opts)
	if (ferr == nil) != (ierr == nil) {
		t.Fatalf("errors differ: %v vs %v", ierr, ferr)
	}
	if ferr != nil {
		return nil
	}
	if !reflect.DeepEqual(inc.Diagnostics, full.Diagnostics) {
		t.Fatalf("diagnostics with a session differ from a full check of:\n%s\ngot  %s\nwant %s", text, formatGolden(inc), formatGolden(full))
	}
	if !reflect.DeepEqual(inc.Workflow.File, full.Workflow.File) {
		t.Fatalf("the parse with a session differs from a full parse of:\n%s", text)
	}
	return inc
}

// TestSessionMatchesFull edits the workflow.yaml of every project of the corpus at
// random and checks each version with a Session (incremental parse, clean-task memo,
// file cache) and without: the diagnostics must be the same.
func TestSessionMatchesFull(t *testing.T) {
	entries, err := os.ReadDir(projectsDir)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(21))
	incremental, memoHits := 0, 0
	for _, e := range entries {
		root, _ := filepath.Abs(filepath.Join(projectsDir, e.Name()))
		orig, err := os.ReadFile(filepath.Join(root, "workflow.yaml"))
		if err != nil || !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			s := NewSession(FilesNotified)
			text := string(orig)
			checkBoth(t, s, Options{Root: root, SkipTasks: true}, text)
			for range 20 {
				prev := text
				text = editLine(rng, text)
				res := checkBoth(t, s, Options{Root: root, SkipTasks: true}, text)
				if res != nil && len(res.Workflow.File.Problems) > 0 && rng.Intn(3) > 0 {
					text = prev // undo most edits that break the YAML
					checkBoth(t, s, Options{Root: root, SkipTasks: true}, text)
				}
			}
			inc, _ := s.Parses()
			incremental += inc
			if s.clean.last != nil {
				memoHits += len(s.clean.last.tasks)
			}
		})
	}
	t.Logf("%d incremental parses; %d tasks in the last memos", incremental, memoHits)
	if incremental < 100 {
		t.Errorf("only %d incremental parses: the fast path is not taken", incremental)
	}
}

// TestSessionFiles changes, adds and removes task files between checks: with
// FilesStat the change is seen by its size or time, with FilesNotified once the cache
// is told (Changed); both then report what a check without a session reports.
func TestSessionFiles(t *testing.T) {
	root, text := bigWorkflow(t, 12)
	tasks := NewTaskChecker(TaskCheckerOptions{})
	defer tasks.Close()
	for _, mode := range []FileMode{FilesStat, FilesNotified} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			s := NewSession(mode)
			opts := Options{Root: root, Tasks: tasks}
			checkBoth(t, s, opts, text)
			task := filepath.Join(root, "tasks", "t0003.go")
			orig, err := os.ReadFile(task)
			if err != nil {
				t.Fatal(err)
			}
			bad := strings.Replace(string(orig), "return strings.ToUpper(arg)", "return 42", 1)
			steps := []struct {
				name   string
				change func()
				want   string // a code the check must report, or ""
			}{
				{"a task file breaks", func() { write(t, task, bad) }, "PL402"},
				{"it is fixed", func() { write(t, task, string(orig)) }, ""},
				{"it is removed", func() { os.Remove(task) }, "PL202"},
				{"it is back", func() { write(t, task, string(orig)) }, ""},
			}
			for _, st := range steps {
				st.change()
				// A file rewritten within the clock's resolution keeps its time:
				// move it on, as any later write would.
				later := time.Now().Add(time.Duration(len(st.name)) * time.Second)
				_ = os.Chtimes(task, later, later)
				if mode == FilesNotified {
					s.Files().Changed(task) // as the editor reports it
				}
				res := checkBoth(t, s, opts, text)
				found := false
				for _, d := range res.Diagnostics {
					found = found || string(d.Code) == st.want
				}
				if st.want != "" && !found {
					t.Errorf("%s: no %s in %s", st.name, st.want, formatGolden(res))
				}
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
