// Package scaffold writes a new pelato project: workflow.yaml with a schema modeline,
// an example task, a .gitignore for gen/ and a .env.template. It never overwrites.
package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/schema"
	"github.com/pelato-dev/pelato/internal/termsafe"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// Files returns the files of a new project named name, by relative path.
func Files(name string) map[string]string {
	comp := "uppercase"
	wf := schema.Modeline + "\n" +
		"project_name: " + yamlString(name) + "\n" +
		"tasks:\n" +
		"  - name: Uppercase\n" +
		"    type: processor_nats\n" +
		"    code: " + comp + ".go\n" +
		"    targets: [edge]\n" +
		"    source_topic: text.in\n" +
		"    dest_topic: text.upper\n" +
		"    component_name: " + comp + "\n" +
		"    version: 0.1.0\n"
	task := "//go:build ignore\n\n" + // lets gopls treat each task file as its own program
		"package main\n\nimport \"strings\"\n\n" +
		"// exec_task is called with each message's body; its result is published to dest_topic.\n" +
		"func exec_task(arg string) string {\n\treturn strings.ToUpper(arg)\n}\n"
	return map[string]string{
		workflow.FileName:                      wf,
		workflow.TasksDir + "/" + comp + ".go": task,
		".gitignore":                           "# written by pelato\ngen/\nmetrics.yaml\n.env\n",
		".env.template":                        config.Template(),
	}
}

func yamlString(s string) string {
	if s == "" || strings.ContainsAny(s, ":#{}[],&*!|>'\"%@`\n") || strings.TrimSpace(s) != s {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return s
}

// CheckName refuses a project name holding a control character, a line break,
// invalid UTF-8 or a character that changes how text around it is displayed (a
// bidirectional override): the name is written into workflow.yaml and printed by
// every command. from says where the name came from ("--name", "the folder's name").
func CheckName(name, from string) error {
	if safe := termsafe.Line(name); safe != name {
		return fmt.Errorf("the project name \"%s\" (%s) holds control characters or invalid UTF-8 (shown escaped); choose a name of printable characters", safe, from)
	}
	return nil
}

// Init writes a new project into dir (created when missing). It refuses, writing
// nothing, when any of the files it would write already exists, or when the name
// (or, when name is "", the folder's name) holds control characters.
func Init(dir, name string) ([]string, error) {
	from := "--name"
	if name == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		name, from = filepath.Base(abs), "the folder's name; give another with --name"
	}
	if err := CheckName(name, from); err != nil {
		return nil, fmt.Errorf("init %s: %w", termsafe.Line(dir), err)
	}
	files := Files(name)
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var existing []string
	for _, p := range paths {
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(p))); err == nil {
			existing = append(existing, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("init %s: %w", dir, err)
		}
	}
	if len(existing) > 0 {
		return nil, fmt.Errorf("init %s: refusing to overwrite %s; pelato init only creates new files", dir, strings.Join(existing, ", "))
	}
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, fmt.Errorf("init %s: %w", dir, err)
		}
		f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, fmt.Errorf("init %s: %w", dir, err)
		}
		_, werr := f.WriteString(files[p])
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("init %s: write %s: %w", dir, p, werr)
		}
	}
	return paths, nil
}
