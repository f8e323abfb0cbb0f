// Package metrics appends one record per run to <project>/metrics.yaml under `runs:`,
// with the original PELATO's keys (n_task, code_gen.gen_time, build.image_build_time,
// build.components_build_time, deploy.components_deploy_time, time_total; seconds with
// three decimals, as strings like the original wrote them) and pelato's own detail.
package metrics

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pelato-dev/pelato/internal/userfile"
)

// FileName is the metrics file in a project folder.
const FileName = "metrics.yaml"

// Run is one run's record. Zero durations are left out.
type Run struct {
	Command    string
	Start      time.Time
	NTask      int
	GenTime    time.Duration
	ImageTime  time.Duration
	BuildTime  time.Duration
	DeployTime time.Duration
	Total      time.Duration
	// Detail is pelato's own extra data (per-component timings, cache hits, ...).
	Detail map[string]any
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func (r Run) node() map[string]any {
	m := map[string]any{
		"command":    r.Command,
		"started_at": r.Start.UTC().Format(time.RFC3339),
		"n_task":     r.NTask,
		"time_total": seconds(r.Total),
	}
	if r.GenTime > 0 {
		m["code_gen"] = map[string]any{"gen_time": seconds(r.GenTime)}
	}
	build := map[string]any{}
	if r.ImageTime > 0 {
		build["image_build_time"] = seconds(r.ImageTime)
	}
	if r.BuildTime > 0 {
		build["components_build_time"] = seconds(r.BuildTime)
	}
	if len(build) > 0 {
		m["build"] = build
	}
	if r.DeployTime > 0 {
		m["deploy"] = map[string]any{"components_deploy_time": seconds(r.DeployTime)}
	}
	if len(r.Detail) > 0 {
		m["pelato"] = r.Detail
	}
	return m
}

// MaxFileSize bounds the metrics.yaml Append reads (about 200 000 runs).
const MaxFileSize = 64 << 20

// Append adds run to dir/metrics.yaml, keeping every earlier run (and comments). A
// metrics.yaml that is not a mapping with a `runs:` list is left alone and reported.
func Append(dir string, run Run) error {
	path := filepath.Join(dir, FileName)
	var doc yaml.Node
	data, err := userfile.Read(path, MaxFileSize)
	switch {
	case os.IsNotExist(err) || (err == nil && len(bytes.TrimSpace(data)) == 0):
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	case err != nil:
		return fmt.Errorf("metrics: %w", err)
	default:
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("metrics: %s is not valid YAML (%v); move it away to start a new one", path, err)
		}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("metrics: %s is not a mapping with `runs:`; move it away to start a new one", path)
	}
	var runs *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "runs" {
			runs = root.Content[i+1]
		}
	}
	if runs == nil {
		runs = &yaml.Node{Kind: yaml.SequenceNode}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "runs"}, runs)
	}
	if runs.Kind != yaml.SequenceNode {
		return fmt.Errorf("metrics: `runs` in %s is not a list; move the file away to start a new one", path)
	}
	var n yaml.Node
	if err := n.Encode(run.node()); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	runs.Content = append(runs.Content, &n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
