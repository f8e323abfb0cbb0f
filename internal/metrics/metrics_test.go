package metrics

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestAppendKeepsEarlierRunsWithOriginalKeys(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), []byte("# my notes\nruns:\n  - n_task: 1\n    time_total: '1.000'\n"), 0o644)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := Append(dir, Run{Command: "gen", Start: start, NTask: 3, GenTime: 12 * time.Millisecond, Total: 15 * time.Millisecond, Detail: map[string]any{"changed": 2}}); err != nil {
		t.Fatal(err)
	}
	if err := Append(dir, Run{Command: "build", Start: start, NTask: 3, ImageTime: time.Second, BuildTime: 2 * time.Second, DeployTime: 3 * time.Second, Total: 6 * time.Second}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, FileName))
	var doc struct {
		Runs []map[string]any `yaml:"runs"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 3 || !strings.Contains(string(b), "# my notes") {
		t.Fatalf("earlier content lost:\n%s", b)
	}
	gen := doc.Runs[1]
	if gen["n_task"] != 3 || gen["time_total"] != "0.015" || gen["code_gen"].(map[string]any)["gen_time"] != "0.012" {
		t.Errorf("gen run = %v", gen)
	}
	build := doc.Runs[2]
	if build["build"].(map[string]any)["components_build_time"] != "2.000" || build["deploy"].(map[string]any)["components_deploy_time"] != "3.000" {
		t.Errorf("build run = %v", build)
	}
}

func TestAppendRefusesForeignFiles(t *testing.T) {
	for _, content := range []string{"- a list\n", "runs: 3\n", "a: [unclosed\n"} {
		dir := t.TempDir()
		p := filepath.Join(dir, FileName)
		os.WriteFile(p, []byte(content), 0o644)
		if err := Append(dir, Run{Command: "gen"}); err == nil || !strings.Contains(err.Error(), "move") {
			t.Errorf("%q: want a refusal, got %v", content, err)
		}
		if b, _ := os.ReadFile(p); string(b) != content {
			t.Errorf("%q was changed", content)
		}
	}
}
