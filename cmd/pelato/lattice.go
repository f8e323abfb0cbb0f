package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/plural"

	"github.com/spf13/cobra"

	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/metrics"
	"github.com/pelato-dev/pelato/internal/pipeline"
	"github.com/pelato-dev/pelato/internal/progressui"
	"github.com/pelato-dev/pelato/internal/termsafe"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// latticeFlags adds the connection flags shared by deploy, remove and status.
// Passwords and tokens are read from the environment or .env only, never from flags
// (they would show in `ps`).
func latticeFlags(cmd *cobra.Command) {
	cmd.Flags().String("nats-url", "", "NATS server URL(s), comma-separated (NATS_URL; default nats://NATS_HOST:NATS_PORT)")
	cmd.Flags().String("lattice", "", "wasmCloud lattice name (WASMCLOUD_LATTICE; default \"default\")")
	cmd.Flags().String("nats-creds", "", "NATS credentials file (NATS_CREDS)")
	cmd.Flags().String("request-timeout", "", "time-out of one request to wadm (NATS_TIMEOUT; default 5s)")
	cmd.Flags().String("host-ping-window", "", "longest wait for the hosts' answers to a ping (HOST_PING_WINDOW; default 5s, as wasmCloud's)")
	cmd.Flags().String("kubeconfig", "", "platform wasmcloud2: kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	cmd.Flags().String("context", "", "platform wasmcloud2: kubeconfig context (default its current-context)")
	cmd.Flags().StringP("namespace", "n", "", "platform wasmcloud2: Kubernetes namespace (default the context's, else \"default\")")
}

// forceConflictsFlag adds --force-conflicts (deploy, brush).
func forceConflictsFlag(cmd *cobra.Command) {
	cmd.Flags().Bool("force-conflicts", false, "platform wasmcloud2: take over fields another field manager (kubectl, helm, ...) changed, instead of refusing")
}

// kubeConn reads the Kubernetes flags of latticeFlags.
func kubeConn(cmd *cobra.Command) pipeline.KubeConn {
	get := func(name string) string {
		v, _ := cmd.Flags().GetString(name)
		return v
	}
	return pipeline.KubeConn{Kubeconfig: get("kubeconfig"), Context: get("context"), Namespace: get("namespace")}
}

// forceConflicts reads --force-conflicts.
func forceConflicts(cmd *cobra.Command) bool {
	v, _ := cmd.Flags().GetBool("force-conflicts")
	return v
}

// latticeSettings maps the flags of latticeFlags to their settings (for loadConfig).
func latticeSettings() map[string]string {
	return map[string]string{"nats-url": "NATS_URL", "lattice": "WASMCLOUD_LATTICE", "nats-creds": "NATS_CREDS", "request-timeout": "NATS_TIMEOUT", "host-ping-window": "HOST_PING_WINDOW"}
}

// latticeFailure turns an error that stopped deploy, remove or status into an exit
// code: the lattice cannot be used (no server, refused credentials, no wadm) or the
// project cannot be read → 2; the workflow has errors or the run broke off → 1.
func latticeFailure(cmd *cobra.Command, dir string, err error) error {
	var cf *pipeline.CheckFailedError
	var ce *lattice.ConnectError
	var nw *lattice.NoWadmError
	switch {
	case errors.As(err, &cf):
		return printCheckFailure(cmd, dir, err)
	case errors.As(err, &ce), errors.As(err, &nw), pipeline.ClusterUnusable(err):
		return usageError(err)
	case err == context.Canceled:
		return &exitError{code: exitProblems, err: errors.New("interrupted")}
	case errors.As(err, new(*pipeline.UnknownTaskError)), errors.As(err, new(*check.UnreadableError)):
		return usageError(err)
	}
	return &exitError{code: exitProblems, err: err}
}

// clean makes text that came over the network (host names, labels, wadm's messages)
// or from the project safe to print: termsafe escapes control characters.
func clean(s string) string { return termsafe.Line(s) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return clean(s)
}

func deployCmd() *cobra.Command {
	var tasks []string
	var format, progress, registry string
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:         "deploy [dir] [task...]",
		Annotations: map[string]string{"pelato:checks-project": "true", jsonLines: "true"},
		Short:       "Deploy the generated components to wasmCloud through wadm (over NATS)",
		Long: `deploy puts the wadm manifest of each task (gen/<component_name>/wadm.yaml, written by
pelato gen) into wadm over NATS and deploys it, then waits until each application is
deployed or failed, showing the scalers' status as it goes.

A version wadm already has with the same content is not put again (deploying an
unchanged project is a no-op); the same version with other content — the task's code
included — is refused with the workflow.yaml line to bump. A placement failure names
the targets: label no host carries and lists the hosts that exist.

Tasks are component_names or names; none means every task. The components must have
been generated from the current workflow (and built and pushed). Connection settings:
NATS_URL (or NATS_HOST/NATS_PORT), NATS_CREDS, NATS_USER/NATS_PASSWORD, NATS_TOKEN,
NATS_TLS_CA/NATS_TLS_CERT/NATS_TLS_KEY, WASMCLOUD_LATTICE, NATS_TIMEOUT — flags, then
the environment, then .env.

Exit status: 0 all deployed; 1 a component was not deployed or the run broke off;
2 bad arguments or settings, no project, NATS unreachable, refused credentials, or no
wadm on the lattice.

Progress goes to stderr (a live display on a terminal, --progress plain for lines);
the table to stdout; --format json writes JSON lines to stdout: one per event (the
scalers' status included), then {"kind":"result","deploy":{...}}.`,
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
			flags["registry"] = "REGISTRY_URL"
			cfg, err := loadConfig(cmd, dir, flags)
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := pipeline.Deploy(cmd.Context(), pipeline.DeployOptions{Root: dir, Tasks: append(tasks, argTasks...), Registry: cfg.Get("REGISTRY_URL"),
				Lattice: pipeline.LatticeConn{Options: lattice.FromConfig(cfg)}, NoWait: !wait, Timeout: timeout, Reporter: out.display,
				Kube: kubeConn(cmd), ForceConflicts: forceConflicts(cmd)})
			out.display.Close()
			if res != nil {
				recordDeployMetrics(cmd, dir, cfg, start, res)
				if out.json != nil {
					out.json.Write(resultLine{Kind: "result", Deploy: res})
				} else {
					printDeploy(cmd.OutOrStdout(), res)
				}
			}
			if err != nil {
				return latticeFailure(cmd, dir, err)
			}
			if n := res.Failed(); n > 0 {
				return &exitError{code: exitProblems, err: fmt.Errorf("%d of %s not deployed", n, plural.Count(len(res.Components), "component"))}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&tasks, "task", nil, "deploy only this task (component_name or name); repeatable")
	cmd.Flags().BoolVar(&wait, "wait", true, "wait until each application is deployed or failed")
	cmd.Flags().DurationVar(&timeout, "timeout", pipeline.DefaultDeployTimeout, "longest wait for placement")
	cmd.Flags().StringVar(&registry, "registry", "", "OCI registry the components were generated for (REGISTRY_URL)")
	formatFlag(cmd, &format, "text", "json")
	cmd.Flags().StringVar(&progress, "progress", "auto", "progress display: auto, tty (live) or plain")
	latticeFlags(cmd)
	forceConflictsFlag(cmd)
	return cmd
}

// recordDeployMetrics appends the run to metrics.yaml when ENABLE_METRICS is set.
func recordDeployMetrics(cmd *cobra.Command, dir string, cfg *config.Config, start time.Time, res *pipeline.DeployResult) {
	if !cfg.Bool("ENABLE_METRICS") {
		return
	}
	per := map[string]any{}
	for _, c := range res.Components {
		per[c.ComponentName] = map[string]any{"action": c.Action, "status": c.Status, "seconds": fmt.Sprintf("%.3f", c.Duration.Seconds()), "failed": c.Err != ""}
	}
	run := metrics.Run{Command: "deploy", Start: start, NTask: len(res.Components), DeployTime: res.Duration, Total: time.Since(start),
		Detail: map[string]any{"lattice": res.Lattice, "failed": res.Failed(), "components": per}}
	if err := metrics.Append(dir, run); err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", err)
	}
}

// printDeploy writes the outcome table.
func printDeploy(w io.Writer, res *pipeline.DeployResult) {
	if len(res.Components) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tVERSION\tACTION\tSTATUS")
	for _, c := range res.Components {
		status := c.Status
		if c.Err != "" {
			status = "not deployed"
			if c.Status == lattice.StatusFailed {
				status = "failed"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ComponentName, c.Version, orDash(c.Action), orDash(status))
	}
	tw.Flush()
	fmt.Fprintln(w, res.Summary())
}

func removeCmd() *cobra.Command {
	var tasks []string
	var format, progress string
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:         "remove [dir] [task...]",
		Annotations: map[string]string{jsonLines: "true"},
		Short:       "Undeploy the project's applications from wasmCloud and delete every version",
		Long: `remove undeploys the wadm application of each task and deletes every version wadm
stores of it, then waits until wadm reports it undeployed. Removing what is not there
is not an error. It needs workflow.yaml only (the component names), not gen/. Tasks
are component_names or names; none means every task. Connection settings as for
pelato deploy.

Progress goes to stderr, the table to stdout; --format json writes JSON lines: one
per event, then {"kind":"result","remove":{...}}.

Exit status: 0 removed (or not there); 1 an application could not be removed or the
run broke off; 2 bad arguments or settings, NATS unreachable or no wadm.`,
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
			cfg, err := loadConfig(cmd, dir, latticeSettings())
			if err != nil {
				return err
			}
			res, err := pipeline.Remove(cmd.Context(), pipeline.RemoveOptions{Root: dir, Tasks: append(tasks, argTasks...),
				Lattice: pipeline.LatticeConn{Options: lattice.FromConfig(cfg)}, NoWait: !wait, Timeout: timeout, Reporter: out.display, Kube: kubeConn(cmd)})
			out.display.Close()
			if res != nil {
				if out.json != nil {
					out.json.Write(resultLine{Kind: "result", Remove: res})
				} else if len(res.Components) > 0 {
					tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "COMPONENT\tACTION\tVERSIONS DELETED\tSTATUS")
					for _, c := range res.Components {
						action := c.Action
						if c.Err != "" {
							action = "failed"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ComponentName, orDash(action), orDash(strings.Join(c.Versions, ", ")), orDash(c.Status))
					}
					tw.Flush()
					fmt.Fprintln(cmd.OutOrStdout(), res.Summary())
				}
			}
			if err != nil {
				return latticeFailure(cmd, dir, err)
			}
			if n := res.Failed(); n > 0 {
				return &exitError{code: exitProblems, err: fmt.Errorf("%d of %s not removed", n, plural.Count(len(res.Components), "application"))}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&tasks, "task", nil, "remove only this task's application (component_name or name); repeatable")
	cmd.Flags().BoolVar(&wait, "wait", true, "wait until each application is undeployed")
	cmd.Flags().DurationVar(&timeout, "timeout", pipeline.DefaultDeployTimeout, "longest wait")
	formatFlag(cmd, &format, "text", "json")
	cmd.Flags().StringVar(&progress, "progress", "auto", "progress display: auto, tty (live) or plain")
	latticeFlags(cmd)
	return cmd
}

func statusCmd() *cobra.Command {
	var tasks []string
	var format string
	var watch bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "status [dir] [task...]",
		Short: "Show the project's applications in wadm and the lattice's hosts",
		Long: `status prints two tables: the project's applications as wadm sees them (the version
in workflow.yaml, the deployed version, the status and the scalers that are not
deployed yet, with wadm's messages) and the lattice's hosts (id, friendly name, labels,
version, uptime), gathered with a host ping. --format json prints one JSON document;
with --watch it prints one JSON document per line and refresh (JSON lines). --watch
refreshes every --interval until interrupted. Connection settings as for pelato deploy.

Exit status: 0 shown; 1 wadm broke off; 2 bad arguments or settings, NATS unreachable
or no wadm on the lattice (the hosts are still shown).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			if interval <= 0 {
				return usageError(fmt.Errorf("--interval %s: give a positive duration", interval))
			}
			dirArg, argTasks := dirAndTasks(args)
			dir, err := projectDir(dirArg)
			if err != nil {
				return err
			}
			sel := append(tasks, argTasks...)
			cfg, err := loadConfig(cmd, dir, latticeSettings())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			conn := pipeline.LatticeConn{Options: lattice.FromConfig(cfg)}
			if !watch {
				res, err := pipeline.Status(ctx, pipeline.StatusOptions{Root: dir, Tasks: sel, Lattice: conn, Kube: kubeConn(cmd)})
				if res != nil {
					if format == "json" {
						if werr := writeJSON(cmd.OutOrStdout(), res); werr != nil {
							return werr
						}
					} else {
						printStatus(cmd.OutOrStdout(), res)
					}
				}
				if err != nil {
					return latticeFailure(cmd, dir, err)
				}
				return nil
			}
			c, err := lattice.Connect(ctx, conn.Options)
			if err != nil {
				return latticeFailure(cmd, dir, err)
			}
			defer c.Close()
			conn.Client = c
			out := cmd.OutOrStdout()
			tty := progressui.IsTerminal(out)
			for {
				res, err := pipeline.Status(ctx, pipeline.StatusOptions{Root: dir, Tasks: sel, Lattice: conn, Kube: kubeConn(cmd)})
				if ctx.Err() != nil {
					return nil
				}
				if res == nil && err != nil {
					return latticeFailure(cmd, dir, err)
				}
				if format == "json" {
					b, merr := json.Marshal(res)
					if merr != nil {
						return merr
					}
					fmt.Fprintf(out, "%s\n", b)
				} else {
					if tty {
						fmt.Fprint(out, "\x1b[H\x1b[2J")
					}
					fmt.Fprintf(out, "%s (every %s; Ctrl-C stops)\n", time.Now().Format("15:04:05"), interval)
					printStatus(out, res)
					if err != nil {
						fmt.Fprintln(out, "error:", clean(err.Error()))
					}
					if !tty {
						fmt.Fprintln(out)
					}
				}
				t := time.NewTimer(interval)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil
				case <-t.C:
				}
			}
		},
	}
	cmd.Flags().StringArrayVar(&tasks, "task", nil, "show only this task's application (component_name or name); repeatable")
	cmd.Flags().BoolVar(&watch, "watch", false, "refresh until interrupted")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "refresh interval of --watch")
	formatFlag(cmd, &format, "text", "json")
	latticeFlags(cmd)
	return cmd
}

// printStatus writes the applications table and the hosts table.
func printStatus(w io.Writer, res *pipeline.StatusResult) {
	if res.Platform == workflow.PlatformWasmCloud2 {
		fmt.Fprintf(w, "Namespace %s at %s", clean(res.Namespace), clean(res.URL))
		if res.Context != "" {
			fmt.Fprintf(w, " (context %s)", clean(res.Context))
		}
		fmt.Fprint(w, "\n\n")
	} else {
		fmt.Fprintf(w, "Lattice %s at %s\n\n", clean(res.Lattice), clean(res.URL))
	}
	if !res.WadmAnswered {
		// No rows: without wadm's answer nothing is known of the applications.
		fmt.Fprintf(w, "wadm did not answer on lattice %s: the state of %s is unknown\n", clean(res.Lattice), plural.Count(len(res.Apps), "application"))
		printHosts(w, res)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APPLICATION\tVERSION\tDEPLOYED\tSTATUS\tMESSAGE")
	for _, a := range res.Apps {
		status := a.Status
		if !a.Stored {
			status = "not in wadm"
			if res.Platform == workflow.PlatformWasmCloud2 {
				status = "not deployed"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.App, a.Version, orDash(a.DeployedVersion), orDash(status), orDash(a.Message))
		for _, s := range a.Scalers {
			if s.Status.Type == lattice.StatusDeployed {
				continue
			}
			fmt.Fprintf(tw, "  %s %s\t\t\t%s\t%s\n", clean(s.Kind), clean(s.Name), orDash(s.Status.Type), orDash(s.Status.Message))
		}
	}
	tw.Flush()
	if len(res.Others) > 0 {
		fmt.Fprintf(w, "\nother applications in the lattice: %s\n", clean(strings.Join(res.Others, ", ")))
	}
	printHosts(w, res)
}

// printHosts writes the hosts table of a status.
func printHosts(w io.Writer, res *pipeline.StatusResult) {
	fmt.Fprintln(w)
	if len(res.Hosts) == 0 {
		if res.Platform == workflow.PlatformWasmCloud2 {
			fmt.Fprintln(w, "the cluster has no Host resources: no wasmCloud 2 host reports to it")
			return
		}
		fmt.Fprintf(w, "no host answered the ping on lattice %s\n", clean(res.Lattice))
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tNAME\tLABELS\tVERSION\tUPTIME")
	for _, h := range res.Hosts {
		up := h.UptimeHuman
		if up == "" {
			up = (time.Duration(h.UptimeSeconds) * time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", clean(lattice.ShortID(h.ID)), orDash(h.FriendlyName), clean(lattice.FormatLabels(h.Labels)), orDash(h.Version), clean(up))
	}
	tw.Flush()
}
