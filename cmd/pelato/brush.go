package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/metrics"
	"github.com/pelato-dev/pelato/internal/pipeline"
)

func brushCmd() *cobra.Command {
	var (
		tasks                                   []string
		format, progress, registry, image, jobs string
		force, insecure, wait                   bool
		allowGoGenerate                         bool
		timeout                                 time.Duration
	)
	cmd := &cobra.Command{
		Use:         "brush [dir] [task...]",
		Annotations: checksProjectJSONLines,
		Short:       "Check, generate, build, push and deploy: the whole pipeline in one run",
		Long: `brush is the original PELATO's whole pipeline in one command: it checks the project,
brings gen/ up to date, builds each selected component in Docker (as pelato build),
pushes what was built to REGISTRY_URL (as pelato push) and deploys it to wasmCloud
through wadm (as pelato deploy), with one progress display and one summary.

Components that built are pushed even when another failed, but nothing is deployed
unless every selected component built and pushed: fix the failure and run brush
again (unchanged components are skipped at every stage).

Tasks are component_names or names after the optional project folder; none means
every task. Settings and flags are those of build, push and deploy.
--format json writes JSON lines to stdout: one per event, then
{"kind":"result","build":...,"push":...,"deploy":...}.
Exit status: 0 everything deployed; 1 the project has errors or a component failed at
some stage; 2 bad arguments or settings, Docker unusable, NATS unreachable or no wadm.`,
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
			flags := latticeSettings()
			flags["registry"], flags["jobs"] = "REGISTRY_URL", "JOBS"
			cfg, err := loadConfig(cmd, dir, buildFlagSettings(flags))
			if err != nil {
				return err
			}
			n, err := jobsSetting(cmd, cfg, jobs)
			if err != nil {
				return err
			}
			start := time.Now()
			push := pushOptions(dir, nil, cfg, insecure, force, nil)
			build := pipeline.BuildSettings(cfg)
			build.Root, build.Tasks, build.Jobs, build.Force, build.AllowGoGenerate = dir, append(tasks, argTasks...), n, force, allowGoGenerate
			res, err := pipeline.Brush(cmd.Context(), pipeline.BrushOptions{
				Build: build,
				Push:  push,
				Deploy: pipeline.DeployOptions{Lattice: pipeline.LatticeConn{Options: lattice.FromConfig(cfg)}, NoWait: !wait, Timeout: timeout,
					Kube: kubeConn(cmd), ForceConflicts: forceConflicts(cmd)},
				Reporter: out.display,
			})
			out.display.Close()
			if res != nil && res.Build != nil {
				recordBrushMetrics(cmd, dir, cfg, start, res)
				if out.json != nil {
					out.json.Write(resultLine{Kind: "result", Build: res.Build, Push: res.Push, Deploy: res.Deploy, StoppedBefore: res.StoppedBefore})
				} else {
					printBuildTable(cmd.OutOrStdout(), res.Build, res.Push)
					if res.Deploy != nil {
						fmt.Fprintln(cmd.OutOrStdout())
						printDeploy(cmd.OutOrStdout(), res.Deploy)
					}
					if res.StoppedBefore != "" {
						fmt.Fprintf(cmd.OutOrStdout(), "stopped before %s: a component failed\n", res.StoppedBefore)
					}
				}
			}
			if err != nil {
				if res != nil && res.Push != nil {
					return latticeFailure(cmd, dir, err) // the deploy stage
				}
				return pipelineError(cmd, dir, err)
			}
			if res.Failed() > 0 || res.StoppedBefore != "" {
				return &exitError{code: exitProblems, err: fmt.Errorf("%s", res.Summary())}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&tasks, "task", nil, "only this task (component_name or name); repeatable, like the task arguments")
	f.StringVar(&jobs, "jobs", "", "build containers at once (JOBS; default: the number of CPUs, 1 when PARALLEL_BUILD=False)")
	f.BoolVar(&force, "force", false, "rebuild unchanged components and replace tags that hold other content")
	f.StringVar(&image, "builder-image", "", "Docker image to build with (PELATO_BUILDER_IMAGE); pelato never builds it")
	buildFlags(cmd)
	f.StringVar(&registry, "registry", "", "OCI registry (REGISTRY_URL): host[:port][/path]")
	f.BoolVar(&insecure, "insecure", false, "allow plain HTTP to a registry that is not on this machine")
	allowGoGenerateFlag(cmd, &allowGoGenerate)
	f.BoolVar(&wait, "wait", true, "wait until each application is deployed or failed")
	f.DurationVar(&timeout, "timeout", pipeline.DefaultDeployTimeout, "longest wait for placement")
	formatFlag(cmd, &format, "text", "json")
	f.StringVar(&progress, "progress", "auto", "progress display: auto, tty (live) or plain")
	latticeFlags(cmd)
	forceConflictsFlag(cmd)
	return cmd
}

// recordBrushMetrics appends the run to metrics.yaml when ENABLE_METRICS is on, with
// the original's keys: n_task, code_gen.gen_time, build.image_build_time,
// build.components_build_time, deploy.components_deploy_time, time_total.
func recordBrushMetrics(cmd *cobra.Command, dir string, cfg *config.Config, start time.Time, res *pipeline.BrushResult) {
	if !cfg.Bool("ENABLE_METRICS") {
		return
	}
	b := res.Build
	detail := map[string]any{"built": b.Count(pipeline.StatusBuilt), "skipped": b.Count(pipeline.StatusSkipped), "failed": res.Failed(), "builder_image": b.Image.Ref}
	if res.Push != nil {
		detail["push"] = pushDetail(res.Push)
	}
	if res.StoppedBefore != "" {
		detail["stopped_before"] = res.StoppedBefore
	}
	run := metrics.Run{Command: "brush", Start: start, NTask: len(b.Components), GenTime: b.GenTime, ImageTime: b.ImageTime,
		BuildTime: b.ComponentsTime, Total: time.Since(start), Detail: detail}
	if res.Deploy != nil {
		run.DeployTime = res.Deploy.Duration
		detail["lattice"] = res.Deploy.Lattice
	}
	if err := metrics.Append(dir, run); err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", err)
	}
}
