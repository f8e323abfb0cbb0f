package editors_test

// The pipeline from the editors: the server's source actions (source.pelato.*)
// run through each editor's own code-action menu, and the commands shipped in
// editors/nvim/pelato.lua and editors/emacs/pelato.el, against the real
// pelato-lsp on a clean copy of examples/temperature; what they generate is
// checked on disk.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// requireGenerated fails unless gen/<component>/ of project holds a manifest.
func requireGenerated(t *testing.T, editor, project string, components ...string) {
	t.Helper()
	for _, c := range components {
		if _, err := os.Stat(filepath.Join(project, "gen", c, "wadm.yaml")); err != nil {
			t.Errorf("%s: gen/%s was not generated: %v", editor, c, err)
		}
	}
}

// nvimCommandsResult is what testdata/nvim-commands.lua writes.
type nvimCommandsResult struct {
	Verbs                 []string        `json:"verbs"`
	Menu                  []string        `json:"menu"`
	SourceActionGenerated bool            `json:"source_action_generated"`
	Messages              []string        `json:"messages"`
	Notes                 []string        `json:"notes"`
	Prompts               []string        `json:"prompts"`
	Results               []string        `json:"results"`
	UserCommands          map[string]bool `json:"user_commands"`
	Progress              []struct {
		Title   string `json:"title"`
		Message string `json:"message"`
		Done    bool   `json:"done"`
	} `json:"progress"`
}

// TestNeovimCommands runs Neovim with editors/nvim/pelato.lua: the Generate
// source action picked from vim.lsp.buf.code_action()'s menu in a task file,
// :PelatoGen on a task and :PelatoGen! for the workflow, :PelatoInvoke with its
// input prompt, the generic :Pelato, and the refusals (unknown verb, no task
// under the cursor). Progress must reach Neovim's standard $/progress handler.
func TestNeovimCommands(t *testing.T) {
	t.Parallel()
	nvim := requireTool(t, "nvim", "Neovim")
	project := exampleProject(t)
	var got nvimCommandsResult
	run(t, project, &got, nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n",
		"-c", "luafile editors/testdata/nvim-commands.lua")

	for _, v := range []string{"check", "gen", "invoke"} {
		if !slices.Contains(got.Verbs, v) {
			t.Errorf("advertised verbs %q lack %s", got.Verbs, v)
		}
	}
	// The code-action menu: the source actions of the task file's task and of
	// the whole workflow, from the server's command table.
	for _, want := range []string{"pelato: Generate task temp_filter", "pelato: Invoke task temp_filter…", "pelato: Generate all tasks"} {
		if !slices.Contains(got.Menu, want) {
			t.Errorf("code-action menu %q lacks %q", got.Menu, want)
		}
	}
	if !got.SourceActionGenerated {
		t.Error("the Generate source action of one task generated more than that task")
	}
	requireGenerated(t, "nvim", project, "temp_filter", "celsius_to_kelvin_conversion")
	if len(got.Prompts) != 1 || !strings.Contains(got.Prompts[0], "celsius_to_kelvin_conversion") {
		t.Errorf(":PelatoInvoke prompts %q, want one naming the task", got.Prompts)
	}
	if !slices.Contains(got.Results, "273.15") {
		t.Errorf("pelato.run('invoke', {input = '0'}) results %q, want 273.15", got.Results)
	}
	sawGen := false
	for _, p := range got.Progress {
		sawGen = sawGen || p.Title == "pelato: Generate"
	}
	if !sawGen {
		t.Errorf("no pelato: Generate progress reached the $/progress handler: %+v", got.Progress)
	}
	for _, want := range []string{
		"pelato: Generate: gen/ is up to date: 2 components unchanged", // :PelatoGen!
		"pelato: Invoke: 294.65", // :PelatoInvoke, 21.5 °C
		"pelato: Check: ",        // :Pelato! check
	} {
		if !slices.ContainsFunc(got.Messages, func(m string) bool { return strings.HasPrefix(m, want) }) {
			t.Errorf("no message %q in %q", want, got.Messages)
		}
	}
	for _, want := range []string{
		"the server does not offer pelato.frobnicate (it offers: ",
		"no task under the cursor (:Pelato! gen runs it for the whole workflow)",
		"pelato.invoke runs for one task only",
		"no command is running",
	} {
		if !slices.ContainsFunc(got.Notes, func(m string) bool { return strings.Contains(m, want) }) {
			t.Errorf("no notification %q in %q", want, got.Notes)
		}
	}
	for name, ok := range got.UserCommands {
		if !ok {
			t.Errorf(":%s is not defined", name)
		}
	}
	if len(got.UserCommands) == 0 {
		t.Error("no user commands reported")
	}
	t.Logf("messages: %q\nnotes: %q", got.Messages, got.Notes)
}

// emacsCommandsResult is what testdata/emacs-commands.el writes.
type emacsCommandsResult struct {
	Menu                  []string `json:"menu"`
	SourceActionGenerated bool     `json:"source_action_generated"`
	Verbs                 []string `json:"verbs"`
	Finished              []struct {
		Command string `json:"command"`
		Result  string `json:"result"`
		Error   string `json:"error"`
	} `json:"finished"`
	Refusal string `json:"refusal"`
}

// TestEmacsCommands runs Emacs with Eglot and editors/emacs/pelato.el: the
// Generate source action picked from M-x eglot-code-actions in a task file,
// M-x pelato-generate on a task and with a prefix argument for the workflow,
// M-x pelato-invoke, and the refusal of a verb the server does not offer.
func TestEmacsCommands(t *testing.T) {
	t.Parallel()
	emacs := requireTool(t, "emacs", "Emacs 28+")
	if out, err := exec.Command(emacs, "--batch", "-q", "--eval", "(require 'eglot)").CombinedOutput(); err != nil {
		missing(t, fmt.Sprintf("Emacs cannot load eglot (%v: %s)", err, strings.TrimSpace(string(out))))
	}
	project := exampleProject(t)
	var got emacsCommandsResult
	run(t, project, &got, emacs, "--batch", "-q",
		"-l", "editors/emacs/pelato.el", "-l", "editors/testdata/emacs-commands.el")

	if !slices.Equal(got.Menu, []string{"pelato: Generate task temp_filter", "pelato: Generate all tasks"}) {
		t.Errorf("eglot-code-actions menu for source.pelato.gen: %q", got.Menu)
	}
	if !got.SourceActionGenerated {
		t.Error("the Generate source action of one task generated more than that task")
	}
	requireGenerated(t, "emacs", project, "temp_filter", "celsius_to_kelvin_conversion")
	var summary []string
	for _, f := range got.Finished {
		summary = append(summary, f.Command+" "+f.Result+f.Error)
	}
	want := []string{
		"pelato.gen ", // the source action: the GenResult JSON follows
		"pelato.gen ", // pelato-generate
		"pelato.gen ", // C-u pelato-generate
		"pelato.invoke 294.65",
	}
	if len(summary) != len(want) {
		t.Fatalf("finished commands %q, want %d", summary, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(summary[i], w) || got.Finished[i].Error != "" {
			t.Errorf("command %d: %q, want %q…", i, summary[i], w)
		}
	}
	if !strings.Contains(got.Finished[2].Result, `"component_name":"celsius_to_kelvin_conversion"`) ||
		!strings.Contains(got.Finished[2].Result, `"component_name":"temp_filter"`) {
		t.Errorf("C-u pelato-generate did not cover the workflow: %s", got.Finished[2].Result)
	}
	if !strings.Contains(got.Refusal, "does not offer pelato.frobnicate") {
		t.Errorf("unknown verb: %q", got.Refusal)
	}
}
