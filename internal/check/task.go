package check

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/scanner"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pelato-dev/pelato/internal/goimporter"
	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/taskcode"
	"github.com/pelato-dev/pelato/internal/userfile"
	"github.com/pelato-dev/pelato/templates"
)

// TaskCheckerOptions configure a TaskChecker.
type TaskCheckerOptions struct {
	// Imports is the import cache to use; nil means a new one built from
	// ImporterOptions. Share one cache between checkers of the same process.
	Imports *goimporter.Cache
	// ImporterOptions configure the cache made when Imports is nil.
	ImporterOptions goimporter.Options
	// MaxFileSize is the largest task file checked, in bytes; 0 means
	// taskcode.MaxFileSize.
	MaxFileSize int64
	// MemoSize bounds the memo of results; 0 means 512 entries, negative disables it.
	// A check of more tasks at once (CheckAll, CheckReady) raises the bound to twice
	// their number (at most maxMemoSize), so that re-checking a large workflow finds
	// every unchanged task in the memo instead of evicting them in turn.
	MemoSize int
}

// maxMemoSize bounds how far a large check raises the memo's bound (a memo entry is a
// task's diagnostics: a few hundred bytes for a clean task).
const maxMemoSize = 50_000

// TaskChecker type-checks task Go code. It is safe for concurrent use; it holds the
// import cache and a memo of recent results, keyed by the files' contents, the
// template's signature and the resolution of the imports.
type TaskChecker struct {
	imports     *goimporter.Cache
	ownsImports bool // made by NewTaskChecker: Close closes it
	maxSize     int64

	mu       sync.Mutex // guards memo, memoKeys and sigs
	memoSize int
	memo     map[string]*taskMemo
	memoKeys []string // insertion order, for eviction
	sigs     map[string]*expectedSig
	// fixedMemo keeps memoSize as configured (benchmarks compare with it).
	fixedMemo bool
}

// fitMemo raises the memo's bound to hold the results of a check of n tasks twice
// over (the last check's and the next one's), so a re-check of n unchanged tasks hits.
func (c *TaskChecker) fitMemo(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.memoSize > 0 && !c.fixedMemo {
		c.memoSize = max(c.memoSize, min(2*n, maxMemoSize))
	}
}

// NewTaskChecker returns a TaskChecker.
func NewTaskChecker(opts TaskCheckerOptions) *TaskChecker {
	c := &TaskChecker{imports: opts.Imports, maxSize: opts.MaxFileSize, memoSize: opts.MemoSize}
	if c.imports == nil {
		c.imports = goimporter.New(opts.ImporterOptions)
		c.ownsImports = true
	}
	if c.maxSize <= 0 {
		c.maxSize = taskcode.MaxFileSize
	}
	if c.memoSize == 0 {
		c.memoSize = 512
	}
	c.memo = map[string]*taskMemo{}
	c.sigs = map[string]*expectedSig{}
	return c
}

// Imports returns the checker's import cache.
func (c *TaskChecker) Imports() *goimporter.Cache { return c.imports }

// Close ends the background loads of the checker's import cache (a `go list -export`
// still compiling after the checks were answered from source) when the checker made
// the cache; a cache given in TaskCheckerOptions.Imports is its owner's to close. The
// checker must not be used afterwards.
func (c *TaskChecker) Close() {
	if c.ownsImports {
		c.imports.Close()
	}
}

// TaskRequest names one task to check.
type TaskRequest struct {
	// Root is the absolute project root.
	Root string
	// Code is the task's `code:` value: a .go file or a folder, relative to tasks/.
	Code string
	// Template is the template's name, used in messages ("" for none).
	Template string
	// TemplateNote, when set, follows the template's name in messages: it says why
	// that template was assumed (the task names one that does not exist).
	TemplateNote string
	// Signature is the exec_task declaration the template calls, as Go source such as
	// `func exec_task(arg string) string`; "" skips the signature rules.
	Signature string
	// Kind is the template's exec_task shape.
	Kind templates.Kind
	// Overlay returns unsaved editor text for an absolute path, or false to read the
	// disk; nil reads the disk only. A folder task's file list comes from the disk.
	Overlay func(path string) ([]byte, bool)
	// Files reads the disk through a cache (FileMode); nil reads every file.
	Files *FileCache
}

// Location is a place in a project file.
type Location struct {
	// File is relative to the project root, with forward slashes.
	File string `json:"file"`
	// Range is a byte range in File's content.
	Range span.Range `json:"range"`
}

// TaskResult is the outcome of checking one task.
type TaskResult struct {
	// Diagnostics are sorted, with `// pelato:ignore` comments applied. They may be
	// shared with other results: treat them as read-only.
	Diagnostics []Diagnostic
	// Files are the files checked, relative to the root, with forward slashes.
	Files []string
	// Contents holds the content of each checked file as it was read, by its relative
	// path, so ranges can be mapped to lines and columns.
	Contents map[string][]byte
	// ExecTask is where exec_task is declared, or nil.
	ExecTask *Location
	// Key identifies the check's inputs (the files' contents, the signature and the
	// import resolution): two requests with the same Key get the same diagnostics,
	// except for the template name in PL405 messages. "" when the task was not read.
	Key string
	// Err is set when the check stopped early: ctx ended, or the go command could not
	// run. The diagnostics are then incomplete.
	Err error
	// Pending reports that the task was not type-checked because the type information
	// of its imports is still being loaded (CheckReady): it has no diagnostics yet.
	Pending bool
}

// taskFile is one file of a task.
type taskFile struct {
	rel     string // relative to the root, forward slashes
	abs     string
	content []byte
	tok     *token.File
	ast     *ast.File
	empty   bool // only white space
	badUTF8 int  // offset of the first invalid byte, or -1
}

// taskJob is a task read from disk, before type checking.
type taskJob struct {
	req     TaskRequest
	rel     string // the task's path relative to the root (file or folder)
	isDir   bool
	files   []*taskFile
	diags   []Diagnostic
	imports []string // import paths to resolve
	err     error
}

type taskMemo struct {
	diags    []Diagnostic
	execTask *Location
}

// Check checks one task. It never panics; problems with the task are diagnostics.
func (c *TaskChecker) Check(ctx context.Context, req TaskRequest) TaskResult {
	if err := ctx.Err(); err != nil {
		return TaskResult{Err: err}
	}
	job := c.prepare(req)
	return c.finish(ctx, job, nil)
}

// CheckAll checks several tasks, loading the union of their imports with one go
// command run per project root before checking them concurrently. Results are in the
// order of reqs.
func (c *TaskChecker) CheckAll(ctx context.Context, reqs []TaskRequest) []TaskResult {
	c.fitMemo(len(reqs))
	same := sameRequests(reqs)
	jobs := make([]*taskJob, len(reqs))
	byRoot := map[string][]string{}
	for i, r := range reqs {
		if same[i] != i {
			continue
		}
		jobs[i] = c.prepare(r)
		byRoot[r.Root] = append(byRoot[r.Root], jobs[i].imports...)
	}
	// One load per root for the union; each check then resolves its own subset from
	// the cache. A failure here is reported by the checks themselves.
	for root, paths := range byRoot {
		_, _ = c.imports.Resolve(ctx, root, paths)
	}
	return shareResults(c.finishAll(ctx, jobs), same)
}

// sameRequests returns, for each request, the index of the first request that asks
// for the same check: tasks sharing a file and a template (a workflow of thousands
// of tasks may name one file) are read and checked once.
func sameRequests(reqs []TaskRequest) []int {
	type reqKey struct{ root, code, template, signature, kind string }
	first := make(map[reqKey]int, len(reqs))
	same := make([]int, len(reqs))
	for i, r := range reqs {
		k := reqKey{r.Root, r.Code, r.Template, r.Signature, string(r.Kind)}
		if j, ok := first[k]; ok {
			same[i] = j
			continue
		}
		first[k], same[i] = i, i
	}
	return same
}

// shareResults copies each checked request's result to the requests that asked for
// the same check (see sameRequests).
func shareResults(out []TaskResult, same []int) []TaskResult {
	for i, j := range same {
		if j != i {
			out[i] = out[j]
		}
	}
	return out
}

// finishAll type-checks jobs concurrently, on at most GOMAXPROCS goroutines.
func (c *TaskChecker) finishAll(ctx context.Context, jobs []*taskJob) []TaskResult {
	out := make([]TaskResult, len(jobs))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	batch := c.imports.Batch() // the toolchain and go.mod looked at once, not per task
	var wg sync.WaitGroup
	for i := range jobs {
		if jobs[i] == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = c.finish(ctx, jobs[i], batch)
		}(i)
	}
	wg.Wait()
	return out
}

// CheckReady is CheckAll without waiting for the go command: tasks whose imports'
// type information is loaded are checked; the others are left Pending, and the loads
// they need start in the background (one go command per project root, as CheckAll).
// loading is closed when those loads end — checking the pending tasks again then
// answers without waiting — and is nil when no task is pending.
func (c *TaskChecker) CheckReady(ctx context.Context, reqs []TaskRequest) (results []TaskResult, loading <-chan struct{}) {
	c.fitMemo(len(reqs))
	same := sameRequests(reqs)
	jobs := make([]*taskJob, len(reqs))
	byRoot := map[string][]string{}
	for i, r := range reqs {
		if same[i] != i {
			continue
		}
		jobs[i] = c.prepare(r)
		byRoot[r.Root] = append(byRoot[r.Root], jobs[i].imports...)
	}
	var waits []<-chan struct{}
	for root, paths := range byRoot {
		if done, err := c.imports.Pending(ctx, root, paths); err == nil && done != nil {
			waits = append(waits, done)
		}
	}
	results = make([]TaskResult, len(reqs))
	var readyIdx []int
	for i, job := range jobs {
		if job == nil {
			continue // shares the result of an earlier request
		}
		if len(waits) > 0 && job.err == nil && len(job.files) > 0 && !c.imports.Ready(job.req.Root, job.imports) {
			results[i] = TaskResult{Pending: true, Contents: map[string][]byte{}}
			for _, f := range job.files {
				results[i].Files = append(results[i].Files, f.rel)
				results[i].Contents[f.rel] = f.content
			}
			continue
		}
		readyIdx = append(readyIdx, i)
	}
	for k, r := range c.finishAll(ctx, jobsAt(jobs, readyIdx)) {
		results[readyIdx[k]] = r
	}
	results = shareResults(results, same)
	if len(waits) == 0 {
		return results, nil
	}
	all := make(chan struct{})
	go func() {
		for _, w := range waits {
			<-w
		}
		close(all)
	}()
	return results, all
}

// jobsAt returns jobs[i] for each index.
func jobsAt(jobs []*taskJob, idx []int) []*taskJob {
	out := make([]*taskJob, len(idx))
	for k, i := range idx {
		out[k] = jobs[i]
	}
	return out
}

// prepare reads the task's files and learns their imports cheaply.
func (c *TaskChecker) prepare(req TaskRequest) *taskJob {
	job := &taskJob{req: req}
	code := strings.TrimSpace(filepath.ToSlash(req.Code))
	clean := path.Clean("/" + code)
	if code == "" || clean == "/" || strings.HasPrefix(code, "/") || strings.Contains("/"+code+"/", "/../") {
		job.err = fmt.Errorf("task code %q is not a path under tasks/", req.Code)
		return job
	}
	job.rel = "tasks" + clean
	abs := filepath.Join(req.Root, filepath.FromSlash(job.rel))

	if req.Overlay != nil {
		if b, ok := req.Overlay(abs); ok {
			job.addFile(job.rel, abs, b)
			job.learnImports()
			return job
		}
	}
	st, err := req.Files.stat(abs)
	if err != nil {
		job.unreadable(job.rel, err)
		return job
	}
	if !st.IsDir() {
		b, err := req.Files.read(abs, c.maxSize)
		if err != nil {
			job.unreadable(job.rel, err)
			return job
		}
		job.addFile(job.rel, abs, b)
		job.learnImports()
		return job
	}

	job.isDir = true
	entries, err := req.Files.readDir(abs)
	if err != nil {
		job.unreadable(job.rel, err)
		return job
	}
	for _, e := range entries {
		name := e.Name()
		if !taskcode.IsSource(e) {
			continue
		}
		fabs := filepath.Join(abs, name)
		frel := job.rel + "/" + name
		var b []byte
		var ok bool
		if req.Overlay != nil {
			b, ok = req.Overlay(fabs)
		}
		if !ok {
			if b, err = req.Files.read(fabs, c.maxSize); err != nil {
				job.unreadable(frel, err)
				continue
			}
		}
		if excludedByConstraint(b) {
			continue
		}
		job.addFile(frel, fabs, b)
	}
	if len(job.files) == 0 && len(job.diags) == 0 {
		d := Diagnostic{File: job.rel, Severity: Error, Code: CodeNoExecTask,
			Message: fmt.Sprintf("task folder %s has no Go files (test files and files excluded by build constraints do not count); add one that declares package main and exec_task", job.rel)}
		if stub := stubFile(req.Signature); stub != "" {
			d.Fixes = []Fix{{Title: "Create " + job.rel + "/task.go with exec_task", Create: &CreateFile{File: job.rel + "/task.go", Content: stub}}}
		}
		job.diags = append(job.diags, d)
	}
	job.learnImports()
	return job
}

func (job *taskJob) addFile(rel, abs string, b []byte) {
	f := &taskFile{rel: rel, abs: abs, content: b, badUTF8: -1}
	f.empty = len(bytes.TrimSpace(b)) == 0
	if !utf8.Valid(b) {
		f.badUTF8 = firstInvalidUTF8(b)
	}
	job.files = append(job.files, f)
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

func (job *taskJob) unreadable(rel string, err error) {
	var reason string
	var refused *userfile.Error
	switch {
	case errors.As(err, &refused) && errors.Is(err, userfile.ErrTooLarge):
		job.tooLarge(rel, refused.Size, refused.Limit)
		return
	case errors.As(err, &refused):
		// Not a regular file (a FIFO, a device, a link to one): never read.
		reason = strings.TrimPrefix(refused.Reason, "is ")
		job.diags = append(job.diags, Diagnostic{File: rel, Severity: Error, Code: CodeTaskUnreadable,
			Message: fmt.Sprintf("cannot read %s: it is %s", rel, reason)})
		return
	case errors.Is(err, fs.ErrNotExist):
		reason = "it does not exist (deleted or renamed?)"
	case errors.Is(err, fs.ErrPermission):
		reason = "permission denied"
	default:
		reason = err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			reason = pe.Err.Error()
		}
	}
	job.diags = append(job.diags, Diagnostic{File: rel, Severity: Error, Code: CodeTaskUnreadable,
		Message: fmt.Sprintf("cannot read %s: %s", rel, reason)})
}

func (job *taskJob) tooLarge(rel string, size, max int64) {
	job.diags = append(job.diags, Diagnostic{File: rel, Severity: Error, Code: CodeTaskUnreadable,
		Message: fmt.Sprintf("%s is too large to check (%d bytes; the limit is %d): a task file this size is almost certainly generated by mistake", rel, size, max)})
}

// learnImports parses the files' import declarations only.
func (job *taskJob) learnImports() {
	fset := token.NewFileSet()
	for _, f := range job.files {
		if f.empty {
			continue
		}
		if imports, ok := job.req.Files.importsOf(f.abs, f.content); ok {
			job.imports = append(job.imports, imports...)
			continue
		}
		af, _ := parser.ParseFile(fset, f.abs, f.content, parser.ImportsOnly|parser.SkipObjectResolution)
		if af == nil {
			continue
		}
		var imports []string
		for _, spec := range af.Imports {
			if p, err := strconv.Unquote(spec.Path.Value); err == nil && p != "C" && !isRelativeImport(p) {
				imports = append(imports, p)
			}
		}
		job.imports = append(job.imports, imports...)
		job.req.Files.setImports(f.abs, f.content, imports)
	}
}

func isRelativeImport(p string) bool {
	return p == "." || p == ".." || strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/")
}

// taskImportOf reports whether import path p names a folder under the module's tasks/
// folder, and which.
func taskImportOf(p, module string) (string, bool) {
	if module == "" {
		return "", false
	}
	if rest, ok := strings.CutPrefix(p, module+"/"); ok && (rest == "tasks" || strings.HasPrefix(rest, "tasks/")) {
		return rest, true
	}
	return "", false
}

// excludedByConstraint reports whether a file's //go:build line excludes it from a
// TinyGo wasip2 build. `//go:build ignore` does not exclude (gopls users add it), nor
// does anything pelato cannot judge.
func excludedByConstraint(content []byte) bool {
	for len(content) > 0 {
		line := content
		if i := bytes.IndexByte(content, '\n'); i >= 0 {
			line, content = content[:i], content[i+1:]
		} else {
			content = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !bytes.HasPrefix(line, []byte("//")) {
			return false // past the header comments
		}
		if !constraint.IsGoBuild(string(line)) {
			continue
		}
		expr, err := constraint.Parse(string(line))
		if err != nil {
			return false
		}
		return !expr.Eval(func(tag string) bool {
			switch tag {
			case "ignore", "tinygo", "wasip2", "wasm", "purego", "wasm_unknown", "math_big_pure_go":
				return true
			}
			return strings.HasPrefix(tag, "go1.")
		})
	}
	return false
}

// memoKey hashes everything a check's outcome depends on.
func memoKey(job *taskJob, resolution string) string {
	h := sha256.New()
	fmt.Fprintf(h, "sig %q\nkind %q\nres %q\n", job.req.Signature, job.req.Kind, resolution)
	for _, f := range job.files {
		fmt.Fprintf(h, "file %q %d\n", f.rel, len(f.content))
		h.Write(f.content)
	}
	for _, d := range job.diags {
		fmt.Fprintf(h, "diag %s %s %q\n", d.File, d.Code, d.Message)
	}
	return hex.EncodeToString(h.Sum(nil))
}

const templatePlaceholder = "\x00template\x00"

// finish resolves the imports, consults the memo and type-checks.
func (c *TaskChecker) finish(ctx context.Context, job *taskJob, batch *goimporter.Batch) TaskResult {
	res := TaskResult{Contents: map[string][]byte{}}
	for _, f := range job.files {
		res.Files = append(res.Files, f.rel)
		res.Contents[f.rel] = f.content
	}
	if job.err != nil {
		res.Err = job.err
		return res
	}
	if len(job.files) == 0 {
		res.Diagnostics = append([]Diagnostic(nil), job.diags...)
		Sort(res.Diagnostics)
		return res
	}
	resolve := c.imports.Resolve
	if batch != nil {
		resolve = batch.Resolve
	}
	im, err := resolve(ctx, job.req.Root, job.imports)
	if err != nil {
		res.Err = fmt.Errorf("load the imports of %s: %w", job.rel, err)
		return res
	}
	res.Key = memoKey(job, im.Key())
	if m, ok := c.memoGet(res.Key); ok {
		res.Diagnostics, res.ExecTask = c.render(m.diags, job.req), m.execTask
		return res
	}
	if err := ctx.Err(); err != nil {
		res.Err = err
		return res
	}
	tc := &taskCheck{c: c, job: job, im: im, diags: append([]Diagnostic(nil), job.diags...)}
	tc.run()
	for _, f := range job.files {
		tc.diags = SuppressGo(tc.diags, f.rel, f.content)
	}
	Sort(tc.diags)
	c.memoPut(res.Key, &taskMemo{diags: tc.diags, execTask: tc.execTask})
	res.Diagnostics, res.ExecTask = c.render(tc.diags, job.req), tc.execTask
	return res
}

// render fills in the template name (and note) of PL405 messages.
func (c *TaskChecker) render(ds []Diagnostic, req TaskRequest) []Diagnostic {
	name := "the template"
	if req.Template != "" {
		name = "template " + req.Template
	}
	name += req.TemplateNote
	var out []Diagnostic
	for i, d := range ds {
		if strings.Contains(d.Message, templatePlaceholder) {
			if out == nil {
				out = append([]Diagnostic(nil), ds...)
			}
			out[i].Message = strings.ReplaceAll(d.Message, templatePlaceholder, name)
		}
	}
	if out == nil {
		return ds
	}
	return out
}

func (c *TaskChecker) memoGet(key string) (*taskMemo, bool) {
	if c.memoSize < 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.memo[key]
	return m, ok
}

func (c *TaskChecker) memoPut(key string, m *taskMemo) {
	if c.memoSize < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.memo[key]; ok {
		return
	}
	for len(c.memoKeys) >= c.memoSize {
		delete(c.memo, c.memoKeys[0])
		c.memoKeys = c.memoKeys[1:]
	}
	c.memo[key] = m
	c.memoKeys = append(c.memoKeys, key)
}

// tokenEnd returns the end of the Go token starting at byte offset off of src, or off
// when no token starts there.
func tokenEnd(src []byte, off int) int {
	if off < 0 || off >= len(src) {
		return off
	}
	end := min(len(src), off+512)
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, end-off)
	var s scanner.Scanner
	s.Init(file, src[off:end], func(token.Position, string) {}, scanner.ScanComments)
	pos, tok, lit := s.Scan()
	if tok == token.EOF || !pos.IsValid() || (tok == token.SEMICOLON && lit != ";") {
		return off
	}
	start := off + file.Offset(pos)
	if start != off {
		return off
	}
	n := len(lit)
	if n == 0 {
		n = len(tok.String())
	}
	if tok == token.ILLEGAL && n == 0 {
		_, n = utf8.DecodeRune(src[off:])
	}
	return min(start+n, end)
}

// SuppressGo removes from ds the diagnostics of the Go file `file` (relative path) that
// its suppression comments silence: `// pelato:ignore CODE[,CODE...]` alone on the line
// above a diagnostic's first line (or trailing that line), and
// `// pelato:ignore-file CODE[,CODE...]` anywhere in the file. The word `all` matches
// every code; text after the codes is a free reason. Diagnostics of other files pass
// through. It shares its rules with Suppress, which serves workflow.yaml ("#").
func SuppressGo(ds []Diagnostic, file string, content []byte) []Diagnostic {
	return Suppress(ds, file, content, "//")
}
