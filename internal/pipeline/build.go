package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pelato-dev/pelato/internal/lines"
	"github.com/pelato-dev/pelato/internal/plural"

	"github.com/pelato-dev/pelato/internal/builder"
	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/localbuild"
	"github.com/pelato-dev/pelato/internal/taskcode"
	"github.com/pelato-dev/pelato/internal/userfile"
	"github.com/pelato-dev/pelato/internal/wasmcomponent"
	"github.com/pelato-dev/pelato/templates"
)

// BuildRecordFile is where earlier versions kept the build record, inside the
// component folder — where a build container could forge it. It is no longer read
// (generation leaves an old one alone); see BuildRecordDir.
const BuildRecordFile = ".pelato-build.json"

// BuildRecordDir, in gen/, holds the record of each component's last successful
// build (<component_name>.json): what it was built from and what it produced. It is
// outside every component folder, so no build container can change it.
const BuildRecordDir = ".pelato-builds"

// buildRecordPath is the build record of a component.
func buildRecordPath(root, component string) string {
	return filepath.Join(root, GenDir, BuildRecordDir, component+".json")
}

// artifactRel is the artifact's path inside its component folder.
func artifactRel(component string) string { return BuildDir + "/" + component + "_s.wasm" }

// BuildDir is the folder of a component's build output (the name `wash build` uses).
const BuildDir = "build"

// BuildLogFile is each component's full build log, in BuildDir.
const BuildLogFile = "build.log"

// Build container defaults: a TinyGo build of one component peaks well under 2 GiB
// and a few hundred threads; the bounds stop a runaway (or hostile) build from
// taking the machine down.
const (
	DefaultBuildMemory = 4 << 30
	DefaultBuildPids   = 4096
	DefaultNetwork     = "bridge"
)

// Networks are the build containers' network modes pelato accepts.
var Networks = []string{"bridge", "host", "none"}

// CheckNetwork returns an error when network ("" is the default) is not one of Networks.
func CheckNetwork(network string) error {
	if network == "" || slices.Contains(Networks, network) {
		return nil
	}
	return fmt.Errorf("build network %q is not one of %s", network, strings.Join(Networks, ", "))
}

// CheckToolVersion returns an error when v ("" is the Dockerfile's pin) is not a
// release version such as 0.42.0.
func CheckToolVersion(name, v string) error {
	if v == "" || toolVersion.MatchString(v) {
		return nil
	}
	return fmt.Errorf("%s version %q is not a release version like 1.2.3", name, v)
}

var toolVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// DefaultVolumePrefix names the cache volumes shared by every build:
// <prefix>-go-mod, <prefix>-go-build and <prefix>-xdg.
const DefaultVolumePrefix = "pelato-cache"

// Artifact returns the path of a component's artifact, gen/<c>/build/<c>_s.wasm.
func Artifact(root, component string) string {
	return filepath.Join(root, GenDir, component, BuildDir, component+"_s.wasm")
}

// The builders of BuildOptions.Builder (setting PELATO_BUILDER, flag --builder).
const (
	// BuilderDocker builds each component in a container of the builder image.
	BuilderDocker = "docker"
	// BuilderLocal builds with TinyGo, wasm-tools and Go found on PATH, no Docker
	// (internal/localbuild).
	BuilderLocal = "local"
)

// UnknownBuilderError reports a builder name that is neither docker nor local.
type UnknownBuilderError struct{ Name string }

func (e *UnknownBuilderError) Error() string {
	return fmt.Sprintf("unknown builder %q: use docker (a container of the builder image) or local (TinyGo and wasm-tools on PATH)", e.Name)
}

// BuildOptions configures Build.
type BuildOptions struct {
	// Root is the project folder.
	Root string
	// Builder is BuilderDocker ("" too) or BuilderLocal. BuilderImage, ImageSource,
	// Network and VolumePrefix apply to Docker only.
	Builder string
	// Tasks selects tasks by component_name or name; empty means every task.
	Tasks []string
	// Registry is REGISTRY_URL, for the generated manifests (see GenOptions).
	Registry string
	// Jobs bounds how many containers run at once; < 1 means the number of CPUs.
	Jobs int
	// Force rebuilds components whose inputs are unchanged.
	Force bool
	// BuilderImage names the image to build with; "" means pelato's builder image,
	// built from ImageSource when the daemon does not have it. A named image is
	// never built by pelato (it is pulled when missing).
	BuilderImage string
	// ImageSource is what pelato's builder image is built from; nil means the
	// embedded templates/builder/Dockerfile.
	ImageSource *builder.ImageSource
	// TinyGoVersion and WasmToolsVersion, when set, replace the versions the
	// builder image's Dockerfile pins (its build arguments TINYGO_VERSION and
	// WASM_TOOLS_VERSION); the image's tag changes with them. They apply to pelato's
	// own image only (not to BuilderImage).
	TinyGoVersion, WasmToolsVersion string
	// Network is the build containers' Docker network mode: "bridge" ("", the
	// default: the container has its own network namespace and reaches the
	// internet through NAT, not the host's loopback services), "host" (the host's
	// network: starts faster, but a build can reach every service listening on the
	// host's loopback) or "none" (no network: the module cache must already hold
	// every module).
	Network string
	// Memory bounds each build container's memory in bytes; 0 means
	// DefaultBuildMemory, < 0 no bound.
	Memory int64
	// Pids bounds each build container's processes and threads; 0 means
	// DefaultBuildPids, < 0 no bound.
	Pids int64
	// Ignored are notes about settings the configuration ignored (a .env that set
	// what only flags and the environment may); Build reports each as a warning.
	Ignored []string
	// VolumePrefix names the cache volumes; "" means DefaultVolumePrefix.
	VolumePrefix string
	// AllowGoGenerate is passed to Gen (GenOptions.AllowGoGenerate).
	AllowGoGenerate bool
	// Platform is passed to Gen (GenOptions.Platform).
	Platform string
	// Templates, Overlay and TaskChecker are passed to Gen.
	Templates   *templates.Registry
	Overlay     func(path string) ([]byte, bool)
	TaskChecker *check.TaskChecker
	// Reporter receives progress; nil means Discard.
	Reporter Reporter
}

// BuildSettings returns the BuildOptions that settings decide: the registry, jobs,
// the builder image and its tool versions, the containers' network and limits, and
// the notes about .env lines cfg ignored. Callers add the rest (Root, Tasks, ...).
func BuildSettings(cfg *config.Config) BuildOptions {
	memory, pids := cfg.BuildLimits()
	return BuildOptions{Registry: cfg.Get("REGISTRY_URL"), Jobs: cfg.Jobs(), Builder: cfg.Get("PELATO_BUILDER"),
		BuilderImage: cfg.Get("PELATO_BUILDER_IMAGE"), Network: cfg.Get("PELATO_BUILD_NETWORK"),
		TinyGoVersion: cfg.Get("PELATO_TINYGO_VERSION"), WasmToolsVersion: cfg.Get("PELATO_WASM_TOOLS_VERSION"),
		Memory: memory, Pids: pids, Ignored: cfg.Ignored()}
}

// Build statuses of a component.
const (
	StatusBuilt     = "built"
	StatusSkipped   = "skipped"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// CompileError is a compiler error line of a build, mapped to the user's task file
// when it is in the task's code.
type CompileError struct {
	// File is relative to the project: tasks/convert.go, or gen/<c>/main.go for an
	// error in generated code.
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func (e CompileError) String() string {
	if e.Column > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
}

// BuiltComponent is the outcome of building one component.
type BuiltComponent struct {
	ComponentName string `json:"component_name"`
	Task          string `json:"task"`
	Status        string `json:"status"`
	// Artifact is the component's path relative to the project.
	Artifact string   `json:"artifact,omitempty"`
	Size     int64    `json:"size,omitempty"`
	Imports  []string `json:"imports,omitempty"`
	Exports  []string `json:"exports,omitempty"`
	// Log is the build log's path relative to the project.
	Log      string        `json:"log,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	// Overhead is pelato's time around the container (create, start, remove, record).
	Overhead      time.Duration  `json:"overhead_ns,omitempty"`
	Err           string         `json:"error,omitempty"`
	CompileErrors []CompileError `json:"compile_errors,omitempty"`
}

// BuildResult is the outcome of Build.
type BuildResult struct {
	Components []BuiltComponent `json:"components"`
	Image      builder.Image    `json:"image"`
	GenTime    time.Duration    `json:"gen_ns"`
	// ImageTime is the time spent making the builder image available (0 when present).
	ImageTime time.Duration `json:"image_ns"`
	// ComponentsTime is the time of the container phase.
	ComponentsTime time.Duration `json:"components_ns"`
	Duration       time.Duration `json:"duration_ns"`
}

// Count returns how many components have status.
func (r *BuildResult) Count(status string) int {
	n := 0
	for _, c := range r.Components {
		if c.Status == status {
			n++
		}
	}
	return n
}

// Failed counts the components that did not build (failed or cancelled).
func (r *BuildResult) Failed() int { return r.Count(StatusFailed) + r.Count(StatusCancelled) }

// Summary describes the result in one line.
func (r *BuildResult) Summary() string {
	s := fmt.Sprintf("%d built, %d unchanged", r.Count(StatusBuilt), r.Count(StatusSkipped))
	if n := r.Count(StatusFailed); n > 0 {
		s += fmt.Sprintf(", %d failed", n)
	}
	if n := r.Count(StatusCancelled); n > 0 {
		s += fmt.Sprintf(", %d cancelled", n)
	}
	return s + " in " + r.Duration.Round(10*time.Millisecond).String()
}

// buildRecord is BuildRecordFile's content.
type buildRecord struct {
	GenInputHash   string    `json:"gen_input_hash"`
	ImageID        string    `json:"image_id"`
	Image          string    `json:"image"`
	Artifact       string    `json:"artifact"`
	ArtifactSize   int64     `json:"artifact_size"`
	ArtifactMtime  int64     `json:"artifact_mtime_ns"`
	ArtifactSHA256 string    `json:"artifact_sha256"`
	Imports        []string  `json:"imports"`
	Exports        []string  `json:"exports"`
	BuiltAt        time.Time `json:"built_at"`
}

// Build generates the selected components (see Gen) and builds each into
// gen/<c>/build/<c>_s.wasm in a container of the builder image: at most Jobs at a
// time, skipping components whose generated folder and builder image are unchanged
// since their last build (unless Force). One failure does not stop the others.
// Cancelling ctx removes every container it started and marks the unfinished
// components cancelled; Build then returns its result with ctx's error.
//
// With Builder BuilderLocal they are built (at most Jobs at a time too) by
// internal/localbuild with the toolchain on PATH, and the result's Image and the
// build records name that toolchain.
//
// Errors returned before any component is built, in this order: *CheckFailedError
// (the project has errors; checked before any builder is needed),
// *UnknownBuilderError, *builder.DaemonError (no usable Docker),
// *builder.ImageBuildError, *builder.DiskFullError, *localbuild.MissingError (no
// TinyGo or wasm-tools on PATH for the local builder).
func Build(ctx context.Context, opts BuildOptions) (*BuildResult, error) {
	start := time.Now()
	rep := opts.Reporter
	if rep == nil {
		rep = Discard
	}
	for _, note := range opts.Ignored {
		rep.Event(Event{Kind: Log, Level: "warning", Message: note})
	}
	if err := CheckNetwork(opts.Network); err != nil {
		return nil, fmt.Errorf("%w; use bridge (the default), host or none", err)
	}
	if err := CheckToolVersion("TinyGo", opts.TinyGoVersion); err != nil {
		return nil, err
	}
	if err := CheckToolVersion("wasm-tools", opts.WasmToolsVersion); err != nil {
		return nil, err
	}
	if opts.Builder != "" && opts.Builder != BuilderDocker && opts.Builder != BuilderLocal {
		return nil, &UnknownBuilderError{Name: opts.Builder}
	}
	// The project's own errors first (Gen checks it): they are what the user must
	// fix whatever the machine, and checking needs no builder. Then the builder, before
	// gen/ is written: without it nothing can be built. gen/ stays locked until the
	// builds are done writing into it, so a gen running meanwhile waits instead of
	// replacing a folder under a build.
	var (
		dc    *builder.Client
		local *localbuild.Toolchain
	)
	defer func() {
		if dc != nil {
			dc.Close()
		}
	}()
	findBuilder := func() (err error) {
		if opts.Builder == BuilderLocal {
			local, err = localbuild.Find(ctx)
			return err
		}
		dc, err = builder.Connect(ctx)
		return err
	}
	gen, err := Gen(ctx, GenOptions{Root: opts.Root, Tasks: opts.Tasks, Registry: opts.Registry, Templates: opts.Templates, Platform: opts.Platform,
		Overlay: opts.Overlay, TaskChecker: opts.TaskChecker, Reporter: rep, holdLock: true, AllowGoGenerate: opts.AllowGoGenerate,
		beforeWrite: findBuilder})
	if err != nil {
		return nil, err
	}
	defer gen.release()
	if dc != nil {
		// Containers of a pelato that was killed (no one else removes them).
		if n, err := dc.CleanOrphans(ctx); err != nil {
			rep.Event(Event{Kind: Log, Level: "warning", Message: fmt.Sprintf("could not remove build containers left by a killed pelato: %v", err)})
		} else if n > 0 {
			rep.Event(Event{Kind: Log, Level: "info", Message: fmt.Sprintf("removed %s left by a pelato that was killed", plural.Count(n, "build container"))})
		}
	}
	res := &BuildResult{GenTime: gen.Duration, Components: make([]BuiltComponent, len(gen.Components))}
	var vols []builder.Volume
	if local != nil {
		res.Image = builder.Image{Ref: local.Ref(), ID: local.ID()}
	} else {
		t0 := time.Now()
		res.Image, err = builderImage(ctx, dc, opts, rep)
		if err != nil {
			return nil, err
		}
		if res.Image.Built {
			res.ImageTime = time.Since(t0)
		}
		prefix := opts.VolumePrefix
		if prefix == "" {
			prefix = DefaultVolumePrefix
		}
		vols = []builder.Volume{
			{Name: prefix + "-go-mod", Target: "/cache/go-mod"},
			{Name: prefix + "-go-build", Target: "/cache/go-build"},
			{Name: prefix + "-xdg", Target: "/cache/xdg"},
		}
		if err := dc.EnsureVolumes(ctx, vols); err != nil {
			return nil, err
		}
	}

	jobs := opts.Jobs
	if jobs < 1 {
		jobs = runtime.NumCPU()
	}
	total := len(gen.Components)
	t1 := time.Now()
	rep.Event(Event{Kind: Begin, Title: fmt.Sprintf("Building %s with %s (%d at a time)", plural.Count(total, "component"), res.Image.Ref, min(jobs, max(total, 1))), Total: total})
	b := &componentBuilder{opts: opts, dc: dc, local: local, image: res.Image, vols: vols, rep: rep,
		run: strconv.FormatInt(time.Now().UnixNano(), 36), user: fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()), network: opts.Network,
		memory: limit(opts.Memory, DefaultBuildMemory), pids: limit(opts.Pids, DefaultBuildPids)}
	if len(vols) > 0 {
		b.modules = vols[0].Name
	}
	if b.network == "" {
		b.network = DefaultNetwork
	}
	b.comps = gen.Components
	var wg sync.WaitGroup
	progress := &steps{rep: rep, total: total}
	queue := make(chan int)
	for range min(jobs, max(total, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queue {
				c := b.build(ctx, gen.Components[i])
				res.Components[i] = c
				ev := Event{Task: c.ComponentName, Message: stepMessage(c)}
				if c.Status == StatusFailed {
					ev.Level, ev.Err = "error", errors.New(c.Err)
				}
				progress.step(ev)
			}
		}()
	}
	for i := range gen.Components {
		if ctx.Err() != nil {
			break
		}
		queue <- i
	}
	close(queue)
	wg.Wait()
	for i, c := range res.Components {
		if c.Status == "" { // never started: cancelled before its turn
			g := gen.Components[i]
			res.Components[i] = BuiltComponent{ComponentName: g.ComponentName, Task: g.Task, Status: StatusCancelled, Err: "cancelled"}
		}
	}
	res.ComponentsTime = time.Since(t1)
	res.Duration = time.Since(start)
	var endErr error
	if ctx.Err() != nil {
		endErr = ctx.Err()
	} else if n := res.Failed(); n > 0 {
		endErr = fmt.Errorf("%d of %s failed", n, plural.Count(total, "component"))
	}
	rep.Event(Event{Kind: End, Message: res.Summary(), Err: endErr})
	return res, ctx.Err()
}

// stepMessage describes a finished component.
func stepMessage(c BuiltComponent) string {
	switch c.Status {
	case StatusBuilt:
		return fmt.Sprintf("built in %s (%s)", c.Duration.Round(10*time.Millisecond), HumanSize(c.Size))
	case StatusSkipped:
		return "unchanged, not rebuilt"
	case StatusCancelled:
		return "cancelled"
	}
	return "failed: " + c.Err
}

// HumanSize writes a size in bytes for people: "349 B", "12.5 kB", "3.2 MB".
func HumanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// builderImage makes the builder image available and reports it.
func builderImage(ctx context.Context, dc *builder.Client, opts BuildOptions, rep Reporter) (builder.Image, error) {
	// Dockerfile steps are progress steps (shown by every display); the rest is log.
	logLine := func(s string) {
		var n, m int
		if _, err := fmt.Sscanf(s, "Step %d/%d", &n, &m); err == nil && m > 0 {
			rep.Event(Event{Kind: Step, Done: n - 1, Total: m, Message: s})
			return
		}
		rep.Event(Event{Kind: Log, Level: "info", Task: "builder image", Message: s})
	}
	if opts.BuilderImage != "" {
		img, err := dc.UseImage(ctx, opts.BuilderImage, logLine)
		if err == nil && img.Built {
			rep.Event(Event{Kind: Log, Level: "info", Message: "pulled builder image " + img.Ref})
		}
		return img, err
	}
	src := opts.ImageSource
	if src == nil {
		src = &builder.ImageSource{Dockerfile: templates.Builder(), Files: map[string]builder.File{
			ModulesCommand: {Data: templates.BuilderScript(), Mode: 0o755},
		}}
	}
	if opts.TinyGoVersion != "" || opts.WasmToolsVersion != "" {
		withArgs := *src
		withArgs.BuildArgs = map[string]string{}
		for k, v := range src.BuildArgs {
			withArgs.BuildArgs[k] = v
		}
		if opts.TinyGoVersion != "" {
			withArgs.BuildArgs["TINYGO_VERSION"] = opts.TinyGoVersion
		}
		if opts.WasmToolsVersion != "" {
			withArgs.BuildArgs["WASM_TOOLS_VERSION"] = opts.WasmToolsVersion
		}
		src = &withArgs
	}
	ref := src.Tag()
	if id, err := dc.ImageID(ctx, ref); err == nil {
		return builder.Image{Ref: ref, ID: id}, nil
	}
	rep.Event(Event{Kind: Begin, Title: "Building the builder image " + ref + " (once; later builds reuse it)", Total: 1})
	img, err := dc.EnsureImage(ctx, *src, logLine)
	if err != nil {
		var ib *builder.ImageBuildError
		if errors.As(err, &ib) {
			err = fmt.Errorf("%w; %s", err, imageBuildHint(ref))
		}
		rep.Event(Event{Kind: End, Message: "builder image not built", Err: err})
		return img, err
	}
	rep.Event(Event{Kind: End, Message: fmt.Sprintf("built the builder image %s in %s", ref, img.Duration.Round(100*time.Millisecond))})
	return img, nil
}

// imageBuildHint says what to do when pelato's builder image cannot be built (most
// often: its downloads need a network this machine lacks).
func imageBuildHint(ref string) string {
	return "build with an image you have instead: --builder-image IMAGE (or PELATO_BUILDER_IMAGE in .env), one with wash, TinyGo and wasm-tools; " +
		"offline, build pelato's image on a machine with network (pelato build there, then docker save " + ref + ") and docker load it here"
}

// componentBuilder builds one component at a time; it is shared by the workers.
type componentBuilder struct {
	opts    BuildOptions
	dc      *builder.Client
	local   *localbuild.Toolchain // instead of dc with BuilderLocal
	image   builder.Image
	vols    []builder.Volume
	rep     Reporter
	run     string
	user    string
	network string
	memory  int64
	pids    int64
	modules string // the module cache volume, read-only in build containers
	comps   []Component

	// The module cache is shared by every project's builds, which see it
	// read-only: before the first container that builds, modules are downloaded
	// and verified against go.sum by one container that runs no project code.
	modOnce sync.Once
	modErr  error
}

// limit resolves a bound: 0 is def, < 0 none (0 for Docker).
func limit(v, def int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// readOnly is the volumes a build container mounts read-only: the module cache,
// when prepareModules filled it (pelato's own image).
func (b *componentBuilder) readOnly() map[string]bool {
	if b.opts.BuilderImage != "" {
		return nil
	}
	return map[string]bool{b.modules: true}
}

// env is a build container's environment: with pelato's own image every module
// was downloaded and verified by prepareModules, so the build neither downloads
// nor changes go.mod.
func (b *componentBuilder) env() []string {
	if b.opts.BuilderImage != "" {
		return nil
	}
	return []string{"GOFLAGS=-mod=readonly", "GOPROXY=off"}
}

// ModulesCommand is the builder image's command that downloads the modules of the
// generated projects named by its arguments (folders under /src) into the module
// cache and verifies the whole cache entry of each against go.sum (go mod download,
// go mod verify). templates/builder/Dockerfile installs it.
const ModulesCommand = "pelato-modules"

// ModuleCacheError reports that the shared module cache failed verification: a
// module's files differ from what go.sum (and the cache's own hashes) say.
type ModuleCacheError struct {
	Volume string
	Detail string
}

func (e *ModuleCacheError) Error() string {
	return fmt.Sprintf("the Go module cache (Docker volume %s) failed verification: %s; something changed modules in it after they were downloaded. Remove it (docker volume rm %s) so the next build downloads them again", e.Volume, e.Detail, e.Volume)
}

// prepareModules downloads and verifies the modules of the components to build, in
// one container that mounts gen/ read-only and the module cache read-write; one
// folder per distinct go.mod and go.sum is enough (every component of a template
// has the same).
func (b *componentBuilder) prepareModules(ctx context.Context, comps []Component) error {
	seen := map[string]bool{}
	var dirs []string
	for _, g := range comps {
		if g.Err != "" {
			continue
		}
		mod, _, err1 := readConfined(g.Dir, "go.mod", maxRecordSize)
		sum, _, err2 := readConfined(g.Dir, "go.sum", maxRecordSize)
		if err1 != nil || err2 != nil {
			continue // the build reports it
		}
		key := fmt.Sprintf("%d\x00%s\x00%s", len(mod), mod, sum)
		if !seen[key] {
			seen[key] = true
			dirs = append(dirs, filepath.Base(g.Dir))
		}
	}
	if len(dirs) == 0 {
		return nil
	}
	var out tailBuffer
	b.rep.Event(Event{Kind: Log, Level: "info", Message: "downloading and verifying Go modules"})
	rr, err := b.dc.Run(ctx, builder.RunSpec{
		Image: b.image.Ref, Cmd: append([]string{ModulesCommand}, dirs...), Dir: filepath.Join(b.opts.Root, GenDir), ReadOnlyDir: true,
		User: b.user, Volumes: b.vols[:1], Output: &out, Network: b.network, Memory: b.memory, Pids: b.pids,
		Labels: map[string]string{builder.LabelProject: b.opts.Root, builder.LabelRun: b.run},
	})
	if err != nil {
		return fmt.Errorf("download Go modules: %w", err)
	}
	if rr.ExitCode != 0 {
		text := out.String()
		if strings.Contains(text, "has been modified") || strings.Contains(text, "SECURITY ERROR") || strings.Contains(text, "checksum mismatch") {
			return &ModuleCacheError{Volume: b.modules, Detail: lastLineWith(text, "modified")}
		}
		last := lastLine(text)
		if last == "" {
			last = "no output"
		}
		return fmt.Errorf("download Go modules: %s exited with status %d: %s", ModulesCommand, rr.ExitCode, last)
	}
	return nil
}

func (b *componentBuilder) build(ctx context.Context, g Component) BuiltComponent {
	start := time.Now()
	c := BuiltComponent{ComponentName: g.ComponentName, Task: g.Task}
	rel := func(p string) string {
		r, err := filepath.Rel(b.opts.Root, p)
		if err != nil {
			return p
		}
		return filepath.ToSlash(r)
	}
	fail := func(format string, args ...any) BuiltComponent {
		c.Status, c.Err, c.Duration = StatusFailed, fmt.Sprintf(format, args...), time.Since(start)
		return c
	}
	if g.Err != "" {
		return fail("not generated: %s", g.Err)
	}
	if ctx.Err() != nil {
		c.Status, c.Err = StatusCancelled, "cancelled"
		return c
	}
	dir := g.Dir
	genRec, err := readGenRecord(dir)
	if err != nil {
		return fail("%v", err)
	}
	art := Artifact(b.opts.Root, g.ComponentName)
	artRel := artifactRel(g.ComponentName)
	c.Artifact = rel(art)
	recPath := buildRecordPath(b.opts.Root, g.ComponentName)
	if !b.opts.Force {
		if rec, ok := readBuildRecord(recPath); ok && rec.GenInputHash == genRec.InputHash && rec.ImageID == b.image.ID {
			// The artifact is what was built (a container of another build may
			// have replaced it), read without following links.
			if wasm, _, err := readConfined(dir, artRel, wasmcomponent.MaxSize); err == nil && sha256Hex(wasm) == rec.ArtifactSHA256 {
				c.Status, c.Size, c.Imports, c.Exports = StatusSkipped, rec.ArtifactSize, rec.Imports, rec.Exports
				c.Log = rel(filepath.Join(dir, BuildDir, BuildLogFile))
				c.Duration = time.Since(start)
				return c
			}
		}
	}
	// Docker builds with pelato's own image (a named image need not have
	// ModulesCommand; the local builder uses the user's own module cache).
	if b.dc != nil && b.opts.BuilderImage == "" {
		b.modOnce.Do(func() { b.modErr = b.prepareModules(ctx, b.comps) })
	}
	if b.modErr != nil {
		if ctx.Err() != nil {
			c.Status, c.Err, c.Duration = StatusCancelled, "cancelled", time.Since(start)
			return c
		}
		return fail("%v", b.modErr)
	}
	// A failed build must leave neither the old artifact nor its record behind.
	// Everything inside dir is touched through its os.Root: a link an earlier
	// build container left there is removed, never followed.
	if err := os.Remove(recPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail("%v", err)
	}
	if err := removeConfined(dir, artRel); err != nil {
		return fail("%v", err)
	}
	logPath := filepath.Join(dir, BuildDir, BuildLogFile)
	logFile, err := createConfined(dir, BuildDir+"/"+BuildLogFile)
	if err != nil {
		return fail("create the build log: %v", err)
	}
	c.Log = rel(logPath)
	lineLog := &lines.Writer{Emit: func(line string) {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) != "" {
			b.rep.Event(Event{Kind: Log, Level: "info", Task: g.ComponentName, Message: line})
		}
	}}
	var tail, errTail tailBuffer
	fmt.Fprintf(logFile, "# pelato build of %s with %s (%s), %s\n", g.ComponentName, b.image.Ref, shortID(b.image.ID), time.Now().UTC().Format(time.RFC3339))
	out := io.MultiWriter(logFile, lineLog, &tail)
	var rr builder.RunResult
	if b.local != nil {
		b.rep.Event(Event{Kind: Log, Level: "info", Task: g.ComponentName, Message: "building with the local toolchain"})
		rr, err = runLocal(ctx, b.local, dir, io.MultiWriter(out, &errTail))
	} else {
		b.rep.Event(Event{Kind: Log, Level: "info", Task: g.ComponentName, Message: "starting container"})
		rr, err = b.dc.Run(ctx, builder.RunSpec{
			Image: b.image.Ref, Cmd: []string{"wash", "build"}, Dir: dir, User: b.user, Volumes: b.vols, Output: out, Stderr: &errTail, Network: b.network,
			ReadOnlyVolumes: b.readOnly(), Memory: b.memory, Pids: b.pids, Env: b.env(),
			Labels: map[string]string{builder.LabelComponent: g.ComponentName, builder.LabelProject: b.opts.Root, builder.LabelRun: b.run},
		})
	}
	lineLog.Flush()
	t := time.Now()
	defer func() { c.Overhead += time.Since(t) }()
	c.Overhead = rr.Overhead
	if err != nil {
		fmt.Fprintf(logFile, "# pelato: %v\n", err)
		logFile.Close()
		if ctx.Err() != nil {
			c.Status, c.Err, c.Duration = StatusCancelled, "cancelled", time.Since(start)
			return c
		}
		return fail("%v", err)
	}
	fmt.Fprintf(logFile, "# pelato: the build exited with status %d after %s\n", rr.ExitCode, rr.Runtime.Round(time.Millisecond))
	logFile.Close()
	if rr.ExitCode != 0 {
		c.CompileErrors = compileErrors(tail.String(), genRec, b.opts.Root, g.ComponentName)
		for _, e := range c.CompileErrors {
			b.rep.Event(Event{Kind: Log, Level: "error", Task: g.ComponentName, Message: e.String()})
		}
		switch {
		case builder.IsDiskFull(tail.String()):
			return fail("disk full: the build ran out of space (%s); free space in the project folder and for Docker", lastLineWith(tail.String(), "no space left"))
		case len(c.CompileErrors) > 0:
			return fail("compile error at %s (full log: %s)", c.CompileErrors[0], c.Log)
		}
		last := lastLine(errTail.String())
		if last == "" {
			last = lastLine(tail.String())
		}
		if last == "" {
			last = "no output"
		}
		return fail("the build exited with status %d: %s (full log: %s)", rr.ExitCode, last, c.Log)
	}
	wasm, st, err := readConfined(dir, artRel, wasmcomponent.MaxSize)
	if errors.Is(err, os.ErrNotExist) {
		return fail("the build exited 0 but wrote no %s (full log: %s)", c.Artifact, c.Log)
	} else if err != nil {
		return fail("%v", err)
	}
	info, err := wasmcomponent.Parse(wasm)
	switch {
	case errors.Is(err, wasmcomponent.ErrCoreModule):
		return fail("%s is a core WebAssembly module, not a component: the builder must target wasm32-wasip2 (full log: %s)", c.Artifact, c.Log)
	case err != nil:
		return fail("%s is not a valid WebAssembly component: %v", c.Artifact, err)
	}
	sum := sha256Hex(wasm)
	rec := buildRecord{GenInputHash: genRec.InputHash, ImageID: b.image.ID, Image: b.image.Ref, Artifact: c.Artifact,
		ArtifactSize: st.Size(), ArtifactMtime: st.ModTime().UnixNano(), ArtifactSHA256: sum,
		Imports: info.ImportNames(), Exports: info.ExportNames(), BuiltAt: time.Now().UTC()}
	if err := os.MkdirAll(filepath.Dir(recPath), 0o755); err != nil {
		return fail("write the build record: %v", err)
	}
	if err := writeJSON(recPath, rec); err != nil {
		return fail("write the build record: %v", err)
	}
	c.Status, c.Size, c.Imports, c.Exports = StatusBuilt, st.Size(), rec.Imports, rec.Exports
	c.Duration = time.Since(start)
	return c
}

// runLocal builds the component in dir with the local toolchain; a failing step is
// reported like a container's non-zero exit (its output is in out), so that
// compiler errors are found the same way.
func runLocal(ctx context.Context, tc *localbuild.Toolchain, dir string, out io.Writer) (builder.RunResult, error) {
	start := time.Now()
	_, err := tc.Build(ctx, dir, out)
	rr := builder.RunResult{Runtime: time.Since(start)}
	var se *localbuild.StepError
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &se) && errors.As(err, &ee):
		fmt.Fprintf(out, "pelato: %v\n", err)
		rr.ExitCode = max(ee.ExitCode(), 1)
		err = nil
	default:
		err = fmt.Errorf("local build: %w", err)
	}
	return rr, err
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(12, len(id))]
}

// sha256Hex is the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// readGenRecord reads a component folder's generation record (without following a
// link: a build container may have left one).
func readGenRecord(dir string) (Record, error) {
	var rec Record
	b, _, err := readConfined(dir, RecordFile, maxRecordSize)
	if err != nil {
		return rec, fmt.Errorf("read the generation record: %w", err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%s: %w", filepath.Join(dir, RecordFile), err)
	}
	return rec, nil
}

func readBuildRecord(path string) (buildRecord, bool) {
	var rec buildRecord
	b, err := userfile.Read(path, maxRecordSize)
	if err != nil || json.Unmarshal(b, &rec) != nil {
		return rec, false
	}
	return rec, true
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// compileLine matches a Go/TinyGo error line: [./|/src/]file.go:line[:col]: message.
var compileLine = regexp.MustCompile(`^\s*(?:\./|/src/)?([^\s:]+\.go):(\d+)(?::(\d+))?:\s*(.+)$`)

// compileErrors finds compiler error lines in a build's output and maps them to the
// task's source files: the copy in gen/ is gofmt-formatted, so its positions are
// mapped back through taskcode.MapPositions (one that cannot be mapped keeps the
// copy's path).
func compileErrors(output string, rec Record, root, component string) []CompileError {
	var out []CompileError
	maps := map[string]*taskcode.PosMap{}
	for _, line := range strings.Split(output, "\n") {
		m := compileLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ln, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		// The local builder's tools may print absolute paths (the container's are
		// stripped of /src/ above).
		if rel, ok := strings.CutPrefix(m[1], filepath.ToSlash(filepath.Join(root, GenDir, component))+"/"); ok {
			m[1] = rel
		}
		file := GenDir + "/" + component + "/" + m[1]
		if src, ok := rec.Sources[m[1]]; ok {
			lm, seen := maps[m[1]]
			if !seen {
				lm = sourceLineMap(filepath.Join(root, filepath.FromSlash(src)), filepath.Join(root, GenDir, component), m[1])
				maps[m[1]] = lm
			}
			if l, c, ok := lm.Map(ln, col); ok {
				file, ln, col = src, l, c
			}
		}
		out = append(out, CompileError{File: file, Line: ln, Column: col, Message: strings.TrimSpace(m[4])})
		if len(out) == 20 {
			break
		}
	}
	return out
}

// sourceLineMap maps positions of a task file's copy (cp, inside the component
// folder dir, which the build container could change) to the task file's.
func sourceLineMap(src, dir, cp string) *taskcode.PosMap {
	orig, err := taskcode.Read(src)
	if err != nil {
		return &taskcode.PosMap{}
	}
	copied, _, err := readConfined(dir, cp, taskcode.MaxFileSize)
	if err != nil {
		return &taskcode.PosMap{}
	}
	return taskcode.MapPositions(orig, copied)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

func lastLineWith(s, sub string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], sub) {
			return strings.TrimSpace(lines[i])
		}
	}
	return sub
}

// tailBuffer keeps the last 64 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - 64<<10; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
