package templates_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pelato-dev/pelato/internal/wadm"
	"github.com/pelato-dev/pelato/templates"
)

// Binding packages of the generated harness, by their path under gen/.
const (
	bindingsPrefix   = "pelato.dev/task/gen/"
	pkgKeyValueStore = bindingsPrefix + "wasi/keyvalue/store"
	pkgConfigRuntime = bindingsPrefix + "wasi/config/runtime"
	pkgConsumer      = bindingsPrefix + "wasmcloud/messaging/consumer"
	pkgHandler       = bindingsPrefix + "wasmcloud/messaging/handler"
	pkgIncoming      = bindingsPrefix + "wasi/http/incoming-handler"
)

// contractCases are the tasks every template is generated for by TestContract.
func contractCases() map[string]templates.Data {
	return map[string]templates.Data{
		"defaults": {
			ProjectName: "Contract", Name: "Contract task", ComponentName: "temp_filter", Version: "1.0.0",
			Registry: "localhost:5000", Targets: []string{"edge"},
			SourceTopic: "living_room.>", DestTopic: "filtered", Bucket: "READINGS",
		},
		"everything set": {
			ProjectName: "Contract", Name: "Contract task", ComponentName: "sensor.store-2", Version: "2.1.0-rc.1",
			Registry: "registry.example:5000/team", Targets: []string{"edge", "cloud"}, Instances: 3,
			SourceTopic: "in.*.celsius", DestTopic: "out.kelvin", Bucket: "SENSOR_DATA", HTTPPort: 9001,
			Config: map[string]string{"threshold": "273.15"},
		},
		"component named like a provider": {
			ProjectName: "Contract", Name: "Named nats", ComponentName: "nats", Version: "0.1.0",
			Registry: "localhost:5000", Targets: []string{"fog"},
			SourceTopic: "a", DestTopic: "b", Bucket: "B", HTTPPort: 8080,
		},
	}
}

// TestContract states, for every template, the contract between the generated Go
// harness (main.go) and the generated manifest (wadm.yaml): what the code opens,
// reads, exports and calls is what the manifest links and configures. It reads the
// generated files, never the template sources, so any drift on either side fails:
//
//   - key-value: every store identifier the harness opens is the key-value link's
//     name, and resolves (as host and keyvalue-nats do) to the task's bucket, which
//     lives only in that link's target config;
//   - messaging: the harness exports the handler, the messaging-nats handler link
//     subscribes exactly to source_topic, and the consumer link exists exactly when
//     the harness publishes;
//   - HTTP: the harness exports incoming-handler and the http-server link listens on
//     http_port (8000 when unset);
//   - every runtime configuration key the harness reads is set in the manifest.
//
// A template using a provider with no contract here fails the test: add one.
func TestContract(t *testing.T) {
	for _, tmpl := range templates.Default().All() {
		t.Run(tmpl.Name, func(t *testing.T) {
			if tmpl.HTTP != slices.Contains(tmpl.Providers, wadm.ProviderHTTPServer) {
				t.Errorf("template.yaml says http: %v but providers are %v", tmpl.HTTP, tmpl.Providers)
			}
			for name, d := range contractCases() {
				files, err := templates.Render(tmpl, d)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				g := readGenerated(t, files, d.ComponentName)
				checkRuntimeConfig(t, name, g, d)
				for _, p := range tmpl.Providers {
					switch p {
					case wadm.ProviderKeyValueNATS:
						checkKeyValue(t, name, g, d)
					case wadm.ProviderMessagingNATS:
						checkMessaging(t, name, g, d, tmpl.Publishes)
					case wadm.ProviderHTTPServer:
						checkHTTP(t, name, g, d)
					default:
						t.Errorf("provider %q has no contract in TestContract: add one", p)
					}
				}
				if !slices.Contains(tmpl.Providers, wadm.ProviderKeyValueNATS) && len(g.harness.calls(pkgKeyValueStore, "Open")) > 0 {
					t.Errorf("%s: main.go opens a key-value store but the template links no key-value provider", name)
				}
				if !slices.Contains(tmpl.Providers, wadm.ProviderHTTPServer) && g.harness.exports[pkgIncoming] {
					t.Errorf("%s: main.go exports wasi:http/incoming-handler but the template links no http-server", name)
				}
			}
		})
	}
}

// generated holds what TestContract reads from one generated project.
type generated struct {
	harness  *harness
	manifest *wadm.Manifest
	// task is the task component of the manifest.
	task *wadm.Component
}

// readGenerated parses main.go and wadm.yaml of a generated project.
func readGenerated(t *testing.T, files map[string][]byte, component string) generated {
	t.Helper()
	h, err := parseHarness(files["main.go"])
	if err != nil {
		t.Fatalf("main.go: %v", err)
	}
	m, err := wadm.Decode(files[templates.ManifestFile])
	if err != nil {
		t.Fatalf("%s: %v", templates.ManifestFile, err)
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("%s: %v", templates.ManifestFile, err)
	}
	g := generated{harness: h, manifest: m}
	for i := range m.Spec.Components {
		if c := &m.Spec.Components[i]; c.Name == component && c.Type == wadm.TypeComponent {
			g.task = c
		}
	}
	if g.task == nil {
		t.Fatalf("%s has no component %q", templates.ManifestFile, component)
	}
	return g
}

// provider returns the manifest's capability component running image.
func (g generated) provider(t *testing.T, image string) *wadm.Component {
	t.Helper()
	for i := range g.manifest.Spec.Components {
		if c := &g.manifest.Spec.Components[i]; c.Type == wadm.TypeCapability && c.Properties.Image == image {
			return c
		}
	}
	t.Fatalf("%s runs no provider %s", templates.ManifestFile, image)
	return nil
}

// links returns the links of c over namespace:package/iface.
func links(c *wadm.Component, namespace, pkg, iface string) []*wadm.LinkProperty {
	var out []*wadm.LinkProperty
	for _, tr := range c.Traits {
		if l := tr.Link; tr.Type == wadm.TraitLink && l != nil && l.Namespace == namespace && l.Package == pkg && slices.Contains(l.Interfaces, iface) {
			out = append(out, l)
		}
	}
	return out
}

// configValue returns key from the first config of list that sets it.
func configValue(list []wadm.ConfigProperty, key string) (string, bool) {
	for _, c := range list {
		if v, ok := c.Properties[key]; ok {
			return v, true
		}
	}
	return "", false
}

func checkRuntimeConfig(t *testing.T, name string, g generated, d templates.Data) {
	for _, call := range g.harness.calls(pkgConfigRuntime, "Get") {
		key, err := call.constArg(0)
		if err != nil {
			t.Errorf("%s: main.go reads runtime configuration with %v", name, err)
			continue
		}
		v, ok := configValue(g.task.Properties.Config, key)
		if !ok || v == "" {
			t.Errorf("%s: main.go reads runtime configuration %q, which the manifest does not set on %q", name, key, g.task.Name)
		}
		if key == wadm.ConfigDestTopic && v != d.DestTopic {
			t.Errorf("%s: runtime configuration %q = %q, want dest_topic %q", name, key, v, d.DestTopic)
		}
	}
}

func checkKeyValue(t *testing.T, name string, g generated, d templates.Data) {
	opens := g.harness.calls(pkgKeyValueStore, "Open")
	if len(opens) == 0 {
		t.Errorf("%s: the template links keyvalue-nats but main.go never opens a store", name)
	}
	kvLinks := links(g.task, "wasi", "keyvalue", "store")
	if len(kvLinks) != 1 {
		t.Fatalf("%s: %d wasi:keyvalue/store links from %q, want 1", name, len(kvLinks), g.task.Name)
	}
	link := kvLinks[0]
	if link.Target.Name != g.provider(t, wadm.KeyValueNATSImage).Name {
		t.Errorf("%s: the key-value link targets %q, not the keyvalue-nats provider", name, link.Target.Name)
	}
	linkName := link.Name
	if linkName == "" {
		linkName = wadm.DefaultLinkName
	}
	for _, call := range opens {
		id, err := call.constArg(0)
		if err != nil {
			t.Errorf("%s: store.Open takes %v; it must open the key-value link's name, fixed at generation", name, err)
			continue
		}
		if id != linkName {
			t.Errorf("%s: main.go opens key-value store %q, the key-value link is named %q", name, id, linkName)
		}
		bucket, err := g.manifest.KeyValueBucket(g.task.Name, id)
		if err != nil || bucket != d.Bucket {
			t.Errorf("%s: store %q reaches bucket %q (%v), want %q", name, id, bucket, err, d.Bucket)
		}
	}
	// The bucket is only in the link's target config.
	if v, ok := configValue(g.task.Properties.Config, wadm.KeyValueBucketKey); ok {
		t.Errorf("%s: the task's runtime configuration carries %s=%q: the bucket belongs to the key-value link only", name, wadm.KeyValueBucketKey, v)
	}
	if v, _ := configValue(link.Target.Config, wadm.KeyValueBucketKey); v != d.Bucket {
		t.Errorf("%s: key-value link bucket = %q, want %q", name, v, d.Bucket)
	}
}

func checkMessaging(t *testing.T, name string, g generated, d templates.Data, publishes bool) {
	if !g.harness.exports[pkgHandler] {
		t.Errorf("%s: main.go does not set handler.Exports.HandleMessage", name)
	}
	nats := g.provider(t, wadm.MessagingNATSImage)
	handlers := links(nats, "wasmcloud", "messaging", "handler")
	if len(handlers) != 1 || handlers[0].Target.Name != g.task.Name {
		t.Fatalf("%s: want one wasmcloud:messaging/handler link from %q to %q, got %+v", name, nats.Name, g.task.Name, handlers)
	}
	var subs string
	if handlers[0].Source != nil {
		subs, _ = configValue(handlers[0].Source.Config, "subscriptions")
	}
	list := strings.Split(subs, ",")
	subject, _, _ := strings.Cut(list[0], "|")
	if len(list) != 1 || subject != d.SourceTopic {
		t.Errorf("%s: the handler link subscribes %q, want exactly source_topic %q", name, subs, d.SourceTopic)
	}
	consumers := links(g.task, "wasmcloud", "messaging", "consumer")
	calls := len(g.harness.calls(pkgConsumer, "Publish"))
	switch {
	case publishes && (len(consumers) != 1 || consumers[0].Target.Name != nats.Name):
		t.Errorf("%s: a publishing template needs one wasmcloud:messaging/consumer link from %q to %q, got %+v", name, g.task.Name, nats.Name, consumers)
	case publishes && calls == 0:
		t.Errorf("%s: a publishing template's main.go never calls consumer.Publish", name)
	case !publishes && (len(consumers) != 0 || calls != 0):
		t.Errorf("%s: a template that does not publish has %d consumer links and %d Publish calls", name, len(consumers), calls)
	}
}

func checkHTTP(t *testing.T, name string, g generated, d templates.Data) {
	if !g.harness.exports[pkgIncoming] {
		t.Errorf("%s: main.go does not set incominghandler.Exports.Handle", name)
	}
	server := g.provider(t, wadm.HTTPServerImage)
	ls := links(server, "wasi", "http", "incoming-handler")
	if len(ls) != 1 || ls[0].Target.Name != g.task.Name || ls[0].Source == nil {
		t.Fatalf("%s: want one wasi:http/incoming-handler link from %q to %q with source config, got %+v", name, server.Name, g.task.Name, ls)
	}
	addr, _ := configValue(ls[0].Source.Config, "address")
	_, port, err := net.SplitHostPort(addr)
	want := d.HTTPPort
	if want == 0 {
		want = wadm.DefaultHTTPPort
	}
	if err != nil || port != strconv.Itoa(want) {
		t.Errorf("%s: http-server address %q (%v), want port %d", name, addr, err, want)
	}
}

// harness is what TestContract needs to know about a generated main.go.
type harness struct {
	// imports maps a file-local package name to its import path.
	imports map[string]string
	// consts maps the names of string constants to their values.
	consts map[string]string
	// allCalls are the calls of functions of imported packages.
	allCalls []call
	// exports holds the binding packages whose Exports the harness assigns.
	exports map[string]bool
}

// call is a call of pkg.fn.
type call struct {
	pkg, fn string
	args    []ast.Expr
	h       *harness
}

// calls returns the calls of fn of the package imported from path.
func (h *harness) calls(path, fn string) []call {
	var out []call
	for _, c := range h.allCalls {
		if c.pkg == path && c.fn == fn {
			out = append(out, c)
		}
	}
	return out
}

// constArg returns the value of argument i when it is a string constant: a literal
// or a constant of the file.
func (c call) constArg(i int) (string, error) {
	if i >= len(c.args) {
		return "", fmt.Errorf("%d arguments", len(c.args))
	}
	switch a := c.args[i].(type) {
	case *ast.BasicLit:
		if a.Kind == token.STRING {
			return strconv.Unquote(a.Value)
		}
	case *ast.Ident:
		if v, ok := c.h.consts[a.Name]; ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("a value computed at run time (%T), not a string constant", c.args[i])
}

// parseHarness reads the facts of a generated main.go.
func parseHarness(src []byte) (*harness, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", src, 0)
	if err != nil {
		return nil, err
	}
	h := &harness{imports: map[string]string{}, consts: map[string]string{}, exports: map[string]bool{}}
	for _, spec := range f.Imports {
		p, _ := strconv.Unquote(spec.Path.Value)
		local := p[strings.LastIndex(p, "/")+1:]
		if spec.Name != nil {
			local = spec.Name.Name
		}
		h.imports[local] = p
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						h.consts[n.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && h.imports[id.Name] != "" {
					h.allCalls = append(h.allCalls, call{pkg: h.imports[id.Name], fn: sel.Sel.Name, args: n.Args, h: h})
				}
			}
		case *ast.AssignStmt:
			// <pkg>.Exports.<Func> = ...
			for _, lhs := range n.Lhs {
				if sel, ok := lhs.(*ast.SelectorExpr); ok {
					if inner, ok := sel.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "Exports" {
						if id, ok := inner.X.(*ast.Ident); ok && h.imports[id.Name] != "" {
							h.exports[h.imports[id.Name]] = true
						}
					}
				}
			}
		}
		return true
	})
	return h, nil
}
