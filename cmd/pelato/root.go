package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelato-dev/pelato/internal/buildinfo"
	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/report"
	"github.com/pelato-dev/pelato/internal/scaffold"
	"github.com/pelato-dev/pelato/internal/schema"
	"github.com/pelato-dev/pelato/internal/termsafe"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; without it the
// module version and revision recorded by the Go toolchain are used.
var version = ""

// buildVersion returns the version reported by `pelato version`, in SARIF and to
// language-server clients.
func buildVersion() string { return buildinfo.Read(version).Version }

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "pelato",
		Short: "Turn Go functions into WebAssembly components for wasmCloud",
		Long: `pelato turns Go functions into WebAssembly components for wasmCloud. A project is a
workflow.yaml that lists the tasks, and one Go file (or folder) per task under tasks/
with func exec_task. The commands below are what this pelato can do.

Commands that work on a project take its folder as [dir]; without it they use the
current folder or the nearest folder above it holding workflow.yaml, as git finds a
repository. Exit statuses are the same for every command: 'pelato help exit-codes'.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(checkCmd(), initCmd(), genCmd(), invokeCmd(), schemaCmd(), versionCmd(), templatesCmd(), explainCmd())
	root.AddCommand(lspCmd())
	root.AddCommand(buildCmd(), pushCmd()) // build and push (issue #8)
	root.AddCommand(brushCmd())
	root.AddCommand(devCmd(), publishCmd())
	root.AddCommand(exitCodesTopic())
	root.AddCommand(cacheCmd())
	// Deploy, remove and status: wadm over NATS (cmd/pelato/lattice.go).
	root.AddCommand(deployCmd(), removeCmd(), statusCmd())
	return root
}

// projectDir returns the project a command works on: the folder given as its [dir]
// argument or, without one, the current folder — each searched upward for the nearest
// folder holding workflow.yaml (see workflow.FindProject). No project is a usage error.
func projectDir(args []string) (string, error) {
	dir := "."
	if len(args) > 0 {
		dir = args[0]
	}
	root, err := workflow.FindProject(dir)
	if err != nil {
		return "", usageError(err)
	}
	return root, nil
}

// dirAndTasks splits [dir] [task...]: the first argument is the project folder when
// it names an existing folder or holds a path separator (task names hold neither),
// otherwise every argument is a task and the project is found from the current
// folder.
func dirAndTasks(args []string) ([]string, []string) {
	if len(args) > 0 {
		if strings.ContainsRune(args[0], '/') || strings.ContainsRune(args[0], filepath.Separator) {
			return args[:1], args[1:]
		}
		if st, err := os.Stat(args[0]); err == nil && st.IsDir() {
			return args[:1], args[1:]
		}
	}
	return nil, args
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
		Use:         "check [dir]",
		Annotations: checksProject,
		Short:       "Report every problem of the workflow and its tasks",
		Long: `check reads workflow.yaml, the task files and .env of the project (dir, or the
folder at or above the current one that holds workflow.yaml) and prints one line per problem as path:line:col: severity CODE: message,
then a summary; warnings and hints do not fail it. Codes are explained by
'pelato explain CODE' and in docs/diagnostics.md. The first check on a machine loads
Go's type information for the tasks' imports (the go command compiles the standard
library once, which can take a minute); on a terminal, check says so while it waits.`,
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
			checker := check.NewTaskChecker(check.TaskCheckerOptions{})
			defer checker.Close()
			loadTypes(cmd.Context(), cmd.ErrOrStderr(), dir, checker)
			res, err := check.Project(cmd.Context(), check.Options{Root: dir, Tasks: checker})
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
			if res.Err != nil && !check.HasErrors(res.Diagnostics) {
				// The task checks did not all run (a go.mod that cannot be read, say):
				// "no errors" would not be true.
				return usageError(fmt.Errorf("the check is incomplete: %w", res.Err))
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
		Long: `init writes a new project into dir (default: the current folder): workflow.yaml
with an example task and the schema modeline, tasks/uppercase.go, .gitignore and
.env.template. It never overwrites a file, and refuses to create a project inside the
tasks/ or gen/ folder of another one.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) > 0 {
				dir = args[0]
			}
			dir, err := filepath.Abs(dir)
			if err != nil {
				return usageError(err)
			}
			if err := notInsideProject(dir); err != nil {
				return usageError(err)
			}
			written, err := scaffold.Init(dir, name)
			if err != nil {
				return usageError(err)
			}
			out := cmd.OutOrStdout()
			for _, p := range written {
				fmt.Fprintln(out, "created", termsafe.Line(filepath.Join(dir, filepath.FromSlash(p))))
			}
			fmt.Fprintf(out, "next: pelato check %s\n", termsafe.Line(dir))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "project name (default: the folder's name)")
	return cmd
}

// notInsideProject refuses a new project folder that lies in the tasks/ or gen/ folder
// of an enclosing project (running init there is a mistake: the advice "run pelato
// init" used to lead to it).
func notInsideProject(dir string) error {
	existing := dir
	for {
		if st, err := os.Stat(existing); err == nil && st.IsDir() {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			return nil
		}
		existing = parent
	}
	root, err := workflow.FindProject(existing)
	if err != nil || root == dir {
		return nil
	}
	for _, sub := range []string{workflow.TasksDir, "gen"} {
		inner := filepath.Join(root, sub)
		if dir == inner || strings.HasPrefix(dir, inner+string(filepath.Separator)) {
			return fmt.Errorf("%s is inside the %s/ folder of the project %s; a new project there would be nested in it: run pelato in %s, or give another folder", dir, sub, root, root)
		}
	}
	return nil
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
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print pelato's version and the revision it was built from",
		Long: `version prints the module version and, when the binary was built from a checkout,
the version-control revision and its time ("modified" when the checkout had
uncommitted changes), and the Go version that built it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			info := buildinfo.Read(version)
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), info)
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "pelato", info)
			return err
		},
	}
	formatFlag(cmd, &format, "text", "json")
	return cmd
}

// writeJSON writes v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// templateJSON is one template in `pelato templates --format json`.
type templateJSON struct {
	Name         string   `json:"name"`
	Version      int      `json:"version"`
	Description  string   `json:"description"`
	Signature    string   `json:"signature"`
	Kind         string   `json:"kind"`
	Publishes    bool     `json:"publishes"`
	HTTP         bool     `json:"http"`
	RequiredKeys []string `json:"required_keys"`
	OptionalKeys []string `json:"optional_keys"`
	UnusedKeys   []string `json:"unused_keys"`
	Providers    []string `json:"providers"`
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
				list := []templateJSON{}
				for _, t := range all {
					list = append(list, templateJSON{Name: t.Name, Version: t.Version, Description: t.Description, Signature: t.Signature,
						Kind: string(t.Kind), Publishes: t.Publishes, HTTP: t.HTTP, RequiredKeys: nonNil(t.Keys.Required),
						OptionalKeys: nonNil(t.Keys.Optional), UnusedKeys: nonNil(t.Keys.Unused), Providers: nonNil(t.Providers)})
				}
				return writeJSON(out, list)
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

// nonNil returns s, or an empty slice for nil (JSON [] rather than null).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// codeJSON is one code in `pelato explain --format json`.
type codeJSON struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Title    string `json:"title"`
	Example  string `json:"example"`
	Fix      string `json:"fix"`
	URL      string `json:"url"`
}

func codeView(c check.CodeInfo) codeJSON {
	return codeJSON{Code: string(c.Code), Severity: c.Severity.String(), Title: c.Title, Example: c.Example, Fix: c.Fix, URL: report.DocURL(c.Code)}
}

func explainCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "explain [CODE]",
		Short: "Explain a diagnostic code, or list them all",
		Long: `explain CODE prints what a diagnostic code means, an example that triggers it and
how to fix it. Without CODE it lists every code with its usual severity and title.`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var codes []string
			for _, c := range check.Catalogue() {
				codes = append(codes, string(c.Code)+"\t"+c.Title)
			}
			return codes, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 0 {
				all := check.Catalogue()
				if format == "json" {
					list := make([]codeJSON, 0, len(all))
					for _, c := range all {
						list = append(list, codeView(c))
					}
					return writeJSON(out, list)
				}
				for _, c := range all {
					fmt.Fprintf(out, "%s  %-7s  %s\n", c.Code, c.Severity, c.Title)
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "'pelato explain CODE' explains one code.")
				return nil
			}
			info, ok := check.Lookup(check.Code(strings.ToUpper(args[0])))
			if !ok {
				return usageError(fmt.Errorf("unknown code %q; 'pelato explain' lists the codes", args[0]))
			}
			if format == "json" {
				return writeJSON(out, codeView(info))
			}
			fmt.Fprintf(out, "%s (%s): %s\n\nExample:\n%s\n\nFix: %s\n", info.Code, info.Severity, info.Title, indent(info.Example), info.Fix)
			return nil
		},
	}
	formatFlag(cmd, &format, "text", "json")
	return cmd
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
