package lsp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

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

// limitsTask loops, allocates or returns its input, for TestCommandInvokeLimits.
const limitsTask = `package main

import "strconv"

var keep [][]byte

func exec_task(arg string) string {
	if arg == "loop" {
		for n := 0; ; n++ {
			if n < 0 {
				return "never"
			}
		}
	}
	if mib, err := strconv.Atoi(arg); err == nil {
		for i := 0; i < mib; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		keep = nil
		return "allocated " + arg + " MiB"
	}
	return arg
}
`

// rss returns this process's resident set size.
func rss(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * uint64(os.Getpagesize())
}

// TestCommandInvokeLimits runs pelato.invoke with the server's limits: a looping task
// is stopped by invokeTimeoutMs, and after a run that used 1 GiB the server's memory
// returns within 10 s to less than twice what it was before.
func TestCommandInvokeLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a WASI module with the Go toolchain")
	}
	root := copyProject(t, "temperature")
	if err := os.WriteFile(filepath.Join(root, "tasks", "filter.go"), []byte(limitsTask), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, clientOptions{server: Options{CacheDir: t.TempDir()}})
	c.initialize(fullCaps(), `{"invokeTimeoutMs": 500, "invokeMemoryMiB": 2048}`, root)
	wf := string(fileURI(workflowPath(root)))
	if res, err := c.command(CmdInvoke, CommandArgs{URI: wf, Task: "temp_filter", Input: "warm"}); err != nil || string(res) != `"warm"` {
		t.Fatalf("warm-up invoke: %s, %v", res, err)
	}
	start := time.Now()
	_, err := c.command(CmdInvoke, CommandArgs{URI: wf, Task: "temp_filter", Input: "loop"})
	if err == nil || !strings.Contains(err.Error(), "time limit of 500ms") {
		t.Fatalf("looping invoke: %v, want the time limit named", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the loop was stopped after %v", d)
	}

	// Touching 1 GiB takes seconds on a loaded machine: lift the time limit.
	c.notify(protocol.MethodWorkspaceDidChangeConfiguration, &protocol.DidChangeConfigurationParams{Settings: protocol.LSPAny(`{"pelato": {"invokeTimeoutMs": 0}}`)})
	runtime.GC()
	before := rss(t)
	if res, err := c.command(CmdInvoke, CommandArgs{URI: wf, Task: "temp_filter", Input: "1024"}); err != nil || string(res) != `"allocated 1024 MiB"` {
		t.Fatalf("1 GiB invoke: %s, %v", res, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		after := rss(t)
		if after < 2*before {
			t.Logf("RSS %d MiB before, %d MiB after a 1 GiB run", before>>20, after>>20)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("RSS %d MiB 10 s after a 1 GiB run, want < 2 × %d MiB", after>>20, before>>20)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A setting outside its range is refused with a message.
	if _, err := (Config{}).apply([]byte(`{"invokeMemoryMiB": 8192}`)); err == nil || !strings.Contains(err.Error(), "invokeMemoryMiB") {
		t.Errorf("invokeMemoryMiB 8192: %v", err)
	}
	if cfg, err := (Config{}).apply([]byte(`{"invokeTimeoutMs": 0}`)); err != nil || cfg.Invoke.Timeout >= 0 {
		t.Errorf("invokeTimeoutMs 0 = %v, %v; want no limit", cfg.Invoke.Timeout, err)
	}
}
