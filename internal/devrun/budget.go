package devrun

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pelato-dev/pelato/internal/wasmrun"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// DefaultMemoryBudget bounds the memory all of dev's task instances may use together
// (Options.MemoryBudget when 0): each instance may grow to the per-instance cap
// (--memory), so a workflow needs instances × cap in the worst case.
const DefaultMemoryBudget = 4 << 30

// BudgetError is the error of a workflow whose instances could together use more
// memory than the budget.
type BudgetError struct {
	Need, Budget, PerInstance uint64
	Instances                 int
	// Tasks lists the tasks, the most instances first ("ingest: 40 instances = 20GiB").
	Tasks []string
}

func (e *BudgetError) Error() string {
	msg := fmt.Sprintf("the workflow's %d task instances may use up to %s together (%s each, --memory), more than dev's memory budget of %s (--memory-budget): %s. "+
		"Lower instances: in workflow.yaml",
		e.Instances, wasmrun.FormatBytes(e.Need), wasmrun.FormatBytes(e.PerInstance), wasmrun.FormatBytes(e.Budget), strings.Join(e.Tasks, ", "))
	if fit := e.Budget / uint64(e.Instances) >> 20 << 20; fit >= 1<<20 {
		msg += fmt.Sprintf(", lower the cap of each instance (--memory %s fits)", strings.ReplaceAll(wasmrun.FormatBytes(fit), " ", ""))
	}
	return msg + ", or raise --memory-budget"
}

// checkBudget returns a *BudgetError when the tasks' instances, each capped at the
// per-instance memory, exceed the budget.
func (r *Runner) checkBudget(specs []workflow.Spec) error {
	per := r.opts.Limits.Memory
	if per == 0 {
		per = wasmrun.DefaultMemory
	}
	per = min(per, wasmrun.MaxMemory)
	budget := r.opts.MemoryBudget
	if budget == 0 {
		budget = DefaultMemoryBudget
	}
	type use struct {
		name string
		n    int
	}
	var uses []use
	total := 0
	for _, s := range specs {
		n := max(s.Instances, 1)
		uses = append(uses, use{s.ComponentName, n})
		total += n
	}
	need := uint64(total) * per
	if need <= budget {
		return nil
	}
	sort.SliceStable(uses, func(i, j int) bool { return uses[i].n > uses[j].n })
	e := &BudgetError{Need: need, Budget: budget, PerInstance: per, Instances: total}
	for i, u := range uses {
		if i == 8 {
			e.Tasks = append(e.Tasks, fmt.Sprintf("… (%d more tasks)", len(uses)-i))
			break
		}
		word := "instances"
		if u.n == 1 {
			word = "instance"
		}
		e.Tasks = append(e.Tasks, fmt.Sprintf("%s: %d %s = %s", u.name, u.n, word, wasmrun.FormatBytes(uint64(u.n)*per)))
	}
	return e
}
