package check

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestNoWait: with NoWait, a first check reports the workflow's problems at once and
// leaves the task whose imports are not loaded pending; once Loading is closed the
// same check reports the task's problems without waiting.
func TestNoWait(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join(projectsDir, "task_type_error"))
	checker := NewTaskChecker(TaskCheckerOptions{})
	opts := Options{Root: root, Tasks: checker, NoWait: true}
	res, err := Project(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pending() || res.Tasks[0] == nil || !res.Tasks[0].Pending {
		t.Fatalf("the task is not pending: %+v", res.Tasks)
	}
	codes := map[Code]bool{}
	for _, d := range res.Diagnostics {
		codes[d.Code] = true
	}
	if !codes[CodeExternalSource] || codes[CodeGoType] || codes[CodeTaskHasErrors] {
		t.Errorf("first check: %v; want the workflow's hints only", codes)
	}
	select {
	case <-res.Loading:
	case <-time.After(2 * time.Minute):
		t.Fatal("the load did not end")
	}
	loads := checker.Imports().Loads()
	res, err = Project(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pending() || checker.Imports().Loads() != loads {
		t.Errorf("second check: pending %v, loads %d → %d", res.Pending(), loads, checker.Imports().Loads())
	}
	codes = map[Code]bool{}
	for _, d := range res.Diagnostics {
		codes[d.Code] = true
	}
	if !codes[CodeGoType] || !codes[CodeTaskHasErrors] {
		t.Errorf("second check: %v; want the task's errors", codes)
	}
}
