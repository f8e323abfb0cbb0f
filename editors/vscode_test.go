package editors_test

// The VS Code extension (editors/vscode). VS Code itself cannot run here, so
// the extension is checked the ways that can: type-check and lint, its unit
// tests on stubbed vscode modules and its integration test against the real
// pelato-lsp (npm test, node's test runner), the packaged .vsix, and its
// settings against the server's table.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/lsp"
)

// vsixBudget is the most the packaged extension may weigh.
const vsixBudget = 1 << 20

// extensionOnly are the extension's own settings, never sent to the server
// (EXTENSION_ONLY in editors/vscode/src/settings.ts).
var extensionOnly = []string{"pelato.path", "pelato.trace.server"}

// vscodeManifest reads editors/vscode/package.json.
func vscodeManifest(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("vscode", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("package.json: %v", err)
	}
	return m
}

// TestVSCodeSettingsMirror: the extension declares exactly the server's
// settings (internal/lsp SettingDocs) as pelato.<key>, with the same type,
// default, allowed values, bounds and description, plus its own.
func TestVSCodeSettingsMirror(t *testing.T) {
	conf := vscodeManifest(t)["contributes"].(map[string]any)["configuration"].(map[string]any)
	props := conf["properties"].(map[string]any)
	want := slices.Clone(extensionOnly)
	for _, d := range lsp.SettingDocs() {
		name := "pelato." + d.Key
		want = append(want, name)
		p, ok := props[name].(map[string]any)
		if !ok {
			t.Errorf("package.json lacks the server setting %s", name)
			continue
		}
		check := func(field string, got, want any) {
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s is %#v in package.json, %#v in the server's table", name, field, got, want)
			}
		}
		check("type", p["type"], d.Type)
		check("description", p["description"], d.Description)
		def := d.Default
		if n, ok := def.(int); ok {
			def = float64(n)
		}
		check("default", p["default"], def)
		var enum []any
		for _, e := range d.Enum {
			enum = append(enum, e)
		}
		got, _ := p["enum"].([]any)
		check("enum", got, enum)
		if d.Type == "integer" {
			check("minimum", p["minimum"], float64(d.Minimum))
			check("maximum", p["maximum"], float64(d.Maximum))
		}
	}
	var have []string
	for name := range props {
		have = append(have, name)
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("package.json settings %q, want the server's and the extension's own %q", have, want)
	}
	if scope := props["pelato.path"].(map[string]any)["scope"]; scope != "machine" {
		t.Errorf("pelato.path has scope %v, want machine (a workspace must not choose the program run)", scope)
	}
}

// requireNode returns the paths of node and npm (Node.js 20 or later), or
// skips (fails under CI=true).
func requireNode(t *testing.T) (node, npm string) {
	t.Helper()
	node = requireTool(t, "node", "Node.js 20+")
	npm = requireTool(t, "npm", "npm")
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if major < 20 {
		missing(t, fmt.Sprintf("Node.js %s is older than 20", v))
	}
	return node, npm
}

// npmRun runs npm with args in editors/vscode and fails with its output.
func npmRun(t *testing.T, npm string, env []string, timeout time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, args...)
	cmd.Dir = "vscode"
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("npm %s took %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("npm %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestVSCodeExtension runs the extension's checks as CI does: npm ci (when
// node_modules is missing), type-check and lint, the node tests (unit tests
// and the integration test against the pelato-lsp built here), then packages
// the .vsix and checks what it holds.
func TestVSCodeExtension(t *testing.T) {
	t.Parallel()
	_, npm := requireNode(t)
	if _, err := os.Stat(filepath.Join("vscode", "node_modules", ".package-lock.json")); err != nil {
		t.Log("editors/vscode/node_modules is missing: running npm ci")
		npmRun(t, npm, nil, 5*time.Minute, "ci")
	}
	npmRun(t, npm, nil, 3*time.Minute, "run", "check")
	out := npmRun(t, npm, []string{"PELATO_LSP=" + server(t)}, 5*time.Minute, "test")
	// node's test runner closes with its counts: every test ran, none skipped.
	for _, want := range []string{"\n# fail 0\n", "\n# skipped 0\n", "\n# cancelled 0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("npm test output lacks %q:\n%s", strings.TrimSpace(want), out)
		}
	}
	if i := strings.LastIndex(out, "# tests "); i >= 0 {
		t.Logf("node --test: %s", strings.SplitN(out[i:], "\n", 2)[0])
	}

	vsix := filepath.Join("vscode", "pelato.vsix")
	os.Remove(vsix)
	npmRun(t, npm, nil, 3*time.Minute, "run", "package")
	checkVSIX(t, vsix)
}

// checkVSIX checks the packaged extension: the manifest, the bundle, the
// schema (identical to schemas/workflow.schema.json), the licence and README;
// no node_modules, sources or tests; under the size budget.
func checkVSIX(t *testing.T, vsix string) {
	t.Helper()
	st, err := os.Stat(vsix)
	if err != nil {
		t.Fatalf("npm run package wrote no %s: %v", vsix, err)
	}
	if st.Size() >= vsixBudget {
		t.Errorf("%s is %d bytes, over the budget of %d", vsix, st.Size(), vsixBudget)
	}
	t.Logf("%s: %d bytes", vsix, st.Size())
	zr, err := zip.OpenReader(vsix)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
		switch {
		case strings.Contains(f.Name, "node_modules/"):
			t.Errorf("the .vsix holds node_modules: %s", f.Name)
		case strings.HasSuffix(f.Name, ".ts"), strings.HasSuffix(f.Name, ".map"),
			strings.HasPrefix(f.Name, "extension/src/"), strings.HasPrefix(f.Name, "extension/test/"):
			t.Errorf("the .vsix holds a source, map or test file: %s", f.Name)
		}
	}
	read := func(name string) []byte {
		t.Helper()
		f := files[name]
		if f == nil {
			var names []string
			for n := range files {
				names = append(names, n)
			}
			slices.Sort(names)
			t.Fatalf("the .vsix lacks %s; it holds %q", name, names)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(rc); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for _, name := range []string{"extension.vsixmanifest", "[Content_Types].xml", "extension/readme.md", "extension/LICENSE.txt"} {
		read(name)
	}
	var manifest struct {
		Main        string `json:"main"`
		Contributes struct {
			YAMLValidation []struct {
				URL string `json:"url"`
			} `json:"yamlValidation"`
		} `json:"contributes"`
	}
	if err := json.Unmarshal(read("extension/package.json"), &manifest); err != nil {
		t.Fatal(err)
	}
	bundle := read("extension/" + strings.TrimPrefix(manifest.Main, "./"))
	if !bytes.Contains(bundle, []byte("workspace/executeCommand")) || bytes.Contains(bundle, []byte(`require("vscode-languageclient`)) {
		t.Errorf("%s does not look like the bundle with vscode-languageclient inside", manifest.Main)
	}
	if len(manifest.Contributes.YAMLValidation) != 1 {
		t.Fatalf("yamlValidation: %+v", manifest.Contributes.YAMLValidation)
	}
	schema := read("extension/" + strings.TrimPrefix(manifest.Contributes.YAMLValidation[0].URL, "./"))
	want, err := os.ReadFile(filepath.Join(repoRoot(t), "schemas", "workflow.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(schema, want) {
		t.Error("the schema in the .vsix differs from schemas/workflow.schema.json")
	}
}

// commandsJSON is the server's command table as the extension reads it
// (generated: go test ./editors -run TestVSCodeCommandTable -update).
var commandsJSON = filepath.Join("vscode", "src", "commands.json")

// commandTable is the content of commandsJSON.
type commandTable struct {
	Generated string           `json:"generated"`
	Commands  []lsp.CommandDoc `json:"commands"`
}

// TestVSCodeCommandTable: editors/vscode/src/commands.json is the server's
// command table (lsp.CommandDocs), from which the extension knows which palette
// commands run a verb for a task or for the workflow; package.json contributes
// exactly those palette commands, and the extension's README lists every
// command (a table generated between markers).
func TestVSCodeCommandTable(t *testing.T) {
	docs := lsp.CommandDocs()
	data, err := json.MarshalIndent(commandTable{
		Generated: "by go test ./editors -run TestVSCodeCommandTable -update, from internal/lsp's command table (lsp.CommandDocs); do not edit",
		Commands:  docs,
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	writeOrCompare(t, commandsJSON, data)

	// The palette: pelato.ui.task.<verb> (pelato.ui.invoke) for each command
	// offered per task, pelato.ui.workflow.<verb> for each offered for the
	// whole workflow, enabled by pelato.can.<verb> in a trusted workspace.
	contrib := vscodeManifest(t)["contributes"].(map[string]any)
	titles := map[string]string{}
	for _, c := range contrib["commands"].([]any) {
		c := c.(map[string]any)
		titles[c["command"].(string)] = c["title"].(string)
	}
	when := map[string]string{}
	for _, m := range contrib["menus"].(map[string]any)["commandPalette"].([]any) {
		m := m.(map[string]any)
		when[m["command"].(string)], _ = m["when"].(string)
	}
	var want []string
	for _, d := range docs {
		for _, id := range paletteCommands(d) {
			want = append(want, id)
			w := when[id]
			if !strings.Contains(w, "pelato.can."+d.Verb) || !strings.Contains(w, "isWorkspaceTrusted") {
				t.Errorf("package.json: palette command %s has when %q, want pelato.can.%s && isWorkspaceTrusted", id, w, d.Verb)
			}
		}
	}
	var have []string
	for id := range titles {
		if strings.HasPrefix(id, "pelato.ui.task.") || strings.HasPrefix(id, "pelato.ui.workflow.") || id == "pelato.ui.invoke" {
			have = append(have, id)
		}
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("package.json contributes the verb commands %q; the server offers %q", have, want)
	}

	// The README's table of commands.
	readme := filepath.Join("vscode", "README.md")
	text, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- commands: generated by go test ./editors -run TestVSCodeCommandTable -update -->\n", "<!-- end of commands -->\n"
	i, j := bytes.Index(text, []byte(begin)), bytes.Index(text, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers of the commands table:\n%s...\n%s", readme, begin, end)
	}
	var table bytes.Buffer
	table.WriteString(begin)
	table.WriteString("| server command | Command Palette (category *pelato*) | code lenses | source actions |\n|---|---|---|---|\n")
	for _, d := range docs {
		var palette, lenses, actions []string
		for _, id := range paletteCommands(d) {
			palette = append(palette, "*"+titles[id]+"*")
		}
		ellipsis := ""
		if d.Input {
			ellipsis = "…"
		}
		if d.WorkflowLens {
			lenses = append(lenses, "the workflow")
		}
		if d.TaskLens {
			lenses = append(lenses, "each task")
		}
		if d.Task {
			actions = append(actions, "the task under the cursor")
		}
		if d.Workflow {
			actions = append(actions, "the whole workflow")
		}
		fmt.Fprintf(&table, "| `%s` (%s%s) | %s | %s | `source.pelato.%s`: %s |\n", d.Name, d.Label, ellipsis,
			orDash(strings.Join(palette, ", ")), orDash(strings.Join(lenses, ", ")), d.Verb, strings.Join(actions, ", "))
	}
	table.WriteString(end)
	got := slices.Concat(text[:i], table.Bytes(), text[j+len(end):])
	writeOrCompare(t, readme, got)
}

// paletteCommands returns the palette commands the extension contributes for a
// server command: for the task under the cursor and for the whole workflow.
func paletteCommands(d lsp.CommandDoc) []string {
	var ids []string
	if d.Task {
		if d.Verb == "invoke" {
			ids = append(ids, "pelato.ui.invoke")
		} else {
			ids = append(ids, "pelato.ui.task."+d.Verb)
		}
	}
	if d.Workflow {
		ids = append(ids, "pelato.ui.workflow."+d.Verb)
	}
	return ids
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// writeOrCompare rewrites file with data under -update, else fails unless it
// holds data.
func writeOrCompare(t *testing.T, file string, data []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", file)
		return
	}
	have, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test ./editors -run TestVSCodeCommandTable -update writes it)", err)
	}
	if !bytes.Equal(have, data) {
		t.Errorf("%s is not the server's command table (go test ./editors -run TestVSCodeCommandTable -update rewrites it)\n--- have\n%s\n--- want\n%s", file, have, data)
	}
}
