package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// pelato runs the CLI in-process and returns its exit code, stdout and stderr.
func pelato(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

var lineFormat = regexp.MustCompile(`^.+:\d+:\d+: (error|warning|info|hint) PL\d{3}: .+$`)

func TestCheckExampleIsClean(t *testing.T) {
	code, out, errOut := pelato(t, "check", "../../examples/temperature")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines[:len(lines)-1] {
		if !lineFormat.MatchString(l) {
			t.Errorf("line %q is not path:line:col: severity CODE: message", l)
		}
		if strings.Contains(l, " error ") || strings.Contains(l, " warning ") {
			t.Errorf("example has a problem: %s", l)
		}
	}
}

func TestCheckReportsErrorsWithCharacterColumns(t *testing.T) {
	dir := copyDir(t, "../../examples/temperature")
	wf := filepath.Join(dir, "workflow.yaml")
	b, _ := os.ReadFile(wf)
	// An emoji before the error: the column counts characters, not bytes or UTF-16 units.
	b = bytes.Replace(b, []byte("    type: processor_nats"), []byte("    type: {🌡: procesor}"), 1)
	b = bytes.Replace(b, []byte("version: 1.0.2"), []byte("version: latest"), 1)
	os.WriteFile(wf, b, 0o644)
	code, out, _ := pelato(t, "check", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "workflow.yaml:13:11: error PL103: `type` must be a string, found a mapping") {
		t.Errorf("missing type error with its position:\n%s", out)
	}
	if !strings.Contains(out, "workflow.yaml:19:14: error PL206") {
		t.Errorf("missing version error:\n%s", out)
	}
	if !strings.Contains(out, "2 errors") {
		t.Errorf("summary missing:\n%s", out)
	}
}

func TestCheckSeverityFilter(t *testing.T) {
	code, out, _ := pelato(t, "check", "--severity", "warning", "../../examples/temperature")
	if code != 0 || strings.Contains(out, "hint") || !strings.Contains(out, "no problems found") {
		t.Errorf("hints must be hidden: exit %d\n%s", code, out)
	}
	dir := copyDir(t, "../../testdata/projects/value_version_latest")
	if code, out, _ := pelato(t, "check", "--severity", "error", dir); code != 1 || !strings.Contains(out, "PL206") {
		t.Errorf("errors stay: exit %d\n%s", code, out)
	}
	if code, _, _ := pelato(t, "check", "--severity", "loud", dir); code != 2 {
		t.Errorf("bad --severity: exit %d", code)
	}
}

func TestCheckJSONAndSARIF(t *testing.T) {
	dir := copyDir(t, "../../testdata/projects/value_unknown_template")
	code, out, _ := pelato(t, "check", "--format", "json", dir)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Version     int            `json:"version"`
		Summary     map[string]int `json:"summary"`
		Diagnostics []struct {
			File     string `json:"file"`
			Code     string `json:"code"`
			Severity string `json:"severity"`
			Location struct {
				Start struct{ Line, Column int } `json:"start"`
			} `json:"location"`
			Fixes []struct {
				Title string `json:"title"`
			} `json:"fixes"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out)
	}
	if doc.Version != 2 || doc.Summary["error"] != 1 {
		t.Errorf("version/summary wrong: %+v", doc)
	}
	d := doc.Diagnostics[0]
	if d.Code != "PL201" || d.Severity != "error" || d.Location.Start.Line != 4 || d.Location.Start.Column != 11 || len(d.Fixes) != 1 {
		t.Errorf("unexpected first diagnostic: %+v", d)
	}

	code, out, _ = pelato(t, "check", "--format", "sarif", dir)
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID string } `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil || code != 1 {
		t.Fatalf("exit %d, invalid SARIF: %v", code, err)
	}
	if sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || sarif.Runs[0].Results[0].RuleID != "PL201" || sarif.Runs[0].Results[0].Level != "error" {
		t.Errorf("unexpected SARIF: %+v", sarif)
	}
}

func TestExitCodeTwo(t *testing.T) {
	empty := t.TempDir()
	for name, args := range map[string][]string{
		"missing folder":   {"check", filepath.Join(empty, "nope")},
		"no workflow.yaml": {"check", empty},
		"bad format":       {"check", "--format", "xml", "../../examples/temperature"},
		"too many args":    {"check", "a", "b"},
		"unknown command":  {"frobnicate"},
		"unknown code":     {"explain", "PL999"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := pelato(t, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.HasPrefix(errOut, "pelato: ") || strings.Contains(errOut, "goroutine") {
				t.Errorf("stderr is not a clean error: %q", errOut)
			}
		})
	}
	_, _, errOut := pelato(t, "check", empty)
	if !strings.Contains(errOut, "pelato init") {
		t.Errorf("missing workflow.yaml should suggest pelato init: %q", errOut)
	}
}

func TestInitThenCheckThenRefuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new project")
	code, out, errOut := pelato(t, "init", dir)
	if code != 0 {
		t.Fatalf("init exit %d: %s%s", code, out, errOut)
	}
	for _, f := range []string{"workflow.yaml", "tasks/uppercase.go", ".gitignore", ".env.template"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init did not write %s", f)
		}
	}
	wf, _ := os.ReadFile(filepath.Join(dir, "workflow.yaml"))
	if !strings.HasPrefix(string(wf), "# yaml-language-server: $schema=") {
		t.Errorf("workflow.yaml lacks the schema modeline")
	}
	if code, out, _ := pelato(t, "check", dir); code != 0 {
		t.Errorf("new project does not pass check:\n%s", out)
	}
	os.WriteFile(filepath.Join(dir, "tasks/uppercase.go"), []byte("// mine\n"), 0o644)
	code, _, errOut = pelato(t, "init", dir)
	if code != 2 || !strings.Contains(errOut, "refusing to overwrite") {
		t.Errorf("second init: exit %d, %q", code, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "tasks/uppercase.go")); string(b) != "// mine\n" {
		t.Errorf("init overwrote a user file")
	}
}

func TestSchemaCommandMatchesCommittedSchema(t *testing.T) {
	code, out, _ := pelato(t, "schema")
	want, err := os.ReadFile("../../schemas/workflow.schema.json")
	if code != 0 || err != nil || out != string(want) {
		t.Errorf("pelato schema differs from schemas/workflow.schema.json (exit %d, %v)", code, err)
	}
}

func TestSmallCommands(t *testing.T) {
	if code, out, _ := pelato(t, "version"); code != 0 || !strings.HasPrefix(out, "pelato ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, out, _ := pelato(t, "explain", "pl101"); code != 0 || !strings.Contains(out, "PL101") || !strings.Contains(out, "Fix:") {
		t.Errorf("explain: %d %q", code, out)
	}
	if code, out, _ := pelato(t, "templates"); code != 0 || !strings.Contains(out, "nats_to_nats-kv") {
		t.Errorf("templates: %d %q", code, out)
	}
	code, out, _ := pelato(t, "templates", "--format", "json")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 3 {
		t.Errorf("templates json: %d %q", code, out)
	}
	if code, out, _ := pelato(t, "completion", "bash"); code != 0 || !strings.Contains(out, "bash completion") {
		t.Errorf("completion: %d", code)
	}
}
