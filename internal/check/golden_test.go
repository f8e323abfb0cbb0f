package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelato-dev/pelato/internal/span"
)

// projectsDir holds the corpus of projects, each with an expect.golden.
const projectsDir = "../../testdata/projects"

// FormatGolden renders diagnostics as stable text: one line per diagnostic with 1-based
// character positions, then its fixes and related locations indented.
func formatGolden(res *Result) string {
	var b strings.Builder
	mappers := map[string]*span.Mapper{}
	pos := func(file string, r span.Range) string {
		m, ok := mappers[file]
		if !ok {
			m = span.NewMapper(res.Files[file])
			mappers[file] = m
		}
		s, e := m.Point(r.Start), m.Point(r.End)
		return fmt.Sprintf("%s:%d:%d-%d:%d", file, s.Line, s.Col, e.Line, e.Col)
	}
	for _, d := range res.Diagnostics {
		fmt.Fprintf(&b, "%s %s %s %s\n", pos(d.File, d.Range), d.Severity, d.Code, d.Message)
		for _, f := range d.Fixes {
			if f.Title == "" {
				continue
			}
			fmt.Fprintf(&b, "    fix: %s\n", f.Title)
			for _, e := range f.Edits {
				fmt.Fprintf(&b, "        %s %q\n", pos(e.File, e.Range), e.NewText)
			}
			if f.Create != nil {
				fmt.Fprintf(&b, "        create %s (%d bytes)\n", f.Create.File, len(f.Create.Content))
			}
		}
		for _, r := range d.Related {
			fmt.Fprintf(&b, "    related: %s %s\n", pos(r.File, r.Range), r.Message)
		}
	}
	return b.String()
}

func TestProjectsGolden(t *testing.T) {
	entries, err := os.ReadDir(projectsDir)
	if err != nil {
		t.Fatal(err)
	}
	broken := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(projectsDir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			abs, _ := filepath.Abs(dir)
			res, err := Project(context.Background(), Options{Root: abs})
			if err != nil {
				t.Fatal(err)
			}
			got := formatGolden(res)
			golden := filepath.Join(dir, "expect.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s (go test -update rewrites it)\n--- got\n%s--- want\n%s", golden, got, want)
			}
			if strings.HasPrefix(e.Name(), "good_") {
				for _, d := range res.Diagnostics {
					if d.Severity <= Warning {
						t.Errorf("good project has %s %s: %s", d.Severity, d.Code, d.Message)
					}
				}
			} else if len(res.Diagnostics) == 0 {
				t.Errorf("broken project has no diagnostics")
			}
		})
		if !strings.HasPrefix(e.Name(), "good_") {
			broken++
		}
	}
	if broken < 40 {
		t.Errorf("corpus has %d broken projects; keep at least 40", broken)
	}
}
