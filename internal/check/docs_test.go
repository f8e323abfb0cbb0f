package check

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

const diagnosticsDoc = "../../docs/diagnostics.md"

// renderDiagnosticsDoc renders docs/diagnostics.md from the code catalogue, so the
// documentation can never miss a code.
func renderDiagnosticsDoc() string {
	var b strings.Builder
	b.WriteString("# Diagnostic codes\n\n")
	b.WriteString("Every problem pelato reports has a stable code. `pelato explain CODE` prints the same text.\n")
	b.WriteString("Silence a code on one line with a comment on the line above (or at the end of the line):\n")
	b.WriteString("`# pelato:ignore PL303` in workflow.yaml, `// pelato:ignore PL408` in Go; for a whole file use\n")
	b.WriteString("`pelato:ignore-file CODE[,CODE...]`. Several codes are comma-separated; `all` silences every code.\n\n")
	b.WriteString("This file is generated from `internal/check/codes.go` by `go test ./internal/check -run TestDiagnosticsDoc -update`.\n\n")
	b.WriteString("| code | severity | title |\n|---|---|---|\n")
	for _, c := range Catalogue() {
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s |\n", c.Code, strings.ToLower(string(c.Code)), c.Severity, c.Title)
	}
	for _, c := range Catalogue() {
		fmt.Fprintf(&b, "\n## %s\n\n**%s** (usually %s)\n\n", c.Code, c.Title, c.Severity)
		lang := "yaml"
		if strings.HasPrefix(string(c.Code), "PL4") && c.Code != CodeTaskHasErrors {
			lang = "go"
		}
		if strings.HasPrefix(string(c.Code), "PL5") {
			lang = "sh"
		}
		if c.Example != "" {
			fmt.Fprintf(&b, "Example:\n\n```%s\n%s\n```\n\n", lang, c.Example)
		}
		fmt.Fprintf(&b, "Fix: %s\n", c.Fix)
	}
	return b.String()
}

func TestDiagnosticsDoc(t *testing.T) {
	got := renderDiagnosticsDoc()
	if *update {
		if err := os.WriteFile(diagnosticsDoc, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(diagnosticsDoc)
	if err != nil || string(want) != got {
		t.Errorf("docs/diagnostics.md is out of date: go test ./internal/check -run TestDiagnosticsDoc -update")
	}
	seen := map[Code]bool{}
	for _, c := range Catalogue() {
		if seen[c.Code] {
			t.Errorf("code %s listed twice", c.Code)
		}
		seen[c.Code] = true
		if c.Title == "" || c.Fix == "" || c.Severity == 0 {
			t.Errorf("code %s is not fully documented", c.Code)
		}
	}
}
