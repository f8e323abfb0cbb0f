package devrun

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pelato-dev/pelato/internal/wasmrun"
)

// TestMemoryBudget: a workflow whose instances could together use more than the
// budget is refused at start, before anything is compiled, naming the tasks, the
// sizes and what to change; within the budget it starts.
func TestMemoryBudget(t *testing.T) {
	requireGo(t)
	wf := strings.Replace(twoProcessors, "    component_name: a\n", "    component_name: a\n    instances: 40\n", 1)
	dir := project(t, wf, map[string]string{"a.go": echoTask, "b.go": echoTask})
	_, err := Start(context.Background(), Options{Root: dir, Port: -1, StoreDir: t.TempDir(), CacheDir: t.TempDir()})
	var be *BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a BudgetError", err)
	}
	for _, want := range []string{
		"the workflow's 41 task instances may use up to 20.5 GiB together (512 MiB each, --memory)",
		"more than dev's memory budget of 4 GiB (--memory-budget)",
		"a: 40 instances = 20 GiB, b: 1 instance = 512 MiB",
		"Lower instances: in workflow.yaml, lower the cap of each instance (--memory 99MiB fits), or raise --memory-budget",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
	// Within the budget: 41 × 64 MiB.
	r, _ := start(t, dir, Options{Limits: wasmrun.Limits{Memory: 64 << 20}})
	if len(r.Tasks()) != 2 {
		t.Errorf("tasks %v", r.Tasks())
	}
}
