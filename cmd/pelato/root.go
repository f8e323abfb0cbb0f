package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/report"
	"github.com/pelato-dev/pelato/internal/scaffold"
	"github.com/pelato-dev/pelato/internal/schema"
	"github.com/pelato-dev/pelato/templates"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "pelato",
		Short: "Turn Go functions into WebAssembly components on wasmCloud",
		Long: `pelato checks a workflow of Go tasks, generates a project per task, builds each
into a WebAssembly component, pushes it to an OCI registry and deploys it to
wasmCloud — and runs the whole workflow locally with no cluster.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(checkCmd(), initCmd(), genCmd(), invokeCmd(), schemaCmd(), versionCmd(), templatesCmd(), explainCmd())
	root.AddCommand(lspCmd())
	root.AddCommand(buildCmd(), pushCmd()) // build and push (issue #8)
	root.AddCommand(devCmd(), publishCmd())
	// Deploy, remove and status: wadm over NATS (cmd/pelato/lattice.go).
	root.AddCommand(deployCmd(), removeCmd(), statusCmd())
	return root
}

// projectDir resolves the optional [dir] argument to an absolute folder.
func projectDir(args []string) (string, error) {
	dir := "."
	if len(args) > 0 {
		dir = args[0]
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", usageError(err)
	}
	return abs, nil
}

func formatFlag(cmd *cobra.Command, target *string, formats ...string) {
	cmd.Flags().StringVar(target, "format", formats[0], "output format: "+strings.Join(formats, ", "))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

func checkFormat(format string, formats ...string) error {
	for _, f := range formats {
		if f == format {
			return nil
		}
	}
	return usageError(fmt.Errorf("unknown --format %q; use one of %s", format, strings.Join(formats, ", ")))
}

func checkCmd() *cobra.Command {
	var format, minSeverity string
	cmd := &cobra.Command{
		Use:   "check [dir]",
		Short: "Report every problem of the workflow and its tasks",
		Long: `check reads workflow.yaml and the task files of the project in dir (default: the
current folder) and prints one line per problem as path:line:col: severity CODE: message,
then a summary. Exit status: 0 no errors, 1 errors found, 2 the project cannot be read.
Codes are explained by 'pelato explain CODE' and in docs/diagnostics.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, report.Formats...); err != nil {
				return err
			}
			least, err := parseSeverity(minSeverity)
			if err != nil {
				return err
			}
			dir, err := projectDir(args)
			if err != nil {
				return err
			}
			res, err := check.Project(cmd.Context(), check.Options{Root: dir})
			if err != nil {
				return usageError(err)
			}
			var shown []check.Diagnostic
			for _, d := range res.Diagnostics {
				if d.Severity <= least {
					shown = append(shown, d)
				}
			}
			cwd, _ := os.Getwd()
			in := report.Input{Root: dir, Base: cwd, Diagnostics: shown, Files: res.Files, Version: buildVersion()}
			if err := report.Write(cmd.OutOrStdout(), format, in); err != nil {
				return err
			}
			if check.HasErrors(res.Diagnostics) {
				return &exitError{code: exitProblems}
			}
			return nil
		},
	}
	formatFlag(cmd, &format, report.Formats...)
	cmd.Flags().StringVar(&minSeverity, "severity", "hint", "least severity shown: error, warning, info or hint")
	_ = cmd.RegisterFlagCompletionFunc("severity", cobra.FixedCompletions([]string{"error", "warning", "info", "hint"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// parseSeverity reads a --severity value.
func parseSeverity(s string) (check.Severity, error) {
	for _, sev := range []check.Severity{check.Error, check.Warning, check.Info, check.Hint} {
		if strings.EqualFold(s, sev.String()) {
			return sev, nil
		}
	}
	return 0, usageError(fmt.Errorf("unknown --severity %q; use error, warning, info or hint", s))
}

func initCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "init [dir]",
		Short: "Create a new project (workflow.yaml, an example task, .gitignore, .env.template)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := projectDir(args)
			if err != nil {
				return err
			}
			written, err := scaffold.Init(dir, name)
			if err != nil {
				return usageError(err)
			}
			out := cmd.OutOrStdout()
			for _, p := range written {
				fmt.Fprintln(out, "created", filepath.Join(dir, filepath.FromSlash(p)))
			}
			fmt.Fprintf(out, "next: pelato check %s\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "project name (default: the folder's name)")
	return cmd
}

func schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of workflow.yaml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := schema.Generate(templates.Default())
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print pelato's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "pelato", buildVersion())
			return err
		},
	}
}

func templatesCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "templates",
		Short: "List the embedded templates",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			all := templates.Default().All()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(all)
			}
			for _, t := range all {
				fmt.Fprintf(out, "%s (v%d)\n  %s\n  %s\n", t.Name, t.Version, t.Signature, t.Description)
			}
			return nil
		},
	}
	formatFlag(cmd, &format, "text", "json")
	return cmd
}

func explainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "explain CODE",
		Short: "Explain a diagnostic code",
		Args:  cobra.ExactArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			var codes []string
			for _, c := range check.Catalogue() {
				codes = append(codes, string(c.Code)+"\t"+c.Title)
			}
			return codes, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			info, ok := check.Lookup(check.Code(strings.ToUpper(args[0])))
			if !ok {
				return usageError(fmt.Errorf("unknown code %q; codes are listed in docs/diagnostics.md", args[0]))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s): %s\n\nExample:\n%s\n\nFix: %s\n", info.Code, info.Severity, info.Title, indent(info.Example), info.Fix)
			return nil
		},
	}
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
