package main

import (
	"slices"
	"sort"
	"strings"

	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/spf13/cobra"
)

// completeTaskArgs gives command c shell completion of task names wherever it takes a
// task: a positional TASK (or a repeatable [task...]) in its Use line and a --task
// flag. Commands keep completion they define themselves. prepare calls it for every
// command, so a command added later with a task argument or a --task flag completes
// task names with no code of its own.
func completeTaskArgs(c *cobra.Command) {
	if f := c.Flags().Lookup("task"); f != nil {
		if _, ok := c.GetFlagCompletionFunc("task"); !ok {
			_ = c.RegisterFlagCompletionFunc("task", func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
				dir := "."
				if hasDirArg(cmd) && len(args) > 0 {
					dir = args[0]
				}
				return taskCompletions(dir, nil), cobra.ShellCompDirectiveNoFileComp
			})
		}
	}
	if c.ValidArgsFunction != nil || taskPosition(c) < 0 {
		return
	}
	c.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		pos, many := taskPosition(cmd), taskRepeatable(cmd)
		dir, rest := ".", args
		if hasDirArg(cmd) {
			if len(args) == 0 {
				// Either the project folder or, in a project, a task.
				if tasks := taskCompletions(".", nil); len(tasks) > 0 {
					return tasks, cobra.ShellCompDirectiveNoFileComp
				}
				return nil, cobra.ShellCompDirectiveFilterDirs
			}
			// The folder is optional: the same rule as the commands' (dirAndTasks).
			if d, tasks := dirAndTasks(args); len(d) > 0 {
				dir, rest = d[0], tasks
			}
			pos-- // positions after the folder
		}
		if len(rest) == pos || (many && len(rest) > pos) {
			return taskCompletions(dir, rest[min(pos, len(rest)):]), cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeTopics gives command c shell completion of the workflow's source topics
// (those a task consumes, so a message sent there runs the workflow): a positional
// TOPIC in its Use line (publish, run in the project) and a --send flag's TOPIC=
// (dev, whose folder is its first argument). Commands keep completion they define.
func completeTopics(c *cobra.Command) {
	if f := c.Flags().Lookup("send"); f != nil {
		if _, ok := c.GetFlagCompletionFunc("send"); !ok {
			_ = c.RegisterFlagCompletionFunc("send", func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
				dir := "."
				if hasDirArg(cmd) && len(args) > 0 {
					dir = args[0]
				}
				return topicCompletions(dir, "="), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
			})
		}
	}
	pos := slices.Index(useArgs(c), "TOPIC")
	if c.ValidArgsFunction != nil || pos < 0 {
		return
	}
	c.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == pos {
			return topicCompletions(".", ""), cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveDefault
	}
}

// useArgs returns the argument words of a command's Use line ("[dir]", "TASK", ...),
// without its flags ("[--nats URL]").
func useArgs(c *cobra.Command) []string {
	f := strings.Fields(c.Use)
	if len(f) == 0 {
		return nil
	}
	var out []string
	inFlag := false
	for _, w := range f[1:] {
		switch {
		case strings.HasPrefix(w, "[-"):
			inFlag = !strings.HasSuffix(w, "]")
		case inFlag:
			inFlag = !strings.HasSuffix(w, "]")
		default:
			out = append(out, w)
		}
	}
	return out
}

// hasDirArg reports whether a command's first argument is an optional project folder.
func hasDirArg(c *cobra.Command) bool {
	a := useArgs(c)
	return len(a) > 0 && a[0] == "[dir]"
}

// taskPosition returns the index of the task argument (TASK, or a repeatable
// [task...]) among a command's arguments, or -1.
func taskPosition(c *cobra.Command) int {
	for i, a := range useArgs(c) {
		if strings.EqualFold(strings.TrimSuffix(strings.Trim(a, "[]"), "..."), "task") {
			return i
		}
	}
	return -1
}

// taskRepeatable reports whether a command takes several tasks ([task...]).
func taskRepeatable(c *cobra.Command) bool {
	p := taskPosition(c)
	return p >= 0 && strings.HasSuffix(strings.Trim(useArgs(c)[p], "[]"), "...")
}

// loadWorkflow loads the workflow of the project at or above dir; nil when there is
// none or it cannot be read (completion then offers nothing).
func loadWorkflow(dir string) *workflow.Workflow {
	root, err := workflow.FindProject(dir)
	if err != nil {
		return nil
	}
	w, err := workflow.Load(root)
	if err != nil {
		return nil
	}
	return w
}

// taskCompletions returns the component names of the project at or above dir, each
// described by the task's name, but those already given; nil when there is no project
// or it cannot be read.
func taskCompletions(dir string, given []string) []cobra.Completion {
	w := loadWorkflow(dir)
	if w == nil {
		return nil
	}
	var out []cobra.Completion
	for _, t := range w.Tasks {
		name := t.Str("component_name")
		if name == "" || strings.ContainsAny(name, " \t\n") || slices.Contains(given, name) || slices.Contains(given, t.Str("name")) {
			continue
		}
		out = append(out, cobra.CompletionWithDesc(name, t.Str("name")))
	}
	return out
}

// topicCompletions returns the topics tasks of the project at or above dir consume
// (their source_topic; wildcard subscriptions are not topics one sends to), each
// followed by suffix and described by the tasks that consume it and whether it is an
// input of the workflow (no task produces it).
func topicCompletions(dir, suffix string) []cobra.Completion {
	w := loadWorkflow(dir)
	if w == nil {
		return nil
	}
	consumers := map[string][]string{}
	produced := map[string]bool{}
	var topics []string
	for _, t := range w.Tasks {
		produced[t.Str("dest_topic")] = true
	}
	for _, t := range w.Tasks {
		topic := t.Str("source_topic")
		if topic == "" || strings.ContainsAny(topic, " \t\n") || slices.Contains(strings.Split(topic, "."), "*") || slices.Contains(strings.Split(topic, "."), ">") {
			continue
		}
		if _, seen := consumers[topic]; !seen {
			topics = append(topics, topic)
		}
		consumers[topic] = append(consumers[topic], t.Str("component_name"))
	}
	sort.Strings(topics)
	out := make([]cobra.Completion, 0, len(topics))
	for _, topic := range topics {
		desc := "consumed by " + strings.Join(consumers[topic], ", ")
		if !produced[topic] {
			desc = "input of the workflow, " + desc
		}
		out = append(out, cobra.CompletionWithDesc(topic+suffix, desc))
	}
	return out
}
