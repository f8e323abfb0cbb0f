// Package templates holds pelato's embedded task templates and the registry that
// describes them. Each template is a folder <name>/ with a template.yaml manifest and a
// files/ tree of text/template sources; adding a folder adds a template, with no code
// change elsewhere: the checker, the schema, completion and hover read this registry.
package templates

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/pelato-dev/pelato/internal/workflow"

	"gopkg.in/yaml.v3"
)

//go:embed */template.yaml */files builder
var embedded embed.FS

// Kind names the shape of exec_task a template calls.
type Kind string

// The exec_task shapes.
const (
	// KindString is func exec_task(arg string) string.
	KindString Kind = "string"
	// KindKV is func exec_task(key string, data string) (string, string).
	KindKV Kind = "kv"
)

// Template describes one embedded template.
type Template struct {
	// Name is the value of a task's `type:` key.
	Name string `yaml:"name"`
	// Version changes whenever the template's output changes.
	Version int `yaml:"version"`
	// Description is shown in hovers, completion and `pelato templates`.
	Description string `yaml:"description"`
	// Signature is the exec_task declaration the template calls, as Go source.
	Signature string `yaml:"signature"`
	// Kind is the shape of Signature.
	Kind Kind `yaml:"kind"`
	// Publishes reports whether the template publishes results to dest_topic.
	Publishes bool `yaml:"publishes"`
	// HTTP reports whether the template listens for HTTP requests.
	HTTP bool `yaml:"http"`
	// Keys lists the task keys this template adds to the keys every task has.
	Keys struct {
		Required []string `yaml:"required"`
		Optional []string `yaml:"optional"`
		// Unused keys are accepted (the original's examples carry them) but do nothing.
		Unused []string `yaml:"unused"`
	} `yaml:"keys"`
	// Providers names the wasmCloud capability providers the template links to.
	Providers []string `yaml:"providers"`

	files fs.FS
	// parsed holds the files/ tree with each .tmpl parsed, built on first use.
	parsed func() ([]parsedFile, error)
}

// Files returns the template's files/ tree.
func (t *Template) Files() fs.FS { return t.files }

// KeyRole says what a template does with a template-specific key: "required",
// "optional", "unused", or "" when the template does not know the key.
func (t *Template) KeyRole(key string) string {
	for _, k := range t.Keys.Required {
		if k == key {
			return "required"
		}
	}
	for _, k := range t.Keys.Optional {
		if k == key {
			return "optional"
		}
	}
	for _, k := range t.Keys.Unused {
		if k == key {
			return "unused"
		}
	}
	return ""
}

// Registry is an immutable set of templates.
type Registry struct {
	list   []*Template
	byName map[string]*Template
}

// Lookup returns the template called name.
func (r *Registry) Lookup(name string) (*Template, bool) {
	t, ok := r.byName[name]
	return t, ok
}

// All returns the templates sorted by name.
func (r *Registry) All() []*Template { return append([]*Template(nil), r.list...) }

// Names returns the template names sorted.
func (r *Registry) Names() []string {
	names := make([]string, len(r.list))
	for i, t := range r.list {
		names[i] = t.Name
	}
	return names
}

// Builder returns the builder image's Dockerfile.
func Builder() []byte {
	b, err := embedded.ReadFile("builder/Dockerfile")
	if err != nil {
		panic("templates: builder Dockerfile missing from the binary: " + err.Error())
	}
	return b
}

// BuilderScript returns the builder image's pelato-modules script (copied into the
// image beside the Dockerfile's other steps).
func BuilderScript() []byte {
	b, err := embedded.ReadFile("builder/pelato-modules")
	if err != nil {
		panic("templates: builder script missing from the binary: " + err.Error())
	}
	return b
}

//go:embed wit/deps wit/wasmcloud2
var witDeps embed.FS

// WITDeps returns the WIT packages the generated worlds use (wasi:cli, wasi:http,
// wasi:logging, wasi:config, wasi:keyvalue, wasmcloud:messaging and what they
// include), one folder each, as deps/<package>/package.wit: `wash build` fetches
// them from their registries; pelato's local builder (internal/localbuild) and the
// tests use this copy, whose sources wit/PROVENANCE.md lists.
func WITDeps() fs.FS {
	sub, err := fs.Sub(witDeps, "wit")
	if err != nil {
		panic("templates: WIT dependencies missing from the binary: " + err.Error())
	}
	return sub
}

// WITDepsFor returns the WIT packages the worlds generated for platform use, laid
// out as WITDeps: on workflow.PlatformWasmCloud2, wasi:config@0.2.0-rc.1 (the
// `store` interface wasmCloud 2 serves) in place of wasi:config@0.2.0-draft; on
// any other platform, WITDeps itself.
func WITDepsFor(platform string) fs.FS {
	if platform != workflow.PlatformWasmCloud2 {
		return WITDeps()
	}
	top, err := fs.Sub(witDeps, "wit/wasmcloud2")
	if err != nil {
		panic("templates: WIT dependencies missing from the binary: " + err.Error())
	}
	return layeredFS{base: WITDeps(), top: top, hide: "deps/wasi-config-0.2.0-draft"}
}

// layeredFS shows top's files over base's, without base's folder hide.
type layeredFS struct {
	base, top fs.FS
	hide      string
}

func (l layeredFS) hidden(name string) bool {
	return name == l.hide || strings.HasPrefix(name, l.hide+"/")
}

// Open opens name from top, else from base.
func (l layeredFS) Open(name string) (fs.File, error) {
	if l.hidden(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if f, err := l.top.Open(name); err == nil {
		return f, nil
	}
	return l.base.Open(name)
}

// ReadDir lists name's entries of both layers, sorted by name.
func (l layeredFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if l.hidden(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	seen := map[string]fs.DirEntry{}
	var firstErr error
	for _, layer := range []fs.FS{l.top, l.base} {
		entries, err := fs.ReadDir(layer, name)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		for _, e := range entries {
			if _, ok := seen[e.Name()]; !ok && !l.hidden(path.Join(name, e.Name())) {
				seen[e.Name()] = e
			}
		}
	}
	if len(seen) == 0 && firstErr != nil {
		return nil, firstErr
	}
	out := make([]fs.DirEntry, 0, len(seen))
	for _, e := range seen {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

var loadDefault = sync.OnceValues(func() (*Registry, error) { return Load(embedded) })

// Default returns the registry of the embedded templates. The embedded manifests are
// validated by tests, so an error here means a broken build and it panics.
func Default() *Registry {
	r, err := loadDefault()
	if err != nil {
		panic(err)
	}
	return r
}

// Load reads every <name>/template.yaml of fsys into a Registry.
func Load(fsys fs.FS) (*Registry, error) {
	manifests, err := fs.Glob(fsys, "*/template.yaml")
	if err != nil {
		return nil, err
	}
	r := &Registry{byName: map[string]*Template{}}
	for _, m := range manifests {
		data, err := fs.ReadFile(fsys, m)
		if err != nil {
			return nil, err
		}
		var t Template
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("template %s: %w", m, err)
		}
		dir := path.Dir(m)
		if t.Name != dir {
			return nil, fmt.Errorf("template %s: name %q does not match its folder", m, t.Name)
		}
		if t.Kind != KindString && t.Kind != KindKV {
			return nil, fmt.Errorf("template %s: kind %q is not %q or %q", m, t.Kind, KindString, KindKV)
		}
		if t.Version < 1 || t.Signature == "" || t.Description == "" {
			return nil, fmt.Errorf("template %s: version, signature and description are required", m)
		}
		if t.files, err = fs.Sub(fsys, dir+"/files"); err != nil {
			return nil, err
		}
		t.parsed = sync.OnceValues(t.parse)
		r.list = append(r.list, &t)
		r.byName[t.Name] = &t
	}
	sort.Slice(r.list, func(i, j int) bool { return r.list[i].Name < r.list[j].Name })
	if len(r.list) == 0 {
		return nil, fmt.Errorf("no templates found")
	}
	return r, nil
}
