package check

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/wadm"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// WorkflowOptions configures the workflow rules.
type WorkflowOptions struct {
	// Root is the project folder; task code paths are resolved under Root/tasks.
	Root string
	// Registry is the template registry; nil means the embedded one.
	Registry *templates.Registry
	// Platform, when set, overrides the workflow's `platform:` key for the
	// platform rules (platform.go).
	Platform string

	session *Session // the memo of clean tasks and the file cache (cleantasks.go)
}

// Workflow runs every rule of workflow.yaml on w and returns the diagnostics, unsorted
// and unsuppressed (Project does both).
func Workflow(w *workflow.Workflow, opts WorkflowOptions) []Diagnostic {
	if opts.Registry == nil {
		opts.Registry = templates.Default()
	}
	c := &wfChecker{w: w, f: w.File, opts: opts, reg: opts.Registry, suggestions: suggestionBudget}
	for _, k := range workflow.Keys() {
		if k.Scope == workflow.Common && k.Required {
			c.required = append(c.required, k.Key)
		}
	}
	c.problems()
	root := w.File.Root
	if root == nil || root.Kind != workflow.Mapping {
		return c.out
	}
	c.platform = c.resolvePlatform()
	c.project(root)
	c.tasks(w.Tasks)
	c.crossTask()
	c.platformRules()
	return c.out
}

type wfChecker struct {
	realTasks    string                 // tasks/ with symbolic links resolved, computed once
	tasksEntries map[string]fs.DirEntry // the listing of tasks/, read once
	nearNames    []string               // task files and folders, for suggestions
	suggestions  int                    // comparisons left for suggestions (suggestionBudget)
	required     []string               // the keys every task must have
	w            *workflow.Workflow
	f            *workflow.File
	opts         WorkflowOptions
	reg          *templates.Registry
	out          []Diagnostic
	platform     string // the platform the rules apply (platform.go); "" when unknown
}

func (c *wfChecker) add(sev Severity, code Code, r span.Range, msg string, fixes ...Fix) *Diagnostic {
	c.out = append(c.out, Diagnostic{File: c.f.Path, Range: r, Severity: sev, Code: code, Message: msg, Fixes: fixes})
	return &c.out[len(c.out)-1]
}

func (c *wfChecker) edit(title string, r span.Range, text string) Fix {
	return Fix{Title: title, Edits: []TextEdit{{File: c.f.Path, Range: r, NewText: text}}}
}

var problemCodes = map[workflow.ProblemKind]Code{
	workflow.ProblemSyntax: CodeSyntax, workflow.ProblemDuplicateKey: CodeDuplicateKey,
	workflow.ProblemMultiDoc: CodeMultiDoc, workflow.ProblemTab: CodeTabIndent,
	workflow.ProblemEmpty: CodeEmptyFile, workflow.ProblemTooLarge: CodeTooLarge,
	workflow.ProblemNotMapping: CodeNotMapping, workflow.ProblemEncoding: CodeBadEncoding,
	workflow.ProblemKeyType: CodeWrongType,
}

func (c *wfChecker) problems() {
	for _, p := range c.f.Problems {
		d := c.add(Error, problemCodes[p.Kind], p.Range, p.Message)
		if !p.Related.IsZero() {
			d.Related = []Related{{File: c.f.Path, Range: p.Related, Message: "first set here"}}
		}
		if p.Kind == workflow.ProblemDuplicateKey {
			d.Fixes = []Fix{c.edit("Remove this duplicate line", c.lineRange(p.Range.Start), "")}
		}
		if p.Kind == workflow.ProblemTab {
			d.Fixes = []Fix{c.edit("Replace the tab with two spaces", p.Range, "  ")}
		}
	}
}

// lineRange covers the whole line holding off, its line break included.
func (c *wfChecker) lineRange(off int) span.Range {
	l := c.f.Mapper.LineOf(off)
	return span.Range{Start: c.f.Mapper.LineStart(l), End: c.f.Mapper.LineStart(l + 1)}
}

func (c *wfChecker) project(root *workflow.Node) {
	for _, f := range root.Fields {
		if _, ok := workflow.LookupKey(f.Key, false); !ok {
			c.unknownKey(f, projectKeyNames(), "at the top of workflow.yaml")
		}
	}
	pn := root.Field("project_name")
	switch {
	case pn == nil && misspelled(root, "project_name"):
	case pn == nil:
		c.add(Error, CodeMissingKey, c.firstKeyRange(root), "missing required key `project_name` (the project's display name)",
			c.insertKey(root, "project_name", "My project"))
	default:
		c.stringValue(pn)
	}
	tasks := root.Field("tasks")
	switch {
	case tasks == nil && misspelled(root, "tasks"):
	case tasks == nil:
		c.add(Error, CodeMissingKey, c.firstKeyRange(root), "missing required key `tasks` (the list of tasks)")
	case tasks.Value.IsNull() || (tasks.Value.Kind == workflow.Sequence && len(tasks.Value.Items) == 0):
		c.add(Error, CodeEmptyValue, tasks.At(), "`tasks` is empty; list at least one task")
	case tasks.Value.Kind != workflow.Sequence:
		c.add(Error, CodeWrongType, tasks.Value.At(), fmt.Sprintf("`tasks` must be a list of tasks (each starting with `- name:`), found %s", tasks.Value.Kind))
	}
}

func projectKeyNames() []string {
	var out []string
	for _, k := range workflow.Keys() {
		if k.Scope == workflow.Project {
			out = append(out, k.Key)
		}
	}
	return out
}

func (c *wfChecker) firstKeyRange(n *workflow.Node) span.Range {
	if len(n.Fields) > 0 {
		return n.Fields[0].At()
	}
	return span.Range{Start: n.Range.Start, End: n.Range.Start + 1}
}

func (c *wfChecker) unknownKey(f *workflow.Field, candidates []string, where string) {
	msg := fmt.Sprintf("unknown key `%s` %s", f.Key, where)
	var fixes []Fix
	if best, ok := closest(f.Key, candidates); ok {
		msg += fmt.Sprintf("; did you mean `%s`?", best)
		if f.Via.IsZero() {
			fixes = append(fixes, c.edit("Change to `"+best+"`", f.KeyRange, best))
		}
	} else {
		msg += "; expected one of " + list(candidates)
	}
	c.add(Error, CodeUnknownKey, f.At(), msg, fixes...)
}

func list(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, ", ")
}

// stringValue checks that f holds a non-empty scalar and returns it.
func (c *wfChecker) stringValue(f *workflow.Field) (string, bool) {
	v := f.Value
	switch {
	case v.IsNull():
		c.add(Error, CodeEmptyValue, f.At(), fmt.Sprintf("`%s` has no value; expected a string", f.Key))
		return "", false
	case v.Kind != workflow.Scalar:
		c.add(Error, CodeWrongType, v.At(), fmt.Sprintf("`%s` must be a string, found %s", f.Key, v.Kind))
		return "", false
	case strings.TrimSpace(v.Value) == "":
		c.add(Error, CodeEmptyValue, v.At(), fmt.Sprintf("`%s` is empty; expected a non-empty string", f.Key))
		return "", false
	}
	return v.Value, true
}

func (c *wfChecker) task(t *workflow.Task) {
	n := t.Node
	if n.Kind != workflow.Mapping {
		c.add(Error, CodeWrongType, n.At(), fmt.Sprintf("task %d must be a mapping of keys (`name:`, `type:`, ...), found %s", t.Index+1, n.Kind))
		return
	}
	tpl := c.template(t)
	c.keys(t, tpl)
	c.missingKeys(t, tpl)
	for _, f := range n.Fields {
		c.value(t, tpl, f)
	}
}

// template validates `type:` and returns the task's template, or nil.
func (c *wfChecker) template(t *workflow.Task) *templates.Template {
	f := t.Field("type")
	if f == nil {
		return nil
	}
	name, ok := c.stringValue(f)
	if !ok {
		return nil
	}
	if tpl, ok := c.reg.Lookup(name); ok {
		return tpl
	}
	msg := fmt.Sprintf("unknown template `%s`; expected one of %s", name, list(c.reg.Names()))
	var fixes []Fix
	if best, ok := closest(name, c.reg.Names()); ok {
		msg = fmt.Sprintf("unknown template `%s`; did you mean `%s`? (templates: %s)", name, best, list(c.reg.Names()))
		if f.Value.Via.IsZero() {
			fixes = append(fixes, c.edit("Change to `"+best+"`", f.Value.Range, best))
		}
	}
	c.add(Error, CodeUnknownType, f.Value.At(), msg, fixes...)
	return nil
}

func taskKeyNames(tpl *templates.Template) []string {
	var out []string
	for _, k := range workflow.Keys() {
		if k.Scope == workflow.Common && k.Replacement == "" {
			out = append(out, k.Key)
		}
		if k.Scope == workflow.TemplateKey && (tpl == nil || tpl.KeyRole(k.Key) != "") {
			out = append(out, k.Key)
		}
	}
	return out
}

// keys reports unknown, deprecated and unused keys of a task.
func (c *wfChecker) keys(t *workflow.Task, tpl *templates.Template) {
	for _, f := range t.Node.Fields {
		spec, ok := workflow.LookupKey(f.Key, true)
		switch {
		case !ok:
			c.unknownKey(f, taskKeyNames(tpl), "in task "+t.Label())
		case spec.Replacement != "":
			c.deprecated(t, f, spec)
		case spec.Scope == workflow.TemplateKey && tpl != nil:
			switch tpl.KeyRole(f.Key) {
			case "":
				d := c.add(Hint, CodeUnusedKey, f.At(), fmt.Sprintf("`%s` is not used by template `%s`; it has no effect here", f.Key, tpl.Name), c.removeField(f))
				d.Unnecessary = true
			case "unused":
				d := c.add(Hint, CodeUnusedKey, f.At(), fmt.Sprintf("`%s` is accepted but not used by template `%s` (it does not publish); it has no effect", f.Key, tpl.Name), c.removeField(f))
				d.Unnecessary = true
			}
		}
	}
}

func (c *wfChecker) removeField(f *workflow.Field) Fix {
	if !f.Via.IsZero() {
		return Fix{}
	}
	return c.edit("Remove `"+f.Key+"`", c.linesOf(f.Whole()), "")
}

// linesOf widens r to whole lines, line breaks included.
func (c *wfChecker) linesOf(r span.Range) span.Range {
	m := c.f.Mapper
	end := r.End
	if end > r.Start {
		end--
	}
	return span.Range{Start: m.LineStart(m.LineOf(r.Start)), End: m.LineStart(m.LineOf(end) + 1)}
}

func (c *wfChecker) deprecated(t *workflow.Task, f *workflow.Field, spec workflow.KeySpec) {
	msg := fmt.Sprintf("`%s` is the original PELATO's spelling; use `%s:` with a list", f.Key, spec.Replacement)
	var fixes []Fix
	if t.Field(spec.Replacement) != nil {
		msg = fmt.Sprintf("`%s` is deprecated and `%s` is also set; remove `%s`", f.Key, spec.Replacement, f.Key)
		fixes = append(fixes, c.removeField(f))
	} else if f.Via.IsZero() && f.Value.Via.IsZero() {
		switch v := f.Value; {
		case v.Kind == workflow.Scalar && !v.IsNull():
			val := "[" + c.f.Mapper.Text(v.Range) + "]"
			fixes = append(fixes, Fix{Title: "Change to `" + spec.Replacement + ": " + val + "`", Edits: []TextEdit{
				{File: c.f.Path, Range: span.Range{Start: f.KeyRange.Start, End: v.Range.End}, NewText: spec.Replacement + ": " + val}}})
		case v.Kind == workflow.Sequence:
			fixes = append(fixes, c.edit("Rename to `"+spec.Replacement+"`", f.KeyRange, spec.Replacement))
		}
	}
	d := c.add(Warning, CodeDeprecatedKey, f.At(), msg, fixes...)
	d.Deprecated = true
}

// missingKeys reports missing required keys of a task.
func (c *wfChecker) missingKeys(t *workflow.Task, tpl *templates.Template) {
	var missing []string
	for _, k := range c.required {
		if t.Field(k) != nil || (k == "targets" && t.Field("target") != nil) {
			continue
		}
		missing = append(missing, k)
	}
	if tpl != nil {
		for _, k := range tpl.Keys.Required {
			if t.Field(k) == nil {
				missing = append(missing, k)
			}
		}
	}
	for _, k := range missing {
		if misspelled(t.Node, k) {
			continue // the unknown-key diagnostic already proposes the rename
		}
		spec, _ := workflow.LookupKey(k, true)
		why := ""
		if spec.Scope == workflow.TemplateKey {
			why = fmt.Sprintf(" (template `%s` needs it)", tpl.Name)
		}
		c.add(Error, CodeMissingKey, c.firstKeyRange(t.Node),
			fmt.Sprintf("task %s is missing required key `%s`%s: %s", t.Label(), k, why, firstSentence(spec.Description)),
			c.insertKey(t.Node, k, placeholder(t, k)))
	}
}

// misspelled reports whether mapping n has an unknown key whose nearest known key is key.
func misspelled(n *workflow.Node, key string) bool {
	for _, f := range n.Fields {
		if _, known := workflow.LookupKey(f.Key, true); known {
			continue
		}
		if _, known := workflow.LookupKey(f.Key, false); known {
			continue
		}
		if best, ok := closest(f.Key, []string{key}); ok && best == key {
			return true
		}
	}
	return false
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// placeholder proposes a value for a missing key, as YAML text.
func placeholder(t *workflow.Task, key string) string {
	comp := t.Str("component_name")
	if comp == "" {
		comp = "my_task"
	}
	switch key {
	case "name":
		return strconv.Quote(comp)
	case "type":
		return "processor_nats"
	case "code":
		return comp + ".go"
	case "targets":
		return "[edge]"
	case "source_topic":
		return comp + ".in"
	case "dest_topic":
		return comp + ".out"
	case "component_name":
		return suggestComponent(t.Str("name"))
	case "version":
		return "1.0.0"
	case "bucket":
		return comp
	}
	spec, _ := workflow.LookupKey(key, true)
	return spec.Example
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '-' {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// suggestComponent turns a display name into a valid component_name.
func suggestComponent(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			sep = false
		} else {
			sep = true
		}
	}
	if b.Len() == 0 {
		return "my_task"
	}
	return b.String()
}

// insertKey proposes inserting `key: value` as the last entry of block mapping n.
func (c *wfChecker) insertKey(n *workflow.Node, key, value string) Fix {
	if n.Kind != workflow.Mapping || len(n.Fields) == 0 || !n.Via.IsZero() {
		return Fix{}
	}
	m := c.f.Mapper
	first := n.Fields[0].KeyRange.Start
	if c.f.Content[n.Range.Start] == '{' {
		return Fix{}
	}
	line := m.LineOf(first)
	if first < m.LineStart(line) || !isBlank(c.f.Content[m.LineStart(line):first]) {
		return Fix{} // the first key does not start its line (`- name:`): indent by columns
	}
	indent := strings.Repeat(" ", first-m.LineStart(line))
	last := m.LineOf(max(n.Range.End-1, first))
	at := m.LineEnd(last)
	nl := "\n"
	if at < len(c.f.Content) && c.f.Content[at] == '\r' {
		nl = "\r\n"
	}
	return c.edit("Add `"+key+": "+value+"`", span.Range{Start: at, End: at}, nl+indent+key+": "+value)
}

// value checks the value of one task key.
func (c *wfChecker) value(t *workflow.Task, tpl *templates.Template, f *workflow.Field) {
	spec, ok := workflow.LookupKey(f.Key, true)
	if !ok || spec.Key == "type" || (spec.Scope == workflow.TemplateKey && tpl != nil && tpl.KeyRole(f.Key) == "") {
		return
	}
	switch spec.Type {
	case workflow.String:
		s, ok := c.stringValue(f)
		if !ok {
			return
		}
		c.stringRule(t, tpl, f, s)
	case workflow.StringList:
		c.targets(f)
	case workflow.Int:
		c.intValue(f, spec)
	case workflow.StringMap:
		c.config(f)
	}
}

func (c *wfChecker) stringRule(t *workflow.Task, tpl *templates.Template, f *workflow.Field, s string) {
	at := f.Value.At()
	switch f.Key {
	case "code":
		c.code(t, tpl, f, s)
	case "component_name":
		if componentRE.MatchString(s) {
			return
		}
		if low := strings.ToLower(s); componentRE.MatchString(low) {
			c.add(Error, CodeUppercaseComp, at, fmt.Sprintf("component_name `%s` has uppercase letters; OCI repository names are lowercase: use `%s`", s, low),
				c.valueEdit(f, "Lowercase to `"+low+"`", low))
			return
		}
		msg := fmt.Sprintf("component_name `%s` is not valid: use lowercase ASCII letters and digits separated by single `.`, `_` or `-`", s)
		if !isASCII(s) {
			c.add(Error, CodeBadComponent, at, msg)
			return
		}
		sug := suggestComponent(s)
		c.add(Error, CodeBadComponent, at, msg+fmt.Sprintf(" (e.g. `%s`)", sug), c.valueEdit(f, "Change to `"+sug+"`", sug))
	case "version":
		switch {
		case strings.EqualFold(s, "latest"):
			c.add(Error, CodeBadVersion, at, "version must not be `latest`: wadm needs a unique version per deploy and pelato never pushes `latest`; use x.y.z, e.g. 1.0.0")
		case !versionRE.MatchString(s):
			if base, meta, ok := strings.Cut(s, "+"); ok && versionRE.MatchString(base) {
				d := c.add(Error, CodeBadVersion, at, fmt.Sprintf("version `%s` has build metadata (`+%s`): the version is the component's OCI tag, and a tag cannot hold `+`; drop it (`%s`) or make it a pre-release (`%s-%s`)", s, meta, base, base, strings.ReplaceAll(meta, "+", ".")))
				d.Fixes = []Fix{{Title: "Drop the build metadata", Edits: []TextEdit{{File: c.f.Path, Range: at, NewText: base}}}}
				break
			}
			c.add(Error, CodeBadVersion, at, fmt.Sprintf("version `%s` is not a semantic version x.y.z (e.g. 1.0.0, 2.1.0-rc.1)", s))
		case len(s) > workflow.MaxVersionLength:
			c.add(Error, CodeBadVersion, at, fmt.Sprintf("version is %d characters long: it is the component's OCI tag, which holds at most %d; shorten the pre-release part", len(s), workflow.MaxVersionLength))
		}
	case "source_topic":
		if p := subjectProblem(s, true); p != "" {
			c.add(Error, CodeBadSubject, at, fmt.Sprintf("source_topic `%s` is not a valid NATS subject: %s", s, p))
		}
	case "dest_topic":
		if p := subjectProblem(s, true); p != "" {
			c.add(Error, CodeBadSubject, at, fmt.Sprintf("dest_topic `%s` is not a valid NATS subject: %s", s, p))
		} else if p := subjectProblem(s, false); p != "" {
			c.add(Error, CodeWildcardDest, at, fmt.Sprintf("dest_topic `%s`: %s", s, p))
		}
	case "bucket":
		if !bucketRE.MatchString(s) {
			c.add(Error, CodeBadBucket, at, fmt.Sprintf("bucket `%s` is not a valid NATS KV bucket name: use letters, digits, `-` and `_`", s))
		}
	case "target":
		if !labelRE.MatchString(s) {
			c.add(Error, CodeBadTargets, at, fmt.Sprintf("target label `%s` is not valid: use letters, digits, `.`, `_` and `-`", s))
		}
	}
}

func (c *wfChecker) valueEdit(f *workflow.Field, title, text string) Fix {
	if !f.Value.Via.IsZero() {
		return Fix{}
	}
	return c.edit(title, f.Value.Range, text)
}

func (c *wfChecker) targets(f *workflow.Field) {
	v := f.Value
	switch {
	case v.IsNull():
		c.add(Error, CodeBadTargets, f.At(), "`targets` has no value; list at least one host-type label, e.g. `[edge]`")
		return
	case v.Kind == workflow.Scalar:
		c.add(Error, CodeWrongType, v.At(), fmt.Sprintf("`targets` must be a list; write `[%s]`", v.Value),
			c.valueEdit(f, "Change to `["+v.Value+"]`", "["+c.f.Mapper.Text(v.Range)+"]"))
		return
	case v.Kind != workflow.Sequence:
		c.add(Error, CodeWrongType, v.At(), "`targets` must be a list of host-type labels, found "+v.Kind.String())
		return
	case len(v.Items) == 0:
		c.add(Error, CodeBadTargets, v.At(), "`targets` is empty; list at least one host-type label, e.g. `[edge]`")
		return
	}
	seen := map[string]*workflow.Node{}
	for _, it := range v.Items {
		if it.Kind != workflow.Scalar || it.IsNull() {
			c.add(Error, CodeWrongType, it.At(), "each target must be a label string, found "+it.Kind.String())
			continue
		}
		if !labelRE.MatchString(it.Value) {
			c.add(Error, CodeBadTargets, it.At(), fmt.Sprintf("target label `%s` is not valid: use letters, digits, `.`, `_` and `-`", it.Value))
		}
		if first, dup := seen[it.Value]; dup {
			d := c.add(Error, CodeBadTargets, it.At(), fmt.Sprintf("target `%s` is listed twice; targets must be distinct", it.Value))
			d.Related = []Related{{File: c.f.Path, Range: first.At(), Message: "first listed here"}}
			continue
		}
		seen[it.Value] = it
	}
}

func (c *wfChecker) intValue(f *workflow.Field, spec workflow.KeySpec) {
	v := f.Value
	code := CodeBadInstances
	if f.Key == "http_port" {
		code = CodeBadPort
	}
	if v.IsNull() {
		c.add(Error, CodeEmptyValue, f.At(), fmt.Sprintf("`%s` has no value; expected %s (default %s)", f.Key, spec.Type, spec.Default))
		return
	}
	if v.Kind != workflow.Scalar || v.Tag != "!!int" {
		c.add(Error, CodeWrongType, v.At(), fmt.Sprintf("`%s` must be %s from %d to %d", f.Key, spec.Type, spec.Minimum, spec.Maximum))
		return
	}
	n, err := strconv.ParseInt(v.Value, 0, 64)
	if err != nil || n < int64(spec.Minimum) || n > int64(spec.Maximum) {
		c.add(Error, code, v.At(), fmt.Sprintf("`%s` is %s; expected a whole number from %d to %d", f.Key, v.Value, spec.Minimum, spec.Maximum))
	}
}

func (c *wfChecker) config(f *workflow.Field) {
	v := f.Value
	if v.IsNull() {
		return
	}
	if v.Kind != workflow.Mapping {
		c.add(Error, CodeBadConfig, v.At(), "`config` must be a mapping of names to string values, found "+v.Kind.String())
		return
	}
	for _, e := range v.Fields {
		if e.Value.Kind != workflow.Scalar {
			c.add(Error, CodeBadConfig, e.Value.At(), fmt.Sprintf("config value `%s` must be a string, found %s", e.Key, e.Value.Kind))
		}
		for _, reserved := range wadm.ReservedConfigKeys() {
			if e.Key == reserved {
				c.add(Error, CodeBadConfig, e.At(), fmt.Sprintf("config key `%s` is reserved: set the task's `%s` instead", e.Key, e.Key))
			}
		}
	}
}

// code checks the `code:` path: inside tasks/, existing, a .go file or a folder of them.
func (c *wfChecker) code(t *workflow.Task, tpl *templates.Template, f *workflow.Field, s string) {
	at := f.Value.At()
	clean := path.Clean(filepath.ToSlash(s))
	if filepath.IsAbs(s) || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(s, "\\") || (len(s) > 1 && s[1] == ':') {
		c.add(Error, CodeCodeEscapes, at, fmt.Sprintf("code `%s` must be a path inside tasks/ (no `..`, no absolute path)", s))
		return
	}
	if c.opts.Root == "" {
		return
	}
	tasksDir := filepath.Join(c.opts.Root, workflow.TasksDir)
	full := filepath.Join(tasksDir, filepath.FromSlash(clean))
	isDir, link, err := c.stat(tasksDir, full, clean)
	if err != nil {
		kind := templates.KindString
		if tpl != nil {
			kind = tpl.Kind
		}
		msg := fmt.Sprintf("task code `tasks/%s` does not exist", clean)
		near := c.nearbyFile(tasksDir, clean)
		if near != "" {
			msg += "; did you mean `" + near + "`?"
		}
		var fixes []Fix
		if strings.HasSuffix(clean, ".go") {
			fixes = append(fixes, Fix{Title: "Create tasks/" + clean + " with an exec_task stub",
				Create: &CreateFile{File: workflow.TasksDir + "/" + clean, Content: TaskStub(kind, t.Str("name"))}})
		}
		if near != "" && f.Value.Via.IsZero() {
			fixes = append(fixes, c.edit("Change to `"+near+"`", f.Value.Range, near))
		}
		c.add(Error, CodeCodeMissing, at, msg, fixes...)
		return
	}
	if link {
		if c.realTasks == "" {
			c.realTasks, _ = filepath.EvalSymlinks(tasksDir)
		}
		real, err := filepath.EvalSymlinks(full)
		if err == nil && c.realTasks != "" && real != c.realTasks && !strings.HasPrefix(real, c.realTasks+string(filepath.Separator)) {
			c.add(Error, CodeCodeEscapes, at, fmt.Sprintf("code `%s` is a symbolic link that leads out of tasks/; copy the code into tasks/", s))
			return
		}
	}
	if isDir {
		goFiles, _ := filepath.Glob(filepath.Join(full, "*.go"))
		if len(goFiles) == 0 {
			c.add(Error, CodeBadCodeKind, at, fmt.Sprintf("task folder `tasks/%s` holds no .go files", clean))
		}
		return
	}
	if !strings.HasSuffix(clean, ".go") {
		c.add(Error, CodeBadCodeKind, at, fmt.Sprintf("code `%s` is not a .go file; point it at a Go file or a folder of Go files under tasks/", s))
	}
}

// stat reports whether the code path full (clean, relative to tasks/) exists, is a
// folder, and may pass through a symbolic link. A top-level name is answered from one
// listing of tasks/ per check (no system call per task); a nested path is stat'ed.
func (c *wfChecker) stat(tasksDir, full, clean string) (isDir, link bool, err error) {
	if !strings.Contains(clean, "/") {
		e, ok := c.listing(tasksDir)[clean]
		switch {
		case !ok:
			return false, false, fs.ErrNotExist
		case e.Type()&fs.ModeSymlink == 0:
			return e.IsDir(), false, nil
		}
	}
	st, err := os.Stat(full)
	if err != nil {
		return false, false, err
	}
	return st.IsDir(), true, nil // a nested path or a link: EvalSymlinks decides
}

// suggestionBudget bounds the edit-distance comparisons the did-you-mean of missing
// code paths makes in one check: 10 000 tasks naming missing files in a tasks/ of
// 10 000 entries would otherwise cost 10⁸ comparisons. Past it, messages carry no
// suggestion.
const suggestionBudget = 100_000

// nearbyFile returns the existing task file or folder nearest to name, if any is
// near. The listing of tasks/ is read once per check; candidates whose length alone
// puts them too far are skipped without a comparison.
func (c *wfChecker) nearbyFile(tasksDir, name string) string {
	if c.nearNames == nil {
		c.nearNames = []string{}
		entries, _ := os.ReadDir(tasksDir)
		for _, e := range entries {
			if e.IsDir() || strings.HasSuffix(e.Name(), ".go") {
				c.nearNames = append(c.nearNames, e.Name())
			}
		}
	}
	if c.suggestions <= 0 {
		return ""
	}
	limit := max(2, len(name)/3)
	var candidates []string
	for _, n := range c.nearNames {
		if abs(len(n)-len(name)) <= limit {
			if len(candidates) == c.suggestions {
				c.suggestions = 0 // too many to compare: no more suggestions this check
				return ""
			}
			candidates = append(candidates, n)
		}
	}
	c.suggestions -= len(candidates)
	best, ok := closest(name, candidates)
	if !ok || best == name {
		return ""
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// TaskStub returns the source of a new task file whose exec_task has the signature of
// kind, documented with the task's display name.
func TaskStub(kind templates.Kind, name string) string {
	doc := "exec_task is called with each message's body; its result is published."
	if name != "" {
		doc = "exec_task runs the task " + strconv.Quote(name) + ": it is called with each message's body and its result is published."
	}
	if kind == templates.KindKV {
		return "package main\n\n// exec_task runs the task: it is called with each message's key and data and returns\n// the key and value to store.\nfunc exec_task(key string, data string) (string, string) {\n\treturn key, data\n}\n"
	}
	return "package main\n\n// " + doc + "\nfunc exec_task(arg string) string {\n\treturn arg\n}\n"
}

// taskAt names task t for a message about another task: its name (or position in
// the list) and the line of at (`task "Filter" (the 2nd task, line 17)`).
func (c *wfChecker) taskAt(t *workflow.Task, at span.Range) string {
	line := c.f.Mapper.Point(at.Start).Line
	if n := t.Str("name"); n != "" {
		return fmt.Sprintf("task %q (task %d, line %d)", n, t.Index+1, line)
	}
	return fmt.Sprintf("task %d (line %d)", t.Index+1, line)
}

// crossTask runs the rules that involve several tasks.
func (c *wfChecker) crossTask() {
	tasks := c.w.Tasks
	type seen struct {
		task  *workflow.Task
		field *workflow.Field
	}
	comps := map[string]seen{}
	names := map[string]*workflow.Field{}
	type listener struct {
		task *workflow.Task
		port int
		at   span.Range
	}
	ports := map[string]listener{}
	for _, t := range tasks {
		if t.Node.Kind != workflow.Mapping {
			continue
		}
		if f := t.Field("component_name"); f != nil && f.Value.Kind == workflow.Scalar && f.Value.Value != "" {
			// Names are compared as wadm application names, where `.` becomes `_`.
			key := wadm.AppName(strings.ToLower(f.Value.Value))
			if first, dup := comps[key]; dup {
				other := c.taskAt(first.task, first.field.Value.At())
				msg := fmt.Sprintf("component_name `%s` is already used by %s; component names must be unique (they name the OCI repository and the wadm application)", f.Value.Value, other)
				if first.field.Value.Value != f.Value.Value {
					msg = fmt.Sprintf("component_name `%s` gives the same wadm application name (`%s`) as `%s` of %s; make them differ in more than `.`/`_` or case", f.Value.Value, key, first.field.Value.Value, other)
				}
				d := c.add(Error, CodeDupComponent, f.Value.At(), msg)
				d.Related = []Related{{File: c.f.Path, Range: first.field.Value.At(), Message: "first used here, by " + other}}
			} else {
				comps[key] = seen{t, f}
			}
		}
		if f := t.Field("name"); f != nil && f.Value.Kind == workflow.Scalar && f.Value.Value != "" {
			if first, dup := names[f.Value.Value]; dup {
				d := c.add(Warning, CodeDupTaskName, f.Value.At(), fmt.Sprintf("task name %q is already used by another task (line %d); names appear in logs and wadm descriptions", f.Value.Value, c.f.Mapper.Point(first.Value.At().Start).Line))
				d.Related = []Related{{File: c.f.Path, Range: first.Value.At(), Message: "first used here"}}
			} else {
				names[f.Value.Value] = f
			}
		}
		tpl, ok := c.reg.Lookup(t.Str("type"))
		if !ok || !tpl.HTTP || c.platform == workflow.PlatformWasmCloud2 {
			continue // on wasmcloud2 hosts route by Host header: PL307 (platform.go)
		}
		port, at := workflow.DefaultHTTPPort, t.Field("type").Value.At()
		if f := t.Field("http_port"); f != nil {
			p, ok := t.Int("http_port")
			if !ok {
				continue
			}
			port, at = p, f.Value.At()
		}
		for _, target := range t.Targets() {
			key := target + ":" + strconv.Itoa(port)
			if first, clash := ports[key]; clash && first.task != t {
				d := c.add(Error, CodePortClash, at, fmt.Sprintf("HTTP producers %s and %s both listen on port %d on target `%s`: on a host they would both bind it; set another `http_port` on one of them", first.task.Label(), t.Label(), port, target))
				d.Related = []Related{{File: c.f.Path, Range: first.at, Message: "the other listener"}}
			} else if !clash {
				ports[key] = listener{t, port, at}
			}
		}
	}
	c.graph()
}

type edgeTask struct {
	t        *workflow.Task
	src, dst *workflow.Field
}

// Bounds of the PL302 report: a cycle is reported once, on its first task, listing
// at most maxCycleNames tasks and pointing at most maxCycleRelated others.
const (
	maxCycleNames   = 8
	maxCycleRelated = 8
)

// graph checks the topic graph: self loops, cycles and dangling ends. Its cost is
// linear in the tasks and in the (subject, pattern) matches: tasks are linked through
// one node per distinct dest_topic and one per distinct source_topic, so that n tasks
// consuming one wildcard make n edges, not n².
func (c *wfChecker) graph() {
	var nodes []edgeTask
	for _, t := range c.w.Tasks {
		if t.Node.Kind != workflow.Mapping {
			continue
		}
		e := edgeTask{t: t}
		if f := t.Field("source_topic"); f != nil && f.Value.Kind == workflow.Scalar && subjectProblem(f.Value.Value, true) == "" {
			e.src = f
		}
		tpl, ok := c.reg.Lookup(t.Str("type"))
		if f := t.Field("dest_topic"); f != nil && f.Value.Kind == workflow.Scalar && subjectProblem(f.Value.Value, false) == "" && (!ok || tpl.Publishes) {
			e.dst = f
		}
		nodes = append(nodes, e)
	}
	g := newTopicGraph(nodes)
	for i, a := range nodes {
		if a.src != nil && a.dst != nil && subjectMatches(a.src.Value.Value, a.dst.Value.Value) {
			c.add(Error, CodeSelfLoop, a.dst.Value.At(), fmt.Sprintf("task %s publishes to `%s`, which its own source_topic `%s` consumes: every result would trigger it again, forever; publish to another subject", a.t.Label(), a.dst.Value.Value, a.src.Value.Value)).Related =
				[]Related{{File: c.f.Path, Range: a.src.Value.At(), Message: "consumed here"}}
		}
		if a.dst != nil && !g.consumed[g.subjectOf[i]] {
			c.add(Hint, CodeExternalDest, a.dst.Value.At(), fmt.Sprintf("no task consumes `%s`: it is an output of the workflow, read outside it", a.dst.Value.Value))
		}
		if a.src != nil && !g.produced[g.patternOf[i]] {
			c.add(Hint, CodeExternalSource, a.src.Value.At(), fmt.Sprintf("no task produces `%s`: it is an input of the workflow, fed from outside it", a.src.Value.Value))
		}
	}
	for _, comp := range sccs(g.adj) {
		var members []int // task indexes of the component, in file order
		for _, v := range comp {
			if v < len(nodes) {
				members = append(members, v)
			}
		}
		if len(members) < 2 {
			continue // no cycle, or a self loop (PL301)
		}
		sort.Ints(members)
		c.cycle(nodes, g, members)
	}
}

// cycle reports one cycle of tasks (a strongly connected group of members, sorted) on
// its first task: the shortest loop through that task, named, and how many tasks
// feed each other in all.
func (c *wfChecker) cycle(nodes []edgeTask, g *topicGraph, members []int) {
	first := members[0]
	loop := g.shortestLoop(first, members)
	var labels []string
	for i, v := range loop {
		if i == maxCycleNames {
			labels = append(labels, fmt.Sprintf("… (%d more)", len(loop)-maxCycleNames))
			break
		}
		labels = append(labels, nodes[v].t.Label())
	}
	labels = append(labels, nodes[first].t.Label())
	msg := fmt.Sprintf("tasks %s form a cycle through their topics: messages may circulate forever", strings.Join(labels, " → "))
	if len(members) > len(loop) {
		msg += fmt.Sprintf(" (%d tasks in all feed each other in this loop)", len(members))
	}
	d := c.add(Warning, CodeCycle, nodes[first].dst.Value.At(), msg)
	for _, v := range loop[1:] {
		if len(d.Related) == maxCycleRelated {
			break
		}
		d.Related = append(d.Related, Related{File: c.f.Path, Range: nodes[v].dst.Value.At(), Message: "part of the cycle"})
	}
}

// topicGraph links tasks through their subjects. Vertices 0..n-1 are the tasks, then
// one per distinct dest_topic (a subject), then one per distinct source_topic (a
// pattern). A task points at its subject, a subject at every pattern matching it, a
// pattern at every task consuming it.
type topicGraph struct {
	adj       [][]int
	subjectOf []int  // task → its subject vertex, or -1
	patternOf []int  // task → its pattern vertex, or -1
	consumed  []bool // by vertex: a subject some pattern matches
	produced  []bool // by vertex: a pattern some subject matches
}

func newTopicGraph(nodes []edgeTask) *topicGraph {
	n := len(nodes)
	g := &topicGraph{subjectOf: make([]int, n), patternOf: make([]int, n)}
	subjects, patterns := map[string]int{}, map[string]int{}
	var subjectNames, patternNames []string
	next := n
	for i, e := range nodes {
		g.subjectOf[i], g.patternOf[i] = -1, -1
		if e.dst != nil {
			s := e.dst.Value.Value
			if _, ok := subjects[s]; !ok {
				subjects[s] = len(subjectNames)
				subjectNames = append(subjectNames, s)
			}
		}
		if e.src != nil {
			p := e.src.Value.Value
			if _, ok := patterns[p]; !ok {
				patterns[p] = len(patternNames)
				patternNames = append(patternNames, p)
			}
		}
	}
	firstSubject := next
	firstPattern := firstSubject + len(subjectNames)
	total := firstPattern + len(patternNames)
	g.adj = make([][]int, total)
	g.consumed, g.produced = make([]bool, total), make([]bool, total)
	for i, e := range nodes {
		if e.dst != nil {
			g.subjectOf[i] = firstSubject + subjects[e.dst.Value.Value]
			g.adj[i] = append(g.adj[i], g.subjectOf[i])
		}
		if e.src != nil {
			g.patternOf[i] = firstPattern + patterns[e.src.Value.Value]
			g.adj[g.patternOf[i]] = append(g.adj[g.patternOf[i]], i)
		}
	}
	// Match every subject against the patterns: exact ones by lookup, wildcards
	// through a token trie, so a subject costs what its matches cost.
	trie := &patternTrie{}
	for k, p := range patternNames {
		if strings.ContainsAny(p, "*>") {
			trie.insert(p, firstPattern+k)
		}
	}
	for k, s := range subjectNames {
		sv := firstSubject + k
		if pk, ok := patterns[s]; ok {
			g.link(sv, firstPattern+pk)
		}
		trie.match(s, func(pv int) { g.link(sv, pv) })
	}
	return g
}

func (g *topicGraph) link(subject, pattern int) {
	g.adj[subject] = append(g.adj[subject], pattern)
	g.consumed[subject], g.produced[pattern] = true, true
}

// shortestLoop returns the tasks of a shortest loop from task start back to it,
// within the group members (start first), by breadth-first search.
func (g *topicGraph) shortestLoop(start int, members []int) []int {
	in := make(map[int]bool, len(members))
	for _, m := range members {
		in[m] = true
	}
	prev := map[int]int{start: -1}
	queue := []int{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range g.adj[v] {
			if w < len(g.subjectOf) && !in[w] {
				continue // a task outside the group
			}
			if w == start {
				var loop []int
				for u := v; u != -1; u = prev[u] {
					if u < len(g.subjectOf) {
						loop = append(loop, u)
					}
				}
				slices.Reverse(loop)
				return loop
			}
			if _, seen := prev[w]; !seen {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return []int{start}
}

// patternTrie indexes NATS subject patterns by token, as NATS's own sublist does.
type patternTrie struct {
	children map[string]*patternTrie
	ends     []int // vertices of patterns ending here
	rest     []int // vertices of patterns ending here with `>`
}

func (t *patternTrie) insert(pattern string, v int) {
	node := t
	for _, tok := range strings.Split(pattern, ".") {
		if tok == ">" {
			node.rest = append(node.rest, v)
			return
		}
		if node.children == nil {
			node.children = map[string]*patternTrie{}
		}
		child := node.children[tok]
		if child == nil {
			child = &patternTrie{}
			node.children[tok] = child
		}
		node = child
	}
	node.ends = append(node.ends, v)
}

// match calls found for every pattern matching the concrete subject.
func (t *patternTrie) match(subject string, found func(int)) {
	tok, rest, more := strings.Cut(subject, ".")
	for _, v := range t.rest {
		found(v) // `>` matches one or more remaining tokens
	}
	for _, key := range [2]string{tok, "*"} {
		child := t.children[key]
		if child == nil || (key == "*" && tok == "*") {
			continue
		}
		if more {
			child.match(rest, found)
		} else {
			for _, v := range child.ends {
				found(v)
			}
		}
	}
}

// sccs returns the strongly connected components of a graph (Tarjan's algorithm).
func sccs(adj [][]int) [][]int {
	index, low := make([]int, len(adj)), make([]int, len(adj))
	on := make([]bool, len(adj))
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]int
	next := 0
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		on[v] = true
		for _, w := range adj[v] {
			if index[w] < 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				on[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			out = append(out, comp)
		}
	}
	for v := range adj {
		if index[v] < 0 {
			visit(v)
		}
	}
	return out
}
