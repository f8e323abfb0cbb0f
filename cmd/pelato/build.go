package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pelato-dev/pelato/internal/plural"

	"github.com/pelato-dev/pelato/internal/builder"
	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/metrics"
	"github.com/pelato-dev/pelato/internal/pipeline"
	"github.com/pelato-dev/pelato/internal/progressui"
	"github.com/spf13/cobra"
)

// pipelineOutput is how a pipeline command reports: progress (stderr, or JSON lines
// on stdout) and where the final result goes.
type pipelineOutput struct {
	display progressui.Display
	json    *progressui.JSONLines
}

func newPipelineOutput(cmd *cobra.Command, format, progress string) (*pipelineOutput, error) {
	if err := checkFormat(format, "text", "json"); err != nil {
		return nil, err
	}
	if err := checkFormat(progress, progressui.Modes...); err != nil {
		return nil, usageError(fmt.Errorf("unknown --progress %q; use one of %s", progress, strings.Join(progressui.Modes, ", ")))
	}
	if format == "json" {
		j := progressui.NewJSONLines(cmd.OutOrStdout())
		return &pipelineOutput{display: j, json: j}, nil
	}
	return &pipelineOutput{display: endsWithoutError{progressui.New(cmd.ErrOrStderr(), progressui.Mode(progress))}}, nil
}

// endsWithoutError is a text display whose End lines leave out the error: a command
// that fails prints its error once, on its last line ("pelato: ..."), and the End
// line ("deployed 0 of 2 components ...; stopped: ...") already says what happened.
// JSON lines keep the error in the "end" event: a script reads one stream.
type endsWithoutError struct{ progressui.Display }

// Event implements pipeline.Reporter.
func (d endsWithoutError) Event(e pipeline.Event) {
	if e.Kind == pipeline.End {
		e.Err = nil
	}
	d.Display.Event(e)
}

// resultLine is the last line of a pipeline command's JSON-lines output.
type resultLine struct {
	Kind  string                `json:"kind"` // "result"
	Build *pipeline.BuildResult `json:"build,omitempty"`
	Push  *pipeline.PushResult  `json:"push,omitempty"`
	// Deploy and remove (issue #9, lattice.go).
	Deploy *pipeline.DeployResult `json:"deploy,omitempty"`
	Remove *pipeline.RemoveResult `json:"remove,omitempty"`
	// StoppedBefore is brush's: the stage that did not run because one failed.
	StoppedBefore string `json:"stopped_before,omitempty"`
}

// pipelineError maps a pipeline command's error to an exit code: Docker unusable,
// bad settings and unknown tasks are usage errors (2); a project with errors, a
// failed image build or a full disk are failures (1).
func pipelineError(cmd *cobra.Command, dir string, err error) error {
	var cf *pipeline.CheckFailedError
	var de *builder.DaemonError
	var ib *builder.ImageBuildError
	var df *builder.DiskFullError
	switch {
	case errors.As(err, &cf):
		return printCheckFailure(cmd, dir, err)
	case errors.Is(err, context.Canceled):
		return &exitError{code: exitProblems, err: errors.New("cancelled; every container pelato started was removed")}
	case errors.As(err, &de):
		return usageError(err)
	case errors.As(err, &ib), errors.As(err, &df):
		return &exitError{code: exitProblems, err: err}
	}
	return usageError(err)
}

func buildCmd() *cobra.Command {
	var (
		tasks                                   []string
		format, progress, registry, image, jobs string
		force, push, insecure                   bool
		allowGoGenerate                         bool
		platform                                string
	)
	cmd := &cobra.Command{
		Use:         "build [dir] [task...]",
		Annotations: checksProjectJSONLines,
		Short:       "Build each task into a WebAssembly component in Docker",
		Long: `build brings gen/ up to date (as pelato gen does), then builds each selected
component into gen/<component_name>/build/<component_name>_s.wasm in a container of the
builder image: pelato's own image, built once through Docker from
templates/builder/Dockerfile and tagged pelato-builder:<content hash>, or the image
named by --builder-image / PELATO_BUILDER_IMAGE. Containers run as you, with the
component's folder mounted and the Go module, Go build and TinyGo caches in shared
named volumes; at most --jobs run at once (default: the number of CPUs; 1 when
PARALLEL_BUILD=False). A component whose generated folder and builder image are
unchanged since its last build is skipped (--force rebuilds it). Each component's
full log is in gen/<c>/build/build.log; compiler errors are reported at the line of
your task file. Every artifact is checked to be a WebAssembly component.

--builder local (PELATO_BUILDER=local) builds without Docker, with TinyGo,
wasm-tools and Go found on PATH, running the builder image's steps (the WIT
dependencies, go generate, tinygo build -target wasip2); its artifact is not signed.

Tasks are given by component_name or name, after the optional project folder.
Ctrl-C stops and removes every container within seconds. --push then pushes what
was built (see pelato push). Progress goes to stderr (a live display on a
terminal); the summary table to stdout; --format json writes JSON lines to stdout:
one per event, then {"kind":"result",...}. Exit status: 0 all built, 1 a component
failed (or the project has errors), 2 bad arguments or settings, or Docker unusable.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := newPipelineOutput(cmd, format, progress)
			if err != nil {
				return err
			}
			dirArg, argTasks := dirAndTasks(args)
			dir, err := projectDir(dirArg)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd, dir, buildFlagSettings(map[string]string{"registry": "REGISTRY_URL", "jobs": "JOBS"}))
			if err != nil {
				return err
			}
			n, err := jobsSetting(cmd, cfg, jobs)
			if err != nil {
				return err
			}
			start := time.Now()
			opts := pipeline.BuildSettings(cfg)
			opts.Root, opts.Tasks, opts.Jobs, opts.Force, opts.Reporter, opts.AllowGoGenerate = dir, append(tasks, argTasks...), n, force, out.display, allowGoGenerate
			opts.Platform = platform
			res, err := pipeline.Build(cmd.Context(), opts)
			var pres *pipeline.PushResult
			if err == nil && push {
				var ok []string
				for _, c := range res.Components {
					if c.Status == pipeline.StatusBuilt || c.Status == pipeline.StatusSkipped {
						ok = append(ok, c.ComponentName)
					}
				}
				if len(ok) > 0 {
					pres, err = pipeline.Push(cmd.Context(), pushOptions(dir, ok, cfg, insecure, force, out.display))
				}
			}
			out.display.Close()
			if res != nil {
				recordBuildMetrics(cmd, dir, cfg, start, res, pres)
				if out.json != nil {
					out.json.Write(resultLine{Kind: "result", Build: res, Push: pres})
				} else {
					printBuildTable(cmd.OutOrStdout(), res, pres)
				}
			}
			if err != nil {
				return pipelineError(cmd, dir, err)
			}
			if res.Failed() > 0 || (pres != nil && pres.Failed() > 0) {
				return &exitError{code: exitProblems, err: failureSummary(res, pres)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&tasks, "task", nil, "build only this task (component_name or name); repeatable, like the task arguments")
	f.StringVar(&jobs, "jobs", "", "containers at once (JOBS; default: the number of CPUs, 1 when PARALLEL_BUILD=False)")
	f.BoolVar(&force, "force", false, "rebuild unchanged components (with --push: also replace tags that hold other content)")
	f.StringVar(&image, "builder-image", "", "Docker image to build with (PELATO_BUILDER_IMAGE); pelato never builds it")
	buildFlags(cmd)
	f.StringVar(&registry, "registry", "", "OCI registry (REGISTRY_URL): host[:port][/path]")
	f.BoolVar(&push, "push", false, "push the built components (as pelato push does)")
	allowGoGenerateFlag(cmd, &allowGoGenerate)
	platformFlag(cmd, &platform)
	f.BoolVar(&insecure, "insecure", false, "with --push: allow plain HTTP to a registry that is not on this machine")
	formatFlag(cmd, &format, "text", "json")
	f.StringVar(&progress, "progress", "auto", "progress display: auto, tty (live) or plain")
	return cmd
}

func pushCmd() *cobra.Command {
	var (
		tasks                      []string
		format, progress, registry string
		force, insecure            bool
	)
	cmd := &cobra.Command{
		Use:         "push [dir] [task...]",
		Annotations: map[string]string{jsonLines: "true"},
		Short:       "Push each built component to the OCI registry (REGISTRY_URL)",
		Long: `push uploads each selected component built by pelato build to REGISTRY_URL as
<registry>/<component_name>:<version>, in the OCI layout wasmCloud pulls (a
application/vnd.wasm.config.v0+json config listing the component's imports and
exports, and one application/wasm layer). A task changed since its build is refused:
build it first (pelato build --push does both).

Credentials: the Docker configuration first (credential helpers, the credential
store, docker login entries; $DOCKER_CONFIG or ~/.docker/config.json), then
REGISTRY_USER/REGISTRY_PASSWORD; they are never printed. Plain HTTP is used only for
localhost/loopback registries, or any registry with --insecure. Blobs the registry
has are not uploaded again; a tag is never "latest"; a tag that already holds other
content is refused unless --force (wadm treats versions as immutable).
Exit status: 0 all pushed, 1 a component was not pushed, 2 bad arguments or settings.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := newPipelineOutput(cmd, format, progress)
			if err != nil {
				return err
			}
			dirArg, argTasks := dirAndTasks(args)
			dir, err := projectDir(dirArg)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd, dir, map[string]string{"registry": "REGISTRY_URL"})
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := pipeline.Push(cmd.Context(), pushOptions(dir, append(tasks, argTasks...), cfg, insecure, force, out.display))
			out.display.Close()
			if res != nil {
				if cfg.Bool("ENABLE_METRICS") {
					run := metrics.Run{Command: "push", Start: start, NTask: len(res.Components), Total: time.Since(start), Detail: pushDetail(res)}
					if err := metrics.Append(dir, run); err != nil {
						fmt.Fprintln(cmd.ErrOrStderr(), "warning:", err)
					}
				}
				if out.json != nil {
					out.json.Write(resultLine{Kind: "result", Push: res})
				} else {
					printBuildTable(cmd.OutOrStdout(), nil, res)
				}
			}
			if err != nil {
				return pipelineError(cmd, dir, err)
			}
			if res.Failed() > 0 {
				return &exitError{code: exitProblems, err: failureSummary(nil, res)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&tasks, "task", nil, "push only this task (component_name or name); repeatable")
	f.StringVar(&registry, "registry", "", "OCI registry (REGISTRY_URL): host[:port][/path]")
	f.BoolVar(&force, "force", false, "replace a tag that holds other content")
	f.BoolVar(&insecure, "insecure", false, "allow plain HTTP to a registry that is not on this machine")
	formatFlag(cmd, &format, "text", "json")
	f.StringVar(&progress, "progress", "auto", "progress display: auto, tty (live) or plain")
	return cmd
}

// jobsSetting is --jobs when given, else JOBS / PARALLEL_BUILD.
func jobsSetting(cmd *cobra.Command, cfg *config.Config, jobs string) (int, error) {
	if !cmd.Flags().Changed("jobs") {
		return cfg.Jobs(), nil
	}
	n, err := strconv.Atoi(jobs)
	if err != nil || n < 1 {
		return 0, usageError(fmt.Errorf("--jobs %q: expected a whole number of at least 1", jobs))
	}
	return n, nil
}

func pushOptions(dir string, tasks []string, cfg *config.Config, insecure, force bool, rep pipeline.Reporter) pipeline.PushOptions {
	return pipeline.PushOptions{Root: dir, Tasks: tasks, Registry: cfg.Get("REGISTRY_URL"), Insecure: insecure, Force: force,
		Username: cfg.Get("REGISTRY_USER"), Password: cfg.Get("REGISTRY_PASSWORD"), Reporter: rep}
}

// failureSummary is the one-line error of a run with failed components.
func failureSummary(b *pipeline.BuildResult, p *pipeline.PushResult) error {
	var parts []string
	if b != nil && b.Failed() > 0 {
		parts = append(parts, fmt.Sprintf("%d of %s not built", b.Failed(), plural.Count(len(b.Components), "component")))
	}
	if p != nil && p.Failed() > 0 {
		parts = append(parts, fmt.Sprintf("%d of %s not pushed", p.Failed(), plural.Count(len(p.Components), "component")))
	}
	return errors.New(strings.Join(parts, "; "))
}

// printBuildTable prints the summary table of a build and/or push.
func printBuildTable(w io.Writer, b *pipeline.BuildResult, p *pipeline.PushResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if b != nil {
		fmt.Fprintln(tw, "COMPONENT\tBUILD\tTIME\tSIZE\tDETAIL")
		for _, c := range b.Components {
			detail, size, dur := c.Artifact, "", "-"
			if c.Size > 0 {
				size = pipeline.HumanSize(c.Size)
			}
			if c.Status == pipeline.StatusBuilt || c.Status == pipeline.StatusFailed {
				dur = c.Duration.Round(100 * time.Millisecond).String()
			}
			if c.Err != "" {
				detail = c.Err
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ComponentName, c.Status, dur, size, detail)
		}
	}
	if p != nil {
		if b != nil {
			fmt.Fprintln(tw, "\t\t\t\t")
		}
		fmt.Fprintln(tw, "COMPONENT\tPUSH\tTIME\tSIZE\tDETAIL")
		for _, c := range p.Components {
			detail := c.Reference
			if c.Err != "" {
				detail = c.Err
			}
			size := ""
			if c.Size > 0 {
				size = pipeline.HumanSize(c.Size)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ComponentName, c.Status, c.Duration.Round(10*time.Millisecond), size, detail)
		}
	}
	tw.Flush()
	if b != nil {
		fmt.Fprintln(w, b.Summary())
	}
	if p != nil {
		fmt.Fprintln(w, p.Summary())
	}
}

// recordBuildMetrics appends the run to metrics.yaml when ENABLE_METRICS is on: the
// original's build.image_build_time and build.components_build_time, and per
// component times in pelato's detail.
func recordBuildMetrics(cmd *cobra.Command, dir string, cfg *config.Config, start time.Time, res *pipeline.BuildResult, pres *pipeline.PushResult) {
	if !cfg.Bool("ENABLE_METRICS") {
		return
	}
	per := map[string]any{}
	for _, c := range res.Components {
		per[c.ComponentName] = map[string]any{"status": c.Status, "build_time": fmt.Sprintf("%.3f", c.Duration.Seconds())}
	}
	detail := map[string]any{"components": per, "built": res.Count(pipeline.StatusBuilt), "skipped": res.Count(pipeline.StatusSkipped),
		"failed": res.Failed(), "builder_image": res.Image.Ref}
	if pres != nil {
		detail["push"] = pushDetail(pres)
	}
	run := metrics.Run{Command: "build", Start: start, NTask: len(res.Components), GenTime: res.GenTime, ImageTime: res.ImageTime,
		BuildTime: res.ComponentsTime, Total: time.Since(start), Detail: detail}
	if err := metrics.Append(dir, run); err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", err)
	}
}

// pushDetail is the metrics detail of a push: per component status and time (never
// credentials).
func pushDetail(res *pipeline.PushResult) map[string]any {
	per := map[string]any{}
	for _, c := range res.Components {
		per[c.ComponentName] = map[string]any{"status": c.Status, "push_time": fmt.Sprintf("%.3f", c.Duration.Seconds()), "reference": c.Reference}
	}
	return map[string]any{"components": per, "push_time": fmt.Sprintf("%.3f", res.Duration.Seconds())}
}

// buildFlagSettings adds the flags of buildFlags (and --builder-image) to flags
// (flag name → setting), for loadConfig.
func buildFlagSettings(flags map[string]string) map[string]string {
	flags["builder"] = "PELATO_BUILDER"
	flags["builder-image"] = "PELATO_BUILDER_IMAGE"
	flags["network"] = "PELATO_BUILD_NETWORK"
	flags["tinygo-version"] = "PELATO_TINYGO_VERSION"
	flags["wasm-tools-version"] = "PELATO_WASM_TOOLS_VERSION"
	return flags
}

// buildFlags defines the flags of the build settings that choose what runs on this
// machine (besides --builder-image): like the environment, never a project's .env.
func buildFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("builder", "", "docker (default: a container of the builder image) or local (TinyGo and wasm-tools on PATH, no Docker) (PELATO_BUILDER)")
	f.String("network", "", "network mode of build containers (PELATO_BUILD_NETWORK): bridge (default), host or none")
	f.String("tinygo-version", "", "TinyGo version of pelato's builder image (PELATO_TINYGO_VERSION; default 0.42.0)")
	f.String("wasm-tools-version", "", "wasm-tools version of pelato's builder image (PELATO_WASM_TOOLS_VERSION; default 1.258.0)")
}
