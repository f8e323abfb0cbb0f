package lsp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// command runs a pelato command on the workflow of root.
func (c *client) command(name string, args CommandArgs) (json.RawMessage, error) {
	c.t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		c.t.Fatal(err)
	}
	var res jsonrpc2.RawMessage
	err = c.call(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: name, Arguments: []protocol.LSPAny{raw}}, &res)
	return json.RawMessage(res), err
}

func TestCommandCheck(t *testing.T) {
	c, root, _ := openProject(t, fullCaps(), "", brokenWorkflow)
	res, err := c.command(CmdCheck, CommandArgs{URI: string(fileURI(workflowPath(root)))})
	if err != nil {
		t.Fatal(err)
	}
	if string(res) != "5" {
		t.Errorf("pelato.check returned %s, want 5 diagnostics", res)
	}
	c.waitFor("check message", func(m message) bool {
		return m.method == protocol.MethodWindowShowMessage && contains(m.params, "pelato: Check: 5 diagnostics")
	})
	// Without a uri every project is checked.
	if res, err := c.command(CmdCheck, CommandArgs{}); err != nil || string(res) != "5" {
		t.Errorf("pelato.check of every project: %s, %v", res, err)
	}
	if _, err := c.command(CmdCheck, CommandArgs{URI: "file:///no/project/here.go"}); err == nil {
		t.Error("pelato.check outside a project succeeded")
	}
}

func TestCommandGen(t *testing.T) {
	c, root, _ := openProject(t, fullCaps(), "", "")
	wf := string(fileURI(workflowPath(root)))
	res, err := c.command(CmdGen, CommandArgs{URI: wf, Task: "temp_filter"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res), `"component_name":"temp_filter"`) {
		t.Errorf("gen result: %s", res)
	}
	if _, err := os.Stat(filepath.Join(root, "gen", "temp_filter")); err != nil {
		t.Fatalf("gen/temp_filter not written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "gen", "celsius_to_kelvin_conversion")); err == nil {
		t.Error("gen of one task generated another")
	}
	var kinds []string
	for _, m := range c.messages() {
		if m.method == protocol.MethodProgress {
			for _, k := range []string{"begin", "report", "end"} {
				if contains(m.params, `"kind":"`+k+`"`) {
					kinds = append(kinds, k)
				}
			}
		}
	}
	if len(kinds) < 3 || kinds[0] != "begin" || kinds[len(kinds)-1] != "end" {
		t.Errorf("progress %v, want begin, report…, end", kinds)
	}
	c.waitFor("gen message", func(m message) bool {
		return m.method == protocol.MethodWindowShowMessage && contains(m.params, "pelato: Generate: generated 1 component")
	})

	// A project with errors is not generated: the error is shown.
	c.replace(workflowPath(root), brokenWorkflow, 2)
	if _, err := c.command(CmdGen, CommandArgs{URI: wf}); err == nil {
		t.Fatal("gen of a broken project succeeded")
	}
	c.waitFor("gen error", func(m message) bool {
		return m.method == protocol.MethodWindowShowMessage && contains(m.params, `"type":1`) && contains(m.params, "pelato: Generate failed")
	})
	if _, err := c.command(CmdGen, CommandArgs{}); err == nil {
		t.Error("gen without a uri succeeded")
	}
}

func TestCommandInvoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a WASI module with the Go toolchain")
	}
	root := copyProject(t, "temperature")
	c := newClient(t, clientOptions{server: Options{CacheDir: t.TempDir()}})
	c.initialize(fullCaps(), "", root)
	wf := string(fileURI(workflowPath(root)))
	res, err := c.command(CmdInvoke, CommandArgs{URI: wf, Task: "celsius_to_kelvin_conversion", Input: "21.5"})
	if err != nil {
		t.Fatal(err)
	}
	if string(res) != `"294.65"` {
		t.Errorf("invoke returned %s, want \"294.65\"", res)
	}
	c.waitFor("invoke message", func(m message) bool {
		return m.method == protocol.MethodWindowShowMessage && contains(m.params, "pelato: Invoke: 294.65")
	})
	if _, err := c.command(CmdInvoke, CommandArgs{URI: wf, Task: "no_such_task"}); err == nil {
		t.Error("invoke of an unknown task succeeded")
	}
}
