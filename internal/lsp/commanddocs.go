package lsp

// CommandDoc describes a command of the server's table as editors offer it, for
// editor integrations that mirror the table (editors/vscode/src/commands.json)
// and their documentation.
type CommandDoc struct {
	// Name is the command of workspace/executeCommand, e.g. "pelato.gen".
	Name string `json:"command"`
	// Verb is Name without "pelato.", e.g. "gen"; the source actions have the kind
	// source.pelato.<verb>.
	Verb string `json:"verb"`
	// Label names the operation, e.g. "Generate" (the title without "pelato: ").
	Label string `json:"label"`
	// Task and Workflow report whether the command is offered for one task and for
	// the whole workflow (source actions).
	Task     bool `json:"task"`
	Workflow bool `json:"workflow"`
	// TaskLens and WorkflowLens report whether a code lens offers it on each task
	// and on the first line of workflow.yaml.
	TaskLens     bool `json:"taskLens"`
	WorkflowLens bool `json:"workflowLens"`
	// Input reports whether the command takes an input (CommandArgs.Input).
	Input bool `json:"input"`
}

// CommandDocs returns the commands a server built with New offers editors as code
// lenses and source actions, in the order editors list them; helpers of quick
// fixes (pelato.createFile) are not among them.
func CommandDocs() []CommandDoc {
	s := New(Options{})
	defer s.stop()
	var out []CommandDoc
	for _, o := range s.offers() {
		c := o.cmd
		out = append(out, CommandDoc{
			Name: o.name, Verb: o.name[len("pelato."):], Label: o.label,
			Task: !c.NoTask, Workflow: !c.NoWorkflow,
			TaskLens:     !c.NoTask && !c.NoLens && !c.NoTaskLens,
			WorkflowLens: !c.NoWorkflow && !c.NoLens,
			Input:        c.Input,
		})
	}
	return out
}
