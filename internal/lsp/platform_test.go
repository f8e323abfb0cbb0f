package lsp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandGenUsesWorkflowPlatform: pelato.gen generates for the platform of the
// workflow as the editor holds it (here set in the unsaved buffer, not on disk).
func TestCommandGenUsesWorkflowPlatform(t *testing.T) {
	root := copyProject(t, "temperature-wasmcloud2")
	wf := workflowPath(root)
	saved := read(t, wf)
	if err := os.WriteFile(wf, []byte(strings.Replace(saved, "platform: wasmcloud2\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", root)
	c.open(wf, saved, 1)
	c.diagnostics(wf, nil)
	if _, err := c.command(CmdGen, CommandArgs{URI: string(fileURI(wf)), Task: "temp-filter"}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "gen", "temp-filter")
	if _, err := os.Stat(filepath.Join(dir, "workloaddeployment.yaml")); err != nil {
		t.Errorf("pelato.gen did not generate for wasmcloud2: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "wadm.yaml")); err == nil {
		t.Error("pelato.gen wrote wadm.yaml for a wasmcloud2 workflow")
	}
}
