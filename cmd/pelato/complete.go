package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/spf13/cobra"
)

// completeTaskArgs gives command c shell completion of task names wherever it takes a
// task: a positional TASK in its Use line and a --task flag. Commands keep completion
// they define themselves. prepare calls it for every command, so a command added later
// with a TASK argument or a --task flag completes task names with no code of its own.
func completeTaskArgs(c *cobra.Command) {
	if f := c.Flags().Lookup("task"); f != nil {
		if _, ok := c.GetFlagCompletionFunc("task"); !ok {
			_ = c.RegisterFlagCompletionFunc("task", func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
				dir := "."
				if hasDirArg(cmd) && len(args) > 0 {
					dir = args[0]
				}
				return taskCompletions(dir), cobra.ShellCompDirectiveNoFileComp
			})
		}
	}
	if c.ValidArgsFunction != nil || taskPosition(c) < 0 {
		return
	}
	c.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		pos := taskPosition(cmd)
		switch {
		case hasDirArg(cmd) && len(args) == 0:
			// Either the project folder or, in a project, the task.
			if tasks := taskCompletions("."); len(tasks) > 0 {
				return tasks, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveFilterDirs
		case hasDirArg(cmd) && len(args) == pos && isProjectDir(args[0]):
			return taskCompletions(args[0]), cobra.ShellCompDirectiveNoFileComp
		case !hasDirArg(cmd) && len(args) == pos:
			return taskCompletions("."), cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// useArgs returns the argument words of a command's Use line ("[dir]", "TASK", ...).
func useArgs(c *cobra.Command) []string {
	f := strings.Fields(c.Use)
	if len(f) == 0 {
		return nil
	}
	return f[1:]
}

// hasDirArg reports whether a command's first argument is an optional project folder.
func hasDirArg(c *cobra.Command) bool {
	a := useArgs(c)
	return len(a) > 0 && a[0] == "[dir]"
}

// taskPosition returns the index of TASK among a command's arguments, or -1.
func taskPosition(c *cobra.Command) int {
	for i, a := range useArgs(c) {
		if strings.Trim(a, "[]") == "TASK" {
			return i
		}
	}
	return -1
}

// isProjectDir reports whether dir holds a workflow.yaml.
func isProjectDir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, workflow.FileName))
	return err == nil && !st.IsDir()
}

// taskCompletions returns the component names of the project at or above dir, each
// described by the task's name; nil when there is no project or it cannot be read.
func taskCompletions(dir string) []cobra.Completion {
	root, err := workflow.FindProject(dir)
	if err != nil {
		return nil
	}
	w, err := workflow.Load(root)
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, t := range w.Tasks {
		name := t.Str("component_name")
		if name == "" || strings.ContainsAny(name, " \t\n") {
			continue
		}
		out = append(out, cobra.CompletionWithDesc(name, t.Str("name")))
	}
	return out
}
