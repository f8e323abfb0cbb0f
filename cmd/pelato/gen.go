package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/metrics"
	"github.com/pelato-dev/pelato/internal/pipeline"
	"github.com/pelato-dev/pelato/internal/plural"
	"github.com/pelato-dev/pelato/internal/report"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/spf13/cobra"
)

// loadConfig resolves settings for the project in dir, with flags that were set.
func loadConfig(cmd *cobra.Command, dir string, flags map[string]string) (*config.Config, error) {
	given := map[string]string{}
	for name, setting := range flags {
		if cmd.Flags().Changed(name) {
			f := cmd.Flags().Lookup(name)
			given[setting] = f.Value.String()
		}
	}
	cfg, err := config.Loader{Dir: dir, Flags: given}.Load()
	if err != nil {
		return nil, usageError(err)
	}
	return cfg, nil
}

// printCheckFailure prints the diagnostics that stopped a pipeline command.
func printCheckFailure(cmd *cobra.Command, dir string, err error) error {
	var cf *pipeline.CheckFailedError
	if !errors.As(err, &cf) {
		return err
	}
	var errs []check.Diagnostic
	for _, d := range cf.Result.Diagnostics {
		if d.Severity == check.Error {
			errs = append(errs, d)
		}
	}
	cwd, _ := os.Getwd()
	// The last line, the error, says how many there are: no summary line before it.
	_ = report.Write(cmd.ErrOrStderr(), "text", report.Input{Root: dir, Base: cwd, Diagnostics: errs, Files: cf.Result.Files, NoSummary: true})
	return &exitError{code: exitProblems, err: err}
}

// withoutEnd passes on every event but End: the command prints the outcome itself, as
// its result, on stdout.
type withoutEnd struct{ pipeline.Reporter }

// Event implements pipeline.Reporter.
func (w withoutEnd) Event(e pipeline.Event) {
	if e.Kind != pipeline.End {
		w.Reporter.Event(e)
	}
}

func genCmd() *cobra.Command {
	var tasks []string
	var format, registry string
	var allowGoGenerate bool
	var platform string
	cmd := &cobra.Command{
		Use:         "gen [dir]",
		Annotations: checksProject,
		Short:       "Generate gen/<component_name>/ for each task (after a check)",
		Long: `gen checks the project and, when it has no errors, writes one Go project per task
into gen/<component_name>/: the harness of its template, the task's code, wit/,
wasmcloud.toml, wadm.yaml (on wasmcloud2: workloaddeployment.yaml and .wash/config.yaml)
and a record of what generated it. Each component is
written atomically; unchanged components are not rewritten; a gen/ folder pelato did
not create is never touched. --task selects tasks by component_name or name.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			dir, err := projectDir(args)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd, dir, map[string]string{"registry": "REGISTRY_URL"})
			if err != nil {
				return err
			}
			// Progress on stderr; the result (the summary, or the JSON document) on stdout.
			var rep pipeline.Reporter = withoutEnd{&pipeline.TextReporter{W: cmd.ErrOrStderr()}}
			if format == "json" {
				rep = pipeline.Discard
			}
			start := time.Now()
			checker := check.NewTaskChecker(check.TaskCheckerOptions{})
			defer checker.Close()
			loadTypes(cmd.Context(), cmd.ErrOrStderr(), dir, checker)
			res, err := pipeline.Gen(cmd.Context(), pipeline.GenOptions{Root: dir, Tasks: tasks, Registry: cfg.Get("REGISTRY_URL"), Reporter: rep, TaskChecker: checker, AllowGoGenerate: allowGoGenerate, Platform: platform})
			if err != nil {
				var cf *pipeline.CheckFailedError
				if errors.As(err, &cf) {
					return printCheckFailure(cmd, dir, err)
				}
				if cmd.Context().Err() != nil {
					return err // interrupted: exitCodeOf says so
				}
				return usageError(err) // an unknown task, a gen/ folder pelato did not create
			}
			if cfg.Bool("ENABLE_METRICS") {
				changed := 0
				for _, c := range res.Components {
					if c.Changed {
						changed++
					}
				}
				run := metrics.Run{Command: "gen", Start: start, NTask: len(res.Components), GenTime: res.Duration, Total: time.Since(start),
					Detail: map[string]any{"changed": changed, "failed": res.Failed()}}
				if err := metrics.Append(dir, run); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning:", err)
				}
			}
			if format == "json" {
				if err := writeJSON(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), res.Summary())
			}
			if n := res.Failed(); n > 0 {
				return &exitError{code: exitProblems, err: fmt.Errorf("%s failed", plural.Count(n, "component"))}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&tasks, "task", nil, "generate only this task (component_name or name); repeatable")
	cmd.Flags().StringVar(&registry, "registry", "", "OCI registry for image references (REGISTRY_URL)")
	allowGoGenerateFlag(cmd, &allowGoGenerate)
	platformFlag(cmd, &platform)
	formatFlag(cmd, &format, "text", "json")
	return cmd
}

// platformFlag adds --platform (gen, build): the platform to generate for, over the
// project's `platform:` key.
func platformFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "platform", "", "platform to generate for: "+strings.Join(workflow.Platforms(), " or ")+" (default: workflow.yaml's platform:, else "+workflow.PlatformWasmCloud1+")")
}

// allowGoGenerateFlag adds --allow-go-generate (gen, build, brush): the user's opt-in
// to copy task files' //go:generate lines into gen/, where `wash build` runs them. It
// is a flag only, never a setting in the project (workflow.yaml, .env): a project one
// clones must not decide what runs when one builds it.
func allowGoGenerateFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "allow-go-generate", false, "copy task files' //go:generate lines into gen/, where wash build runs them (refused by default: PL413)")
}
