package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pelato-dev/pelato/internal/plural"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/ociregistry"
	"github.com/pelato-dev/pelato/internal/userfile"
	"github.com/pelato-dev/pelato/internal/wasmcomponent"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/internal/workload"
	"github.com/pelato-dev/pelato/templates"
)

// pushWorkers bounds how many components are pushed at once.
const pushWorkers = 4

// PushOptions configures Push.
type PushOptions struct {
	// Root is the project folder.
	Root string
	// Tasks selects tasks by component_name or name; empty means every task.
	Tasks []string
	// Registry is REGISTRY_URL (host[:port][/path]); "" means DefaultRegistry, as
	// for the generated manifests.
	Registry string
	// Insecure allows plain HTTP to a registry that is not on the loopback.
	Insecure bool
	// Force replaces tags that point at other content.
	Force bool
	// Username and Password (REGISTRY_USER, REGISTRY_PASSWORD) are used when the
	// Docker configuration has no credential for the registry.
	Username, Password string
	// HTTPClient is the registry client's HTTP client; nil means the default.
	HTTPClient *http.Client
	// Templates is the template registry; nil means the embedded one.
	Templates *templates.Registry
	// Reporter receives progress; nil means Discard.
	Reporter Reporter
}

// Push statuses of a component.
const (
	StatusPushed    = "pushed"
	StatusUnchanged = "unchanged"
)

// PushedComponent is the outcome of pushing one component.
type PushedComponent struct {
	ComponentName string        `json:"component_name"`
	Task          string        `json:"task"`
	Status        string        `json:"status"`
	Reference     string        `json:"reference"`
	Digest        string        `json:"digest,omitempty"`
	Size          int64         `json:"size,omitempty"`
	BlobsUploaded int           `json:"blobs_uploaded"`
	Credentials   string        `json:"credentials,omitempty"`
	Duration      time.Duration `json:"duration_ns"`
	Err           string        `json:"error,omitempty"`
}

// PushResult is the outcome of Push.
type PushResult struct {
	Components []PushedComponent `json:"components"`
	Duration   time.Duration     `json:"duration_ns"`
}

// Failed counts the components that were not pushed.
func (r *PushResult) Failed() int {
	n := 0
	for _, c := range r.Components {
		if c.Status == StatusFailed || c.Status == StatusCancelled {
			n++
		}
	}
	return n
}

// Summary describes the result in one line.
func (r *PushResult) Summary() string {
	pushed, same := 0, 0
	for _, c := range r.Components {
		switch c.Status {
		case StatusPushed:
			pushed++
		case StatusUnchanged:
			same++
		}
	}
	s := fmt.Sprintf("%d pushed, %d already in the registry", pushed, same)
	if n := r.Failed(); n > 0 {
		s += fmt.Sprintf(", %d failed", n)
	}
	return s + " in " + r.Duration.Round(10*time.Millisecond).String()
}

// Push uploads each selected component's artifact (built by Build) to the registry
// as <registry>/<component_name>:<version> in the CNCF Wasm OCI layout. A component
// whose task changed since its build is refused (build it first), as is one never
// built. One failure does not stop the others.
func Push(ctx context.Context, opts PushOptions) (*PushResult, error) {
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
	registry := strings.TrimSuffix(opts.Registry, "/")
	// Workflow rules only: the task code was checked when it was built, and a task
	// changed since then is refused below.
	res, err := check.Project(ctx, check.Options{Root: opts.Root, Registry: opts.Templates, SkipTasks: true})
	if err != nil {
		return nil, err
	}
	if check.HasErrors(res.Diagnostics) {
		return nil, &CheckFailedError{Result: res}
	}
	tasks, err := selectTasks(res.Workflow, opts.Tasks)
	if err != nil {
		return nil, err
	}
	if err := (ociregistry.Reference{Registry: registry, Repository: "x", Tag: "0"}).Validate(); err != nil {
		return nil, err
	}
	pusher := ociregistry.NewPusher(ociregistry.Options{Insecure: opts.Insecure, Force: opts.Force,
		Username: opts.Username, Password: opts.Password, HTTPClient: opts.HTTPClient})
	total := len(tasks)
	rep.Event(Event{Kind: Begin, Title: fmt.Sprintf("Pushing %s to %s", plural.Count(total, "component"), registry), Total: total})
	out := &PushResult{Components: make([]PushedComponent, total)}
	var wg sync.WaitGroup
	progress := &steps{rep: rep, total: total}
	queue := make(chan int)
	for range min(pushWorkers, max(total, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queue {
				c := pushOne(ctx, opts, pusher, registry, res.Workflow, tasks[i])
				out.Components[i] = c
				ev := Event{Task: c.ComponentName}
				switch c.Status {
				case StatusPushed:
					ev.Message = fmt.Sprintf("pushed %s (%s, %s uploaded; credentials: %s)", c.Reference, HumanSize(c.Size), plural.Count(c.BlobsUploaded, "blob"), c.Credentials)
				case StatusUnchanged:
					ev.Message = c.Reference + " already holds this component"
				default:
					ev.Message, ev.Level, ev.Err = "failed: "+c.Err, "error", errors.New(c.Err)
				}
				progress.step(ev)
			}
		}()
	}
	for i := range tasks {
		if ctx.Err() != nil {
			break
		}
		queue <- i
	}
	close(queue)
	wg.Wait()
	for i, c := range out.Components {
		if c.Status == "" {
			spec := tasks[i].Spec()
			out.Components[i] = PushedComponent{ComponentName: spec.ComponentName, Task: spec.Name, Status: StatusCancelled, Err: "cancelled"}
		}
	}
	out.Duration = time.Since(start)
	var endErr error
	if ctx.Err() != nil {
		endErr = ctx.Err()
	} else if n := out.Failed(); n > 0 {
		endErr = fmt.Errorf("%d of %s not pushed", n, plural.Count(total, "component"))
	}
	rep.Event(Event{Kind: End, Message: out.Summary(), Err: endErr})
	return out, ctx.Err()
}

// pushOne pushes one task's artifact after checking that it is the build of the
// task as it is now.
func pushOne(ctx context.Context, opts PushOptions, pusher *ociregistry.Pusher, registry string, w *workflow.Workflow, t *workflow.Task) PushedComponent {
	start := time.Now()
	spec := t.Spec()
	ref := ociregistry.Reference{Registry: registry, Repository: spec.ComponentName, Tag: spec.Version}
	c := PushedComponent{ComponentName: spec.ComponentName, Task: spec.Name, Reference: ref.String()}
	fail := func(format string, args ...any) PushedComponent {
		c.Status, c.Err, c.Duration = StatusFailed, fmt.Sprintf(format, args...), time.Since(start)
		if ctx.Err() != nil {
			c.Status, c.Err = StatusCancelled, "cancelled"
		}
		return c
	}
	if ctx.Err() != nil {
		return fail("cancelled")
	}
	// Render for the platform gen/<c> was generated (and built) for, so the hash
	// compares like with like whatever the project's platform is now.
	platform := recordedPlatform(opts.Root, spec.ComponentName)
	_, now, err := renderTask(GenOptions{Root: opts.Root, Registry: registry, Templates: opts.Templates, Platform: platform}, w, spec)
	if err != nil {
		return fail("%v", err)
	}
	dir := filepath.Join(opts.Root, GenDir, spec.ComponentName)
	rec, ok := readBuildRecord(buildRecordPath(opts.Root, spec.ComponentName))
	art := Artifact(opts.Root, spec.ComponentName)
	switch {
	case !ok:
		return fail("not built yet: run `pelato build` first (or `pelato build --push`)")
	case rec.GenInputHash != now.InputHash:
		if other := builtForRegistry(opts, w, spec, rec); other != "" && other != registry {
			return fail("gen/%s and its build were made for registry %s (the image in its wadm.yaml), not %s: to push to %s, rebuild for it with `pelato build --registry %s --push` (or set REGISTRY_URL=%s in .env); to push where it was built for, use --registry %s",
				spec.ComponentName, other, registry, registry, registry, registry, other)
		}
		return fail("the task changed since it was built (or REGISTRY_URL did): run `pelato build` first (or `pelato build --push`)")
	}
	// Read without following links: the folder was a build container's.
	wasm, _, err := readConfined(dir, artifactRel(spec.ComponentName), wasmcomponent.MaxSize)
	if err != nil {
		return fail("read the artifact: %v", err)
	}
	sum := sha256.Sum256(wasm)
	if hex.EncodeToString(sum[:]) != rec.ArtifactSHA256 {
		return fail("%s changed since it was built: run `pelato build --force`", filepath.ToSlash(filepath.Join(GenDir, spec.ComponentName, BuildDir, filepath.Base(art))))
	}
	r, err := pusher.Push(ctx, ref, ociregistry.Artifact{Wasm: wasm, Imports: rec.Imports, Exports: rec.Exports, Created: rec.BuiltAt})
	if err != nil {
		return fail("%v", err)
	}
	c.Status, c.Digest, c.Size, c.BlobsUploaded, c.Credentials = StatusPushed, r.Digest, r.Size, r.BlobsUploaded, r.Credentials
	if r.Unchanged {
		c.Status = StatusUnchanged
	}
	c.Duration = time.Since(start)
	return c
}

// builtForRegistry returns the registry a component was generated and built for,
// when only the registry differs from what push was given: the registry of the image
// in gen/<c>/wadm.yaml, confirmed by rendering the task for it and finding the input
// hash the build recorded. It returns "" when that is not the cause.
func builtForRegistry(opts PushOptions, w *workflow.Workflow, spec workflow.Spec, rec buildRecord) string {
	platform := recordedPlatform(opts.Root, spec.ComponentName)
	var image string
	if platform == workflow.PlatformWasmCloud2 {
		wds, err := workload.ReadFile(filepath.Join(opts.Root, GenDir, spec.ComponentName, workload.FileName))
		if err != nil {
			return ""
		}
		image = wds[0].Spec.Template.Spec.Components[0].Image
	} else {
		data, err := userfile.Read(filepath.Join(opts.Root, GenDir, spec.ComponentName, templates.ManifestFile), maxManifestSize)
		if err != nil {
			return ""
		}
		image = imageOf(data)
	}
	other, ok := strings.CutSuffix(image, "/"+spec.ComponentName+":"+spec.Version)
	if !ok || other == "" {
		return ""
	}
	_, then, err := renderTask(GenOptions{Root: opts.Root, Registry: other, Templates: opts.Templates, Platform: platform}, w, spec)
	if err != nil || then.InputHash != rec.GenInputHash {
		return ""
	}
	return other
}

// recordedPlatform returns the platform gen/<component> was generated for, or ""
// (the workflow's) when it has no readable record.
func recordedPlatform(root, component string) string {
	if rec, err := ReadRecord(root, component); err == nil {
		return rec.GenPlatform()
	}
	return ""
}
