package workflow

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pelato-dev/pelato/internal/userfile"
)

// FileName is the name of a project's workflow file.
const FileName = "workflow.yaml"

// TasksDir is the folder of a project holding task code.
const TasksDir = "tasks"

// Workflow is the typed view of a parsed workflow.yaml.
type Workflow struct {
	File  *File
	Tasks []*Task
}

// Task is one entry of `tasks:`, with its positions.
type Task struct {
	// Index is the task's position in the list, from 0.
	Index int
	// Node is the task's mapping (or whatever the user wrote in its place).
	Node *Node
}

// Load reads and parses <dir>/workflow.yaml.
func Load(dir string) (*Workflow, error) {
	path := filepath.Join(dir, FileName)
	content, err := userfile.Read(path, MaxFileSize)
	if errors.Is(err, userfile.ErrTooLarge) {
		return New(Parse(FileName, make([]byte, MaxFileSize+1))), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return New(Parse(FileName, content)), nil
}

// New builds the typed view of a parsed file.
func New(f *File) *Workflow {
	w := &Workflow{File: f}
	if t := f.Root.Field("tasks"); t != nil && t.Value.Kind == Sequence {
		for i, n := range t.Value.Items {
			w.Tasks = append(w.Tasks, &Task{Index: i, Node: n})
		}
	}
	return w
}

// ProjectName returns the project's name, or "".
func (w *Workflow) ProjectName() string { return w.File.Root.Str("project_name") }

// Field returns the task's entry for key, or nil.
func (t *Task) Field(key string) *Field { return t.Node.Field(key) }

// Str returns the task's scalar value for key, or "".
func (t *Task) Str(key string) string { return t.Node.Str(key) }

// Label names the task for messages: its component name, its name, or its position.
func (t *Task) Label() string {
	if c := t.Str("component_name"); c != "" {
		return c
	}
	if n := t.Str("name"); n != "" {
		return strconv.Quote(n)
	}
	return fmt.Sprintf("#%d", t.Index+1)
}

// Targets returns the task's target labels (the deprecated `target:` included).
func (t *Task) Targets() []string {
	if f := t.Field("targets"); f != nil {
		return scalars(f.Value)
	}
	if f := t.Field("target"); f != nil {
		return scalars(f.Value)
	}
	return nil
}

func scalars(n *Node) []string {
	switch n.Kind {
	case Scalar:
		if !n.IsNull() {
			return []string{n.Value}
		}
	case Sequence:
		var out []string
		for _, it := range n.Items {
			if it.Kind == Scalar && !it.IsNull() {
				out = append(out, it.Value)
			}
		}
		return out
	}
	return nil
}

// Int returns the task's integer value for key and whether it is set and valid.
func (t *Task) Int(key string) (int, bool) {
	f := t.Field(key)
	if f == nil || f.Value.Kind != Scalar || f.Value.Tag != "!!int" {
		return 0, false
	}
	v, err := strconv.ParseInt(f.Value.Value, 0, 64)
	if err != nil || v < -1<<31 || v > 1<<31-1 {
		return 0, false
	}
	return int(v), true
}

// Spec is a task's plain values, for the pipeline. It is meaningful only for a
// workflow without errors.
type Spec struct {
	Name          string            `json:"name"`
	Type          string            `json:"type"`
	Code          string            `json:"code"`
	Targets       []string          `json:"targets"`
	SourceTopic   string            `json:"source_topic"`
	DestTopic     string            `json:"dest_topic,omitempty"`
	ComponentName string            `json:"component_name"`
	Version       string            `json:"version"`
	Bucket        string            `json:"bucket,omitempty"`
	Instances     int               `json:"instances"`
	HTTPPort      int               `json:"http_port,omitempty"`
	HTTPHost      string            `json:"http_host,omitempty"`
	Config        map[string]string `json:"config,omitempty"`
}

// DefaultHTTPPort is the port an HTTP producer listens on when http_port is absent.
const DefaultHTTPPort = 8000

// DefaultHTTPHost is the Host header that routes to an HTTP producer on wasmcloud2
// when http_host is absent: <component_name>.localhost (every *.localhost name
// resolves to the loopback address, so it works against a local cluster as is).
func DefaultHTTPHost(componentName string) string { return componentName + ".localhost" }

// Spec returns the task's values with defaults applied.
func (t *Task) Spec() Spec {
	s := Spec{
		Name: t.Str("name"), Type: t.Str("type"), Code: t.Str("code"), Targets: t.Targets(),
		SourceTopic: t.Str("source_topic"), DestTopic: t.Str("dest_topic"),
		ComponentName: t.Str("component_name"), Version: t.Str("version"), Bucket: t.Str("bucket"),
		Instances: 1, HTTPPort: DefaultHTTPPort,
	}
	if n, ok := t.Int("instances"); ok {
		s.Instances = n
	}
	if n, ok := t.Int("http_port"); ok {
		s.HTTPPort = n
	}
	s.HTTPHost = t.Str("http_host")
	if s.HTTPHost == "" {
		s.HTTPHost = DefaultHTTPHost(s.ComponentName)
	}
	if f := t.Field("config"); f != nil && f.Value.Kind == Mapping {
		s.Config = map[string]string{}
		for _, e := range f.Value.Fields {
			if e.Value.Kind == Scalar {
				s.Config[e.Key] = e.Value.Value
			}
		}
	}
	return s
}

// Find returns the task whose component_name or name is key.
func (w *Workflow) Find(key string) (*Task, bool) {
	for _, t := range w.Tasks {
		if t.Str("component_name") == key {
			return t, true
		}
	}
	for _, t := range w.Tasks {
		if t.Str("name") == key {
			return t, true
		}
	}
	return nil, false
}

// Topics returns every subject the workflow mentions, sorted, for completion.
func (w *Workflow) Topics() []string {
	set := map[string]bool{}
	for _, t := range w.Tasks {
		for _, k := range []string{"source_topic", "dest_topic"} {
			if v := t.Str(k); v != "" {
				set[v] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The platforms pelato generates for and deploys to (the project key `platform:`).
const (
	// PlatformWasmCloud1 is wasmCloud 1.x: wadm applications over NATS. The default.
	PlatformWasmCloud1 = "wasmcloud1"
	// PlatformWasmCloud2 is wasmCloud 2.x: runtime.wasmcloud.dev/v1alpha1
	// WorkloadDeployments on Kubernetes, reconciled by the runtime-operator.
	PlatformWasmCloud2 = "wasmcloud2"
)

// Platforms returns the values `platform:` accepts, the default first.
func Platforms() []string { return []string{PlatformWasmCloud1, PlatformWasmCloud2} }

// Platform returns the workflow's `platform:` value, or PlatformWasmCloud1 when
// it is absent or empty. It does not validate the value: check does.
func (w *Workflow) Platform() string {
	if p := w.File.Root.Str("platform"); p != "" {
		return p
	}
	return PlatformWasmCloud1
}

// UnknownPlatformError is returned for a `platform:` value or --platform flag that is
// not one of Platforms().
type UnknownPlatformError struct {
	// Value is what was given; From says where ("--platform", "workflow.yaml").
	Value, From string
}

// Error names the value and the platforms there are.
func (e *UnknownPlatformError) Error() string {
	return fmt.Sprintf("%s: unknown platform %q; expected one of %s", e.From, e.Value, strings.Join(Platforms(), ", "))
}

// PlatformSummary describes a platform in a few words, for completion and help.
func PlatformSummary(p string) string {
	switch p {
	case PlatformWasmCloud1:
		return "wasmCloud 1.x: wadm applications over NATS (the default)"
	case PlatformWasmCloud2:
		return "wasmCloud 2.x: WorkloadDeployments on Kubernetes"
	}
	return ""
}

// IsPlatform reports whether p is one of Platforms().
func IsPlatform(p string) bool { return slices.Contains(Platforms(), p) }

// ResolvePlatform returns the platform a command works for: flag when it is set
// (a command line's --platform overrides the project), else the workflow's
// `platform:` key, else PlatformWasmCloud1. w may be nil. An unknown value is an
// *UnknownPlatformError.
func ResolvePlatform(flag string, w *Workflow) (string, error) {
	if flag != "" {
		if !IsPlatform(flag) {
			return "", &UnknownPlatformError{Value: flag, From: "--platform"}
		}
		return flag, nil
	}
	if w == nil {
		return PlatformWasmCloud1, nil
	}
	p := w.Platform()
	if !IsPlatform(p) {
		return "", &UnknownPlatformError{Value: p, From: FileName}
	}
	return p, nil
}
