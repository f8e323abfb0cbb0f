package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/plural"
	"github.com/pelato-dev/pelato/internal/taskcode"
	"github.com/pelato-dev/pelato/internal/userfile"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// GenDir is the folder, under a project, that pelato generates into.
const GenDir = "gen"

// MarkerFile marks a gen/ folder as pelato's; pelato never touches a gen/ without it.
const MarkerFile = ".pelato-gen"

// RecordFile, inside each component folder, records what generated it.
const RecordFile = ".pelato-record.json"

// maxRecordSize bounds the record file read back from a component folder.
const maxRecordSize = 1 << 20

// genWorkers bounds how many components are generated at once.
const genWorkers = 8

// DefaultRegistry is used for image references when REGISTRY_URL is not set.
const DefaultRegistry = "localhost:5000"

// GenOptions configures Gen.
type GenOptions struct {
	// Root is the project folder.
	Root string
	// Tasks selects tasks by component_name or name; empty means every task.
	Tasks []string
	// Registry is REGISTRY_URL; empty means DefaultRegistry.
	Registry string
	// Templates is the template registry; nil means the embedded one.
	Templates *templates.Registry
	// Overlay supplies unsaved editor text (see check.Options).
	Overlay func(path string) ([]byte, bool)
	// TaskChecker type-checks task code; nil creates one (a long-lived process such as
	// the language server passes its own, so imports are loaded once).
	TaskChecker *check.TaskChecker
	// Reporter receives progress; nil means Discard.
	Reporter Reporter
	// AllowGoGenerate copies //go:generate lines of task files into the generated
	// projects, where `wash build` runs them (`go generate ./...`). Without it a task
	// file holding one is not generated: its component fails with a message saying
	// where the line is (check reports it as PL413). It is a user's choice (a flag),
	// never a workflow.yaml key: a cloned project must not decide what runs when its
	// user builds it.
	AllowGoGenerate bool
	// Platform is the platform to generate for (workflow.Platforms()); "" means the
	// workflow's `platform:` key (workflow.ResolvePlatform).
	Platform string

	// writeFile writes one new file; nil means writeFileSync. Tests inject failures.
	writeFile func(path string, data []byte) error
	// holdLock keeps gen/'s lock when Gen succeeds: the result's release lets it go.
	// Build holds it while its containers write under gen/.
	holdLock bool
	// beforeWrite, when set, runs once the project has passed its check and before
	// gen/ is touched; its error stops Gen. Build finds its builder there.
	beforeWrite func() error
}

// Record is the machine-readable record of what generated a component folder.
type Record struct {
	Generator       string   `json:"generator"`
	Template        string   `json:"template"`
	TemplateVersion int      `json:"template_version"`
	InputHash       string   `json:"input_hash"`
	Files           []string `json:"files"`
	// Renamed maps a task file whose name the template also generates to the name
	// of its copy.
	Renamed map[string]string `json:"renamed,omitempty"`
	// Sources maps each copied task file (name in the folder) to its source path
	// relative to the project (tasks/convert.go), so build errors can point there.
	Sources map[string]string `json:"sources,omitempty"`
	// Platform is the platform the folder was generated for (workflow.Platforms());
	// a record written before platforms existed has none: GenPlatform reads that as
	// workflow.PlatformWasmCloud1.
	Platform string `json:"platform,omitempty"`
}

// GenPlatform returns the platform the folder was generated for.
func (r Record) GenPlatform() string {
	if r.Platform == "" {
		return workflow.PlatformWasmCloud1
	}
	return r.Platform
}

// ReadRecord reads the record of gen/<component>/ under the project root.
// It does not follow symbolic links (the folder may have been a build container's).
func ReadRecord(root, component string) (Record, error) {
	rec, err := readGenRecord(filepath.Join(root, GenDir, component))
	if err != nil {
		return Record{}, fmt.Errorf("gen/%s: %w (run pelato gen)", component, err)
	}
	return rec, nil
}

// PlatformMismatchError says a component folder was generated for another platform
// than the one a command works for.
type PlatformMismatchError struct {
	Component string
	// Generated is the platform of the folder, Want the command's.
	Generated, Want string
}

// Error says what to run.
func (e *PlatformMismatchError) Error() string {
	return fmt.Sprintf("gen/%s was generated for %s; run pelato gen --platform %s", e.Component, e.Generated, e.Want)
}

// CheckPlatform returns a *PlatformMismatchError when gen/<component>/ under root
// was generated for another platform than want, and the error of ReadRecord when it
// has no readable record.
func CheckPlatform(root, component, want string) error {
	rec, err := ReadRecord(root, component)
	if err != nil {
		return err
	}
	if got := rec.GenPlatform(); got != want {
		return &PlatformMismatchError{Component: component, Generated: got, Want: want}
	}
	return nil
}

// platformMismatch is CheckPlatform for commands that also work on folders without a
// gen record (written by hand or by an older pelato): it returns only a
// *PlatformMismatchError, nil for a missing or unreadable record.
func platformMismatch(root, component, want string) error {
	var mismatch *PlatformMismatchError
	if err := CheckPlatform(root, component, want); errors.As(err, &mismatch) {
		return mismatch
	}
	return nil
}

// placeTaskFiles chooses the name of each task file's copy in a component folder
// whose generated files are files: its own name, unless a generated file (or an
// earlier choice) has it — compared without case, as on macOS and Windows file
// systems — and then task_<name>, task2_<name>, ... The result depends only on the
// names: names must be sorted, and a task file keeping its own name is placed before
// any renamed one takes a name.
func placeTaskFiles(files map[string][]byte, names []string) map[string]string {
	used := make(map[string]bool, len(files)+len(names))
	for n := range files {
		used[strings.ToLower(n)] = true
	}
	placed := make(map[string]string, len(names))
	var clashing []string
	for _, n := range names {
		if used[strings.ToLower(n)] {
			clashing = append(clashing, n)
			continue
		}
		used[strings.ToLower(n)] = true
		placed[n] = n
	}
	for _, n := range clashing {
		for i := 1; ; i++ {
			dst := "task_" + n
			if i > 1 {
				dst = fmt.Sprintf("task%d_%s", i, n)
			}
			if !used[strings.ToLower(dst)] {
				used[strings.ToLower(dst)] = true
				placed[n] = dst
				break
			}
		}
	}
	return placed
}

// Component is the outcome of generating one task.
type Component struct {
	ComponentName string `json:"component_name"`
	Task          string `json:"task"`
	Dir           string `json:"dir"`
	// Changed is false when the folder already held identical output (nothing written).
	Changed bool   `json:"changed"`
	Files   int    `json:"files"`
	Hash    string `json:"input_hash"`
	Err     string `json:"error,omitempty"`
}

// GenResult is the outcome of Gen.
type GenResult struct {
	Components []Component   `json:"components"`
	Duration   time.Duration `json:"duration_ns"`
	// Stale lists component folders under gen/ that no task of the workflow names.
	Stale []string `json:"stale,omitempty"`

	// release lets go of gen/'s lock that Gen kept (GenOptions.holdLock); nil otherwise.
	release func()
}

// Summary says what Gen did, in one line: "generated 1 component, 1 unchanged", or
// "gen/ is up to date: 2 components unchanged" when nothing was written.
func (r *GenResult) Summary() string {
	written, unchanged, failed := 0, 0, r.Failed()
	for _, c := range r.Components {
		switch {
		case c.Err != "":
		case c.Changed:
			written++
		default:
			unchanged++
		}
	}
	if written == 0 && failed == 0 {
		if unchanged == 0 {
			return "nothing to generate"
		}
		return "gen/ is up to date: " + plural.Count(unchanged, "component") + " unchanged"
	}
	parts := []string{"generated " + plural.Count(written, "component")}
	if unchanged > 0 {
		parts = append(parts, strconv.Itoa(unchanged)+" unchanged")
	}
	if failed > 0 {
		parts = append(parts, strconv.Itoa(failed)+" failed")
	}
	return strings.Join(parts, ", ")
}

// Failed counts the components that could not be generated.
func (r *GenResult) Failed() int {
	n := 0
	for _, c := range r.Components {
		if c.Err != "" {
			n++
		}
	}
	return n
}

// CheckFailedError is returned when the project has errors: nothing was generated.
type CheckFailedError struct {
	Result *check.Result
}

func (e *CheckFailedError) Error() string {
	n := check.Count(e.Result.Diagnostics)[check.Error]
	them := "them"
	if n == 1 {
		them = "it"
	}
	return fmt.Sprintf("the project has %s; fix %s first (pelato check lists every problem)", plural.Count(n, "error"), them)
}

// Gen checks the project and, when it has no errors, writes gen/<component_name>/ for
// each selected task. Each component is written atomically; unchanged output is not
// rewritten; a gen/ folder pelato did not create is never touched.
func Gen(ctx context.Context, opts GenOptions) (*GenResult, error) {
	start := time.Now()
	rep := opts.Reporter
	if rep == nil {
		rep = Discard
	}
	if opts.Templates == nil {
		opts.Templates = templates.Default()
	}
	if opts.Registry == "" {
		opts.Registry = DefaultRegistry
	}
	if _, err := workflow.ResolvePlatform(opts.Platform, nil); err != nil {
		return nil, err
	}
	res, err := check.Project(ctx, check.Options{Root: opts.Root, Registry: opts.Templates, Overlay: opts.Overlay, Tasks: opts.TaskChecker, Platform: opts.Platform})
	if err != nil {
		return nil, err
	}
	if check.HasErrors(res.Diagnostics) {
		return nil, &CheckFailedError{Result: res}
	}
	if opts.Platform, err = workflow.ResolvePlatform(opts.Platform, res.Workflow); err != nil {
		return nil, err
	}
	tasks, err := selectTasks(res.Workflow, opts.Tasks)
	if err != nil {
		return nil, err
	}
	if opts.beforeWrite != nil {
		if err := opts.beforeWrite(); err != nil {
			return nil, err
		}
	}
	genDir := filepath.Join(opts.Root, GenDir)
	if err := claimGenDir(genDir); err != nil {
		return nil, err
	}
	command := "pelato gen"
	if opts.holdLock {
		command = "pelato build"
	}
	unlock, err := LockGen(ctx, opts.Root, command, rep)
	if err != nil {
		return nil, err
	}
	kept := false
	defer func() {
		if !kept {
			unlock()
		}
	}()
	if n, err := cleanTemporaries(genDir); err != nil {
		return nil, err
	} else if n > 0 {
		rep.Event(Event{Kind: Log, Level: "info", Message: fmt.Sprintf("removed %s that an interrupted run left in %s", plural.Count(n, "temporary folder"), genDir)})
	}
	rep.Event(Event{Kind: Begin, Title: fmt.Sprintf("Generating %s into %s", plural.Count(len(tasks), "component"), genDir), Total: len(tasks)})
	// Components are independent: render and write them on a bounded pool. Writing is
	// mostly file-system calls, which overlap well even on few cores.
	out := &GenResult{Components: make([]Component, len(tasks))}
	jobs := make(chan int)
	var wg sync.WaitGroup
	progress := &steps{rep: rep, total: len(tasks)}
	for range min(len(tasks), genWorkers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				c := genOne(opts, genDir, res.Workflow, tasks[i])
				out.Components[i] = c
				msg := "generated"
				switch {
				case c.Err != "":
					msg = "failed: " + c.Err
					rep.Event(Event{Kind: Log, Level: "error", Task: c.ComponentName, Message: c.Err})
				case !c.Changed:
					msg = "unchanged"
				}
				progress.step(Event{Task: c.ComponentName, Message: msg})
			}
		}()
	}
	for i := range tasks {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out.Stale = staleComponents(genDir, res.Workflow)
	for _, s := range out.Stale {
		rep.Event(Event{Kind: Log, Level: "warning", Task: s, Message: "gen/" + s + " belongs to no task of workflow.yaml any more; delete it if it is not needed"})
	}
	out.Duration = time.Since(start)
	var endErr error
	if n := out.Failed(); n > 0 {
		endErr = fmt.Errorf("%d of %s failed", n, plural.Count(len(tasks), "component"))
	}
	rep.Event(Event{Kind: End, Message: fmt.Sprintf("%s in %s", out.Summary(), out.Duration.Round(time.Millisecond)), Err: endErr})
	if opts.holdLock {
		kept, out.release = true, unlock
	}
	return out, nil
}

// UnknownTaskError is returned when a task is named (by component_name or name) that
// workflow.yaml does not have: a usage error, which lists the tasks it does have.
type UnknownTaskError struct {
	Name  string
	Tasks []string // the workflow's tasks, by Label
}

// Error names the task and the tasks there are.
func (e *UnknownTaskError) Error() string {
	return fmt.Sprintf("no task %q in workflow.yaml; tasks: %s", e.Name, strings.Join(e.Tasks, ", "))
}

func unknownTask(w *workflow.Workflow, name string) error {
	e := &UnknownTaskError{Name: name}
	for _, t := range w.Tasks {
		e.Tasks = append(e.Tasks, t.Label())
	}
	return e
}

// selectTasks returns the tasks named by keys (component or task names), or all.
func selectTasks(w *workflow.Workflow, keys []string) ([]*workflow.Task, error) {
	if len(keys) == 0 {
		return w.Tasks, nil
	}
	var out []*workflow.Task
	seen := map[*workflow.Task]bool{}
	for _, k := range keys {
		t, ok := w.Find(k)
		if !ok {
			return nil, unknownTask(w, k)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// claimGenDir creates gen/ with its marker, or checks that an existing gen/ has it.
// A new gen/ appears with its marker already inside (it is made under a temporary
// name and renamed), so a run starting at the same moment never sees it unmarked.
func claimGenDir(genDir string) error {
	marker := filepath.Join(genDir, MarkerFile)
	st, err := os.Stat(genDir)
	if errors.Is(err, fs.ErrNotExist) {
		tmp, terr := os.MkdirTemp(filepath.Dir(genDir), tmpPrefix+GenDir+"-")
		if terr != nil {
			return fmt.Errorf("create %s: %w", genDir, terr)
		}
		defer os.RemoveAll(tmp) // after a successful rename this is a no-op
		if err := os.WriteFile(filepath.Join(tmp, MarkerFile), []byte("This folder is written by `pelato gen`. Files here are replaced on every run.\n"), 0o644); err != nil {
			return fmt.Errorf("create %s: %w", genDir, err)
		}
		if err := os.Chmod(tmp, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", genDir, err)
		}
		if err := os.Rename(tmp, genDir); err == nil {
			return nil
		}
		// Another run made gen/ first: judge what is there now.
		st, err = os.Stat(genDir)
	}
	switch {
	case err != nil:
		return fmt.Errorf("gen: %w", err)
	case !st.IsDir():
		return fmt.Errorf("gen: %s exists and is not a folder; move it away so pelato can generate there", genDir)
	}
	if _, err := os.Stat(marker); err != nil {
		return fmt.Errorf("gen: %s was not created by pelato (no %s marker); pelato will not write into it or delete it: move it away, or create %s if it is pelato's", genDir, MarkerFile, marker)
	}
	return nil
}

// genOne renders one task into gen/<component_name>/; errors are recorded in the result.
func genOne(opts GenOptions, genDir string, w *workflow.Workflow, t *workflow.Task) Component {
	spec := t.Spec()
	c := Component{ComponentName: spec.ComponentName, Task: spec.Name, Dir: filepath.Join(genDir, spec.ComponentName)}
	files, rec, err := renderTask(opts, w, spec)
	if err == nil && !opts.AllowGoGenerate {
		err = refuseGoGenerate(files, rec)
	}
	if err == nil && len(rec.Renamed) > 0 && opts.Reporter != nil {
		for _, from := range slices.Sorted(maps.Keys(rec.Renamed)) {
			opts.Reporter.Event(Event{Kind: Log, Level: "info", Task: spec.ComponentName,
				Message: fmt.Sprintf("task file %s is copied as %s: the template generates a file of that name", from, rec.Renamed[from])})
		}
	}
	if err == nil {
		c.Hash, c.Files = rec.InputHash, len(files)
		write := opts.writeFile
		if write == nil {
			write = writeFileSync
		}
		c.Changed, err = writeComponent(c.Dir, files, write)
	}
	if err != nil {
		c.Err = err.Error()
	}
	return c
}

// GoGenerateError is a component's error when a task file holds a //go:generate line
// and GenOptions.AllowGoGenerate is not set.
type GoGenerateError struct {
	// Source is the task file (tasks/convert.go), Line the directive's line in the
	// copy gen would write, Command what it would run.
	Source  string
	Line    int
	Command string
}

// Error says what would run, and the two ways out.
func (e *GoGenerateError) Error() string {
	return fmt.Sprintf("%s has a //go:generate line (`%s`): wash build would run it at build time; pelato does not copy it into gen/ unless you pass --allow-go-generate (or remove the line; pelato check marks it, PL413)", e.Source, e.Command)
}

// refuseGoGenerate returns a GoGenerateError for the first //go:generate line of the
// task files among a component's files (the harness's own directive is pelato's and
// is not looked at).
func refuseGoGenerate(files map[string][]byte, rec Record) error {
	for _, name := range slices.Sorted(maps.Keys(rec.Sources)) {
		if ds := taskcode.GenerateDirectives(files[name]); len(ds) > 0 {
			return &GoGenerateError{Source: rec.Sources[name], Line: ds[0].Line, Command: ds[0].Command}
		}
	}
	return nil
}

// TaskFiles reads the files of a task's code (see internal/taskcode) through the
// overlay and returns the copies that go into the generated project, keyed by base
// name: a build-ignore constraint taken out and the file formatted with gofmt, so
// generated Go is gofmt-clean byte for byte (taskcode.Copy).
func TaskFiles(root, code string, overlay func(string) ([]byte, bool)) (map[string][]byte, error) {
	paths, err := taskcode.Files(filepath.Join(root, workflow.TasksDir, filepath.FromSlash(code)))
	if err != nil {
		return nil, fmt.Errorf("read task code: %w", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, ok := []byte(nil), false
		if overlay != nil {
			b, ok = overlay(p)
		}
		if !ok {
			if b, err = taskcode.Read(p); err != nil {
				return nil, fmt.Errorf("read task code: %w", err)
			}
		}
		if out[filepath.Base(p)], err = taskcode.Copy(b); err != nil {
			return nil, fmt.Errorf("copy task code %s: %w", p, err)
		}
	}
	return out, nil
}

// SourceHash returns the hash gen records in a manifest's annotations
// (wadm.AnnotationSourceHash): "sha256:" and the hex SHA-256 of the task's prepared
// code files, by name. A change of the code changes the manifest, so a deploy never
// keeps old code under a version wadm already has.
func SourceHash(code map[string][]byte) string {
	names := make([]string, 0, len(code))
	for n := range code {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(code[n]))
		h.Write(code[n])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// renderTask renders a task's component files and its record.
func renderTask(opts GenOptions, w *workflow.Workflow, spec workflow.Spec) (map[string][]byte, Record, error) {
	tpl, ok := opts.Templates.Lookup(spec.Type)
	if !ok {
		return nil, Record{}, fmt.Errorf("unknown template %q", spec.Type)
	}
	code, err := TaskFiles(opts.Root, spec.Code, opts.Overlay)
	if err != nil {
		return nil, Record{}, err
	}
	platform, err := workflow.ResolvePlatform(opts.Platform, w)
	if err != nil {
		return nil, Record{}, err
	}
	data := templates.Data{
		Platform: platform, HTTPHost: spec.HTTPHost,
		ProjectName: w.ProjectName(), Name: spec.Name, ComponentName: spec.ComponentName, Version: spec.Version,
		SourceTopic: spec.SourceTopic, DestTopic: spec.DestTopic, Bucket: spec.Bucket, Targets: spec.Targets,
		Instances: spec.Instances, HTTPPort: spec.HTTPPort, Config: spec.Config, Registry: strings.TrimSuffix(opts.Registry, "/"),
		SourceHash: SourceHash(code),
	}
	files, err := templates.Render(tpl, data)
	if err != nil {
		return nil, Record{}, err
	}
	placed := placeTaskFiles(files, slices.Sorted(maps.Keys(code)))
	renamed, sources := map[string]string{}, map[string]string{}
	for name, dst := range placed {
		files[dst] = code[name]
		if dst != name {
			renamed[name] = dst
		}
		src := path.Join(workflow.TasksDir, path.Clean(filepath.ToSlash(spec.Code)))
		if path.Base(src) != name || !strings.HasSuffix(src, ".go") {
			src = path.Join(src, name) // code is a folder
		}
		sources[dst] = src
	}
	h := sha256.New()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	rec := Record{Generator: "pelato", Template: tpl.Name, TemplateVersion: tpl.Version, InputHash: hex.EncodeToString(h.Sum(nil)), Files: names, Sources: sources, Platform: platform}
	if len(renamed) > 0 {
		rec.Renamed = renamed
	}
	recJSON, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, Record{}, err
	}
	files[RecordFile] = append(recJSON, '\n')
	return files, rec, nil
}

// writeComponent replaces dir with files atomically: it writes a sibling temporary
// folder and renames it into place. It reports false when dir already held exactly
// this output (nothing is written). It refuses to replace a folder it did not create.
func writeComponent(dir string, files map[string][]byte, write func(string, []byte) error) (bool, error) {
	if old, err := userfile.Read(filepath.Join(dir, RecordFile), maxRecordSize); err == nil {
		if bytes.Equal(old, files[RecordFile]) && sameFiles(dir, files) {
			return false, nil
		}
	} else if _, statErr := os.Lstat(dir); statErr == nil {
		return false, fmt.Errorf("%s exists but was not generated by pelato (no %s); move it away", dir, RecordFile)
	}
	parent := filepath.Dir(dir)
	tmp, err := os.MkdirTemp(parent, tmpPrefix+filepath.Base(dir)+"-")
	if err != nil {
		return false, fmt.Errorf("write %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp) // after a successful rename this is a no-op
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(tmp, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return false, fmt.Errorf("write %s: %w", dir, err)
		}
		if err := write(p, files[n]); err != nil {
			return false, fmt.Errorf("write %s: %w", path.Join(filepath.Base(dir), n), err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return false, err
	}
	if _, err := os.Lstat(dir); err == nil {
		old := tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return false, fmt.Errorf("replace %s: %w", dir, err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			_ = os.Rename(old, dir) // put the previous output back
			return false, fmt.Errorf("replace %s: %w", dir, err)
		}
		return true, os.RemoveAll(old)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return false, fmt.Errorf("write %s: %w", dir, err)
	}
	return true, nil
}

func writeFileSync(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// isBuildProduct reports whether a path of a component folder (slash-separated,
// relative to it) is written by the build rather than by generation: the artifact
// folder, the bindings wit-bindgen-go generates, the WIT dependencies wash fetches and
// the build record. Generation leaves them alone when it compares a folder with its
// output, so an unchanged component keeps its build.
func isBuildProduct(rel string) bool {
	switch rel {
	case "build", "gen", "wit/deps", "wit/deps.lock", "wit/deps.toml", BuildRecordFile:
		return true
	}
	return false
}

// sameFiles reports whether dir holds exactly files (besides build products).
func sameFiles(dir string, files map[string][]byte) bool {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if isBuildProduct(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		want, ok := files[filepath.ToSlash(rel)]
		if !ok || !d.Type().IsRegular() {
			return errors.New("extra file")
		}
		got, err := userfile.Read(p, int64(len(want)))
		if err != nil || !bytes.Equal(got, want) {
			return errors.New("differs")
		}
		n++
		return nil
	})
	return err == nil && n == len(files)
}

// staleComponents lists gen/ component folders (with a record) that no task names.
func staleComponents(genDir string, w *workflow.Workflow) []string {
	entries, err := os.ReadDir(genDir)
	if err != nil {
		return nil
	}
	names := map[string]bool{}
	for _, t := range w.Tasks {
		names[t.Str("component_name")] = true
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || names[e.Name()] || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(genDir, e.Name(), RecordFile)); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}
