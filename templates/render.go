package templates

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/pelato-dev/pelato/internal/wadm"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/internal/workload"
)

// ManifestFile is the name of the wadm manifest Render adds to a template's files
// (wasmcloud1).
const ManifestFile = "wadm.yaml"

// WashConfigFile is wash 2's project file Render adds on wasmcloud2: it names the
// build command.
const WashConfigFile = ".wash/config.yaml"

// templateSuffix marks the files of a template that are text/template sources;
// other files are copied as they are.
const templateSuffix = ".tmpl"

// Data is everything a template needs to render the project of one task.
//
// User-controlled strings (names, topics, targets, config) are not interpolated into
// Go source: the harness reads what it needs from runtime configuration, which the
// wadm manifest (built from structs, not text) carries. Where a value must appear
// in a generated file it is escaped for that file's syntax by the template funcs
// (goString, tomlString, witIdent, safe).
type Data struct {
	// ProjectName is the workflow's project_name.
	ProjectName string
	// Name is the task's display name (free text).
	Name string
	// ComponentName is the task's component_name.
	ComponentName string
	// Version is the task's version: image tag and wasmcloud.toml version.
	Version string
	// AppVersion optionally overrides the version annotation of the manifest.
	AppVersion string
	// SourceTopic is the subject the task consumes.
	SourceTopic string
	// DestTopic is the subject the task publishes to (publishing templates).
	DestTopic string
	// Bucket is the key-value bucket (key-value templates).
	Bucket string
	// Targets are the host-type labels of the hosts that may run the task.
	Targets []string
	// Instances is the number of instances per target (below 1 means 1).
	Instances int
	// HTTPPort is the listen port of an HTTP template (0 means 8000).
	HTTPPort int
	// Config is the task's own runtime configuration.
	Config map[string]string
	// Registry is the OCI registry the image is pushed to, used when Image is empty.
	Registry string
	// Image is the component's OCI reference; empty means
	// <Registry>/<ComponentName>:<Version>.
	Image string
	// SourceHash is the hash of the task's code, recorded in the manifest's
	// annotations so that a code change is a manifest change; "" leaves it out.
	SourceHash string
	// TemplateName and TemplateVersion identify the template; Render sets them.
	TemplateName    string
	TemplateVersion int
	// Platform is the platform the component is generated for
	// (workflow.Platforms()); "" means workflow.PlatformWasmCloud1.
	Platform string
	// HTTPHost is the Host header routed to an HTTP template on wasmcloud2.
	HTTPHost string
	// KeyValueStore is the identifier a key-value harness opens: the name of the
	// key-value link of the manifest (wadm.KeyValueLinkName). Render sets it, so the
	// harness and the manifest take it from one place.
	KeyValueStore string
}

// WasmCloud2 reports whether the component is generated for wasmCloud 2.
func (d Data) WasmCloud2() bool { return d.Platform == workflow.PlatformWasmCloud2 }

// ConfigInterface is the WIT interface the harness reads its runtime configuration
// through: wasi:config/runtime on wasmCloud 1 (1.9 serves only that draft),
// wasi:config/store on wasmCloud 2.
func (d Data) ConfigInterface() string {
	if d.WasmCloud2() {
		return "wasi:config/store"
	}
	return "wasi:config/runtime"
}

// ConfigWIT is ConfigInterface with its package version, as the world imports it.
func (d Data) ConfigWIT() string {
	if d.WasmCloud2() {
		return "wasi:config/store@0.2.0-rc.1"
	}
	return "wasi:config/runtime@0.2.0-draft"
}

// ConfigGoPackage is the import path of ConfigInterface's Go bindings.
func (d Data) ConfigGoPackage() string {
	if d.WasmCloud2() {
		return "pelato.dev/task/gen/wasi/config/store"
	}
	return "pelato.dev/task/gen/wasi/config/runtime"
}

// ConfigErrorType is the Go name of ConfigInterface's error variant.
func (d Data) ConfigErrorType() string {
	if d.WasmCloud2() {
		return "Error"
	}
	return "ConfigError"
}

// World returns the WIT world name of the component.
func (d Data) World() string { return witIdent(d.ComponentName) }

// Render renders the files of template t for d and adds the wadm manifest
// (ManifestFile). It returns output path (slash-separated, relative to
// gen/<component_name>/) → content. Rendering is deterministic: the same t and d
// give byte-identical files. (Tests check that generated Go parses and is gofmt-clean,
// hostile inputs included: no user string reaches Go source.)
func Render(t *Template, d Data) (map[string][]byte, error) {
	if t == nil || t.Files() == nil {
		return nil, errors.New("templates: render: no template")
	}
	d.TemplateName, d.TemplateVersion = t.Name, t.Version
	d.KeyValueStore = wadm.KeyValueLinkName
	if d.Platform == "" {
		d.Platform = workflow.PlatformWasmCloud1
	}
	if d.WasmCloud2() {
		d.KeyValueStore = d.Bucket
	}
	if err := checkData(d); err != nil {
		return nil, fmt.Errorf("templates: render %s: %w", t.Name, err)
	}
	files, err := t.parsed()
	if err != nil {
		return nil, fmt.Errorf("templates: render %s: %w", t.Name, err)
	}
	out := make(map[string][]byte, len(files)+1)
	for _, f := range files {
		if f.tmpl == nil {
			out[f.name] = f.raw
			continue
		}
		var buf bytes.Buffer
		if err := f.tmpl.Execute(&buf, d); err != nil {
			return nil, fmt.Errorf("templates: render %s: %s: %w", t.Name, f.name, err)
		}
		out[f.name] = buf.Bytes()
	}
	if d.WasmCloud2() {
		wd, err := WorkloadManifest(t, d)
		if err != nil {
			return nil, err
		}
		out[workload.FileName] = wd
		out[WashConfigFile] = washConfig(t, d)
		return out, nil
	}
	manifest, err := Manifest(t, d)
	if err != nil {
		return nil, err
	}
	out[ManifestFile] = manifest
	return out, nil
}

// WorkloadManifest returns the workloaddeployment.yaml of the task d describes
// (wasmcloud2): a header comment and the WorkloadDeployments workload.Build makes
// of the template's facts, one per target.
func WorkloadManifest(t *Template, d Data) ([]byte, error) {
	in := workload.Input{
		ProjectName: d.ProjectName, TaskName: d.Name, ComponentName: d.ComponentName,
		Image: wadm.ImageRef(buildInput(t, d)), Targets: d.Targets, Instances: d.Instances,
		SourceTopic: d.SourceTopic, ConsumerGroup: d.ComponentName, Publishes: t.Publishes,
		KeyValue: slices.Contains(t.Providers, wadm.ProviderKeyValueNATS), Logging: true,
		Config: maps.Clone(d.Config),
	}
	if t.HTTP {
		in.HTTPHost = d.HTTPHost
		if in.HTTPHost == "" {
			in.HTTPHost = workflow.DefaultHTTPHost(d.ComponentName)
		}
	}
	if t.Publishes {
		if in.Config == nil {
			in.Config = map[string]string{}
		}
		in.Config[wadm.ConfigDestTopic] = d.DestTopic
	}
	header := fmt.Sprintf("Generated by pelato (template %s, version %d). Do not edit: run `pelato gen`.\n"+
		"pelato deploy applies it (server-side apply, field manager pelato) in the namespace it is given.", safe(t.Name), t.Version)
	wds := workload.Build(in)
	for _, wd := range wds {
		if err := workload.Validate(wd); err != nil {
			return nil, fmt.Errorf("templates: render %s: %w", t.Name, err)
		}
	}
	b, err := workload.Encode(header, wds)
	if err != nil {
		return nil, fmt.Errorf("templates: workload manifest of %s: %w", d.ComponentName, err)
	}
	return b, nil
}

// washConfig returns .wash/config.yaml: the command wash 2 runs to build the
// component (the build pelato's builder runs, from the same wasmcloud.toml settings).
func washConfig(t *Template, d Data) []byte {
	world := witIdent(d.ComponentName)
	return []byte(fmt.Sprintf(`# Generated by pelato (template %s, version %d). Do not edit: run `+"`pelato gen`"+`.
build:
  command: go generate ./... && tinygo build -target wasip2 -scheduler asyncify --wit-package ./wit --wit-world %s -o build/%s.wasm .
  component_path: build/%s.wasm
`, safe(t.Name), t.Version, world, safe(d.ComponentName), safe(d.ComponentName)))
}

// Manifest returns the wadm.yaml of the task d describes, rendered with template t:
// a header comment and the manifest wadm.Build makes of the template's facts.
func Manifest(t *Template, d Data) ([]byte, error) {
	m := wadm.Build(buildInput(t, d))
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("templates: wadm manifest of %s: %w", d.ComponentName, err)
	}
	body, err := wadm.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	header := fmt.Sprintf("# Generated by pelato (template %s, version %d). Do not edit: run `pelato gen`.\n",
		safe(t.Name), t.Version)
	return append([]byte(header), body...), nil
}

// buildInput maps the template facts and task data to wadm.Build's input.
func buildInput(t *Template, d Data) wadm.BuildInput {
	return wadm.BuildInput{
		Name:            d.Name,
		ComponentName:   d.ComponentName,
		Version:         d.Version,
		AppVersion:      d.AppVersion,
		Image:           d.Image,
		Registry:        d.Registry,
		Targets:         d.Targets,
		Instances:       d.Instances,
		SourceTopic:     d.SourceTopic,
		DestTopic:       d.DestTopic,
		Publishes:       t.Publishes,
		Providers:       t.Providers,
		HTTPPort:        d.HTTPPort,
		Bucket:          d.Bucket,
		Config:          d.Config,
		Template:        t.Name,
		TemplateVersion: t.Version,
		SourceHash:      d.SourceHash,
	}
}

// checkData reports data no template can render.
func checkData(d Data) error {
	switch {
	case d.ComponentName == "":
		return errors.New("component name is empty")
	case d.Version == "":
		return errors.New("version is empty")
	case d.Image == "" && d.Registry == "":
		return errors.New("neither an image reference nor a registry is set")
	case !utf8.ValidString(d.ComponentName) || !utf8.ValidString(d.Version):
		return errors.New("component name and version must be valid UTF-8")
	}
	return nil
}

// parsedFile is one file of a template's files/ tree, ready to render.
type parsedFile struct {
	name string             // output path, without .tmpl
	tmpl *template.Template // nil for a file copied as it is
	raw  []byte
}

// parse reads the template's files/ tree and parses every .tmpl once; Render reuses
// the result (the embedded files never change).
func (t *Template) parse() ([]parsedFile, error) {
	var out []parsedFile
	err := fs.WalkDir(t.Files(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		src, err := fs.ReadFile(t.Files(), p)
		if err != nil {
			return err
		}
		f := parsedFile{name: p, raw: src}
		if strings.HasSuffix(p, templateSuffix) {
			f.name = strings.TrimSuffix(p, templateSuffix)
			if f.tmpl, err = template.New(p).Option("missingkey=error").Funcs(funcMap()).Parse(string(src)); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		if f.name == ManifestFile {
			return fmt.Errorf("%s: the manifest is built by pelato, not a template", p)
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

// funcMap returns the functions templates may call; each escapes its argument for
// one syntax.
func funcMap() template.FuncMap {
	return template.FuncMap{
		// goString: a Go interpreted string literal, quotes included.
		"goString": strconv.Quote,
		// tomlString: a TOML basic string, quotes included.
		"tomlString": tomlString,
		// witIdent: a WIT identifier.
		"witIdent": witIdent,
		// safe: only [A-Za-z0-9._-], for comments.
		"safe": safe,
	}
}

// tomlString returns s as a TOML basic string, quotes included. Invalid UTF-8
// becomes U+FFFD.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// witIdent turns s into a WIT identifier: lower-case ASCII words joined by '-',
// each starting with a letter (a word starting with a digit gets an "n" prefix).
// Anything else separates words. An empty result is "task"; a WIT keyword gets a
// "-task" suffix.
func witIdent(s string) string {
	var words []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			w := cur.String()
			if w[0] >= '0' && w[0] <= '9' {
				w = "n" + w
			}
			words = append(words, w)
			cur.Reset()
		}
	}
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			cur.WriteRune(r)
		} else {
			flush()
		}
	}
	flush()
	id := strings.Join(words, "-")
	switch {
	case id == "":
		return "task"
	case isWITKeyword(id):
		return id + "-task"
	}
	return id
}

// isWITKeyword reports whether s is a reserved word of WIT.
func isWITKeyword(s string) bool {
	switch s {
	case "as", "async", "bool", "borrow", "char", "constructor", "enum", "error-context", "export",
		"f32", "f64", "flags", "float32", "float64", "from", "func", "future", "import", "include",
		"interface", "list", "own", "package", "record", "resource", "result", "option", "s8", "s16",
		"s32", "s64", "static", "stream", "string", "tuple", "type", "u8", "u16", "u32", "u64",
		"use", "variant", "with", "world":
		return true
	}
	return false
}

// safe keeps only [A-Za-z0-9._-] of s.
func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
