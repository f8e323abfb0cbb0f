package check

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// cleanTasks remembers, from one check of a Session to the next, the diagnostics the
// per-task workflow rules (wfChecker.task: keys, values, `code:`) gave each task, so
// that a task whose inputs (cleanKey) did not change is not checked again: its
// diagnostics are copied, moved by as many bytes as its text moved. Only those rules are covered: the file's
// YAML problems, the project keys and the rules across tasks (duplicate names and
// components, HTTP ports, the topic graph) run in full on every check, and so do the
// Go checks of task code (which the TaskChecker's own memo serves).
type cleanTasks struct {
	mu   sync.Mutex
	last *cleanMemo
}

// cleanMemo is the results of one check.
type cleanMemo struct {
	root  string
	reg   *templates.Registry
	tasks map[cleanKey]cleanResult
}

// cleanResult is a task's diagnostics as checked when its text started at base.
type cleanResult struct {
	ds   []Diagnostic
	base int
}

// cleanKey is everything the per-task rules read to check one task. A new per-task
// rule that reads anything else — another task, a project key not below, a file —
// must add it here, or a task would keep diagnostics its inputs no longer give.
type cleanKey struct {
	// text is the task's whole lines in workflow.yaml, its `-` included.
	text string
	// index is the task's position in the list (messages name unnamed tasks by it).
	index int
	// project is the values of every project key but `tasks:` (platform:, ...), as
	// resolved (aliases followed), without positions.
	project string
	// code is what the file system said of the task's `code:` (see codeState).
	code string
}

// tasks runs the per-task rules on every task, with a Session's memo of clean tasks.
func (c *wfChecker) tasks(ts []*workflow.Task) {
	s := c.opts.session
	if s == nil {
		for _, t := range ts {
			c.task(t)
		}
		return
	}
	s.clean.mu.Lock()
	last := s.clean.last
	s.clean.mu.Unlock()
	if last != nil && (last.root != c.opts.Root || last.reg != c.reg) {
		last = nil
	}
	next := &cleanMemo{root: c.opts.Root, reg: c.reg, tasks: make(map[cleanKey]cleanResult, len(ts))}
	// The resolved platform too: a --platform flag (Options.Platform) overrides the key.
	project := c.projectValues() + "\x00platform=" + c.platform
	for _, t := range ts {
		key, base, ok := c.cleanKey(t, project)
		if !ok {
			c.task(t)
			continue
		}
		if r, hit := last.get(key); hit {
			for _, d := range r.ds {
				c.out = append(c.out, moved(d, base-r.base))
			}
			next.tasks[key] = r
			continue
		}
		from := len(c.out)
		c.task(t)
		ds := make([]Diagnostic, 0, len(c.out)-from)
		for _, d := range c.out[from:] {
			ds = append(ds, moved(d, 0)) // a copy: Project edits messages in place
		}
		next.tasks[key] = cleanResult{ds: ds, base: base}
	}
	s.clean.mu.Lock()
	s.clean.last = next
	s.clean.mu.Unlock()
}

func (m *cleanMemo) get(k cleanKey) (cleanResult, bool) {
	if m == nil {
		return cleanResult{}, false
	}
	r, ok := m.tasks[k]
	return r, ok
}

// cleanKey returns the memo key of task t and the offset its text starts at; ok is
// false when the task's diagnostics depend on more than the key holds (a value
// reached through an alias or a merge, a `code:` the rules stat or suggest for).
func (c *wfChecker) cleanKey(t *workflow.Task, project string) (k cleanKey, base int, ok bool) {
	n := t.Node
	if viaAnywhere(n) {
		return k, 0, false
	}
	code, ok := c.codeState(t)
	if !ok {
		return k, 0, false
	}
	m := c.f.Mapper
	base = m.LineStart(m.LineOf(n.Range.Start))
	end := m.LineStart(m.LineOf(max(n.Range.End-1, n.Range.Start)) + 1)
	return cleanKey{text: string(c.f.Content[base:end]), index: t.Index, project: project, code: code}, base, true
}

// viaAnywhere reports whether some value of n's tree was reached through an alias or
// a merge (its text is elsewhere).
func viaAnywhere(n *workflow.Node) bool {
	if !n.Via.IsZero() {
		return true
	}
	for _, it := range n.Items {
		if viaAnywhere(it) {
			return true
		}
	}
	for _, f := range n.Fields {
		if !f.Via.IsZero() || viaAnywhere(f.Value) {
			return true
		}
	}
	return false
}

// codeState returns what the `code:` rule (wfChecker.code) learns from the file
// system about task t, when that is only whether the listing of tasks/ holds its
// file: "" (the rule reads nothing), or "file" (a regular file at the top of tasks/).
// ok is false when the rule would stat, resolve links, glob a folder or look for a
// near name (which spends the check's suggestion budget): such a task is checked.
func (c *wfChecker) codeState(t *workflow.Task) (string, bool) {
	state := ""
	for _, f := range t.Node.Fields {
		if f.Key != "code" {
			continue
		}
		v := f.Value
		if v.Kind != workflow.Scalar || v.IsNull() || strings.TrimSpace(v.Value) == "" || c.opts.Root == "" {
			continue
		}
		s := v.Value
		clean := path.Clean(filepath.ToSlash(s))
		if filepath.IsAbs(s) || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(s, "\\") || (len(s) > 1 && s[1] == ':') {
			continue // refused from its text alone
		}
		if strings.Contains(clean, "/") {
			return "", false
		}
		e, found := c.listing(filepath.Join(c.opts.Root, workflow.TasksDir))[clean]
		if !found || !e.Type().IsRegular() {
			return "", false
		}
		state += "file " + clean + "\n"
	}
	return state, true
}

// listing returns the entries of tasks/ by name, read once per check (through the
// Session's file cache when there is one).
func (c *wfChecker) listing(tasksDir string) map[string]fs.DirEntry {
	if c.tasksEntries == nil {
		c.tasksEntries = map[string]fs.DirEntry{}
		entries, _ := c.opts.session.Files().readDir(tasksDir)
		for _, e := range entries {
			c.tasksEntries[e.Name()] = e
		}
	}
	return c.tasksEntries
}

// projectValues returns the values of the project keys but `tasks:`, without
// positions, for cleanKey.
func (c *wfChecker) projectValues() string {
	var b strings.Builder
	for _, f := range c.f.Root.Fields {
		if f.Key != "tasks" {
			fmt.Fprintf(&b, "%q: ", f.Key)
			writeValue(&b, f.Value, 0)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// writeValue writes n's kind, tags and values (not its positions).
func writeValue(b *strings.Builder, n *workflow.Node, depth int) {
	if depth > workflow.MaxDepth {
		return
	}
	switch n.Kind {
	case workflow.Scalar:
		fmt.Fprintf(b, "%s %q %t", n.Tag, n.Value, n.Quoted)
	case workflow.Sequence:
		b.WriteByte('[')
		for _, it := range n.Items {
			writeValue(b, it, depth+1)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case workflow.Mapping:
		b.WriteByte('{')
		for _, f := range n.Fields {
			fmt.Fprintf(b, "%q: ", f.Key)
			writeValue(b, f.Value, depth+1)
			b.WriteByte(',')
		}
		b.WriteByte('}')
	}
}

// moved returns a copy of d with every range moved by delta ("no position", the zero
// range, stays: a task's text never starts at offset 0).
func moved(d Diagnostic, delta int) Diagnostic {
	mv := func(r span.Range) span.Range {
		if r.IsZero() {
			return r
		}
		return span.Range{Start: r.Start + delta, End: r.End + delta}
	}
	d.Range = mv(d.Range)
	if d.Related != nil {
		rel := make([]Related, len(d.Related))
		for i, r := range d.Related {
			r.Range = mv(r.Range)
			rel[i] = r
		}
		d.Related = rel
	}
	if d.Fixes != nil {
		fixes := make([]Fix, len(d.Fixes))
		for i, f := range d.Fixes {
			if f.Edits != nil {
				edits := make([]TextEdit, len(f.Edits))
				for j, e := range f.Edits {
					e.Range = mv(e.Range)
					edits[j] = e
				}
				f.Edits = edits
			}
			fixes[i] = f
		}
		d.Fixes = fixes
	}
	return d
}
