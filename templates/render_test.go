package templates

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pelato-dev/pelato/internal/wadm"
	"github.com/pelato-dev/pelato/internal/workflow"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// renderCase is one task rendered by the golden tests.
type renderCase struct {
	template string
	data     Data
}

// renderCases covers every template, a three-target task and hostile strings.
func renderCases() map[string]renderCase {
	return map[string]renderCase{
		"processor_nats": {"processor_nats", Data{
			ProjectName: "Temperature data analysis", Name: "Data filter", ComponentName: "temp_filter",
			Version: "1.0.2", Registry: "localhost:5000", Targets: []string{"cloud"},
			SourceTopic: "living_room_kelvin_data", DestTopic: "filtered_kelvin_data",
		}},
		"http_producer_nats": {"http_producer_nats", Data{
			ProjectName: "Temperature data analysis", Name: "Temp data conversion",
			ComponentName: "celsius_to_kelvin_conversion", Version: "1.0.0", Registry: "localhost:5000",
			Targets: []string{"edge"}, SourceTopic: "living_room_celsius_data", DestTopic: "living_room_kelvin_data",
			HTTPPort: 8081,
		}},
		"nats_to_nats-kv": {"nats_to_nats-kv", Data{
			ProjectName: "Temperature data analysis", Name: "Store readings", ComponentName: "readings_store",
			Version: "0.3.0", Registry: "localhost:5000", Targets: []string{"edge"},
			SourceTopic: "readings.>", DestTopic: "unused_but_accepted", Bucket: "READINGS",
		}},
		"processor_three_targets": {"processor_nats", Data{
			ProjectName: "Spread", Name: "Spread filter", ComponentName: "spread_filter", Version: "2.1.0",
			AppVersion: "2.1.0+3f2a9c", Image: "registry.example.com/team/spread_filter:2.1.0",
			Targets: []string{"edge", "cloud", "fog"}, Instances: 2,
			SourceTopic: "in.*", DestTopic: "out", Config: map[string]string{"threshold": "273.15"},
		}},
		"hostile": {"http_producer_nats", Data{
			ProjectName: "p\"}}{{ .X }}\n# x: y",
			Name:        "Name \"quoted\" {{ .ComponentName }}\nnew: line # not a comment ✓ 温度",
			// The checker refuses such a component_name; rendering must still be safe.
			ComponentName: "Evil\"name`{{end}}\n world x {\t} : # 🌡 world",
			Version:       "1.0.0\"\n[evil]\nname = \"x",
			// An image reference cannot hold such a name; Render refuses to make
			// one up (TestRenderRefusesBadImage).
			Image:       "localhost:5000/evil:1.0.0",
			Targets:     []string{"edge: {x}", "- cloud\n", "\"'"},
			SourceTopic: "src.\"}} ]] *",
			DestTopic:   "dst: #\n--- &a *a",
			Config:      map[string]string{"k: v": "{{ .Secret }}", "dest_topic": "ignored"},
		}},
		"wasmcloud2_processor": {"processor_nats", Data{
			Platform: workflow.PlatformWasmCloud2, ProjectName: "Temperature data analysis", Name: "Data filter",
			ComponentName: "temp-filter", Version: "1.0.2", Registry: "localhost:5000", Targets: []string{"cloud", "edge"},
			Instances: 2, SourceTopic: "living_room_kelvin_data", DestTopic: "filtered_kelvin_data",
			Config: map[string]string{"threshold": "273.15"},
		}},
		"wasmcloud2_http": {"http_producer_nats", Data{
			Platform: workflow.PlatformWasmCloud2, ProjectName: "Temperature data analysis", Name: "Temp data conversion",
			ComponentName: "celsius-to-kelvin", Version: "1.0.0", Registry: "localhost:5000", Targets: []string{"edge"},
			SourceTopic: "living_room_celsius_data", DestTopic: "living_room_kelvin_data", HTTPHost: "convert.example.com",
		}},
		"wasmcloud2_kv": {"nats_to_nats-kv", Data{
			Platform: workflow.PlatformWasmCloud2, ProjectName: "Temperature data analysis", Name: "Store readings",
			ComponentName: "readings-store", Version: "0.3.0", Registry: "localhost:5000",
			SourceTopic: "readings.>", Bucket: "READINGS",
		}},
		"wasmcloud2_hostile": {"http_producer_nats", Data{
			Platform:    workflow.PlatformWasmCloud2,
			ProjectName: "p\"}}{{ .X }}\n# x: y",
			Name:        "Name \"quoted\" {{ .ComponentName }}\nnew: line # not a comment ✓ 温度",
			// Names and targets are Kubernetes names on wasmcloud2 (Render refuses
			// others: TestRenderRefusesBadWorkload); every other string is hostile.
			ComponentName: "evil",
			Version:       "1.0.0\"\n[evil]\nname = \"x",
			Image:         "localhost:5000/evil:1.0.0",
			Targets:       []string{"edge", "cloud.eu"},
			SourceTopic:   "src.\"}} ]] *",
			DestTopic:     "dst: #\n--- &a *a",
			HTTPHost:      "h: {x}\n---",
			Config:        map[string]string{"k: v": "{{ .Secret }}", "dest_topic": "ignored"},
		}},
	}
}

// render renders one case.
func render(t *testing.T, c renderCase) map[string][]byte {
	t.Helper()
	tmpl, ok := Default().Lookup(c.template)
	if !ok {
		t.Fatalf("no template %q", c.template)
	}
	out, err := Render(tmpl, c.data)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return out
}

// sortedPaths returns the keys of files in order.
func sortedPaths(files map[string][]byte) []string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

func TestRenderGolden(t *testing.T) {
	for name, c := range renderCases() {
		t.Run(name, func(t *testing.T) {
			out := render(t, c)
			dir := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range sortedPaths(out) {
				file := filepath.Join(dir, filepath.FromSlash(p)+".golden")
				if *update {
					if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(file, out[p], 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Errorf("%v (run go test -update to create it)", err)
					continue
				}
				if !bytes.Equal(out[p], want) {
					t.Errorf("%s differs from %s (run go test -update to accept):\n%s", p, file, out[p])
				}
			}
			// No stale golden files.
			_ = filepath.WalkDir(dir, func(file string, e fs.DirEntry, err error) error {
				if err != nil || e.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, file)
				if _, ok := out[strings.TrimSuffix(filepath.ToSlash(rel), ".golden")]; !ok {
					t.Errorf("stale golden file %s", file)
				}
				return nil
			})
		})
	}
}

func TestRenderOutputs(t *testing.T) {
	want := []string{"go.mod", "go.sum", "main.go", "wadm.yaml", "wasmcloud.toml", "wit/world.wit"}
	for _, tmpl := range Default().All() {
		c := renderCases()["processor_nats"]
		c.template = tmpl.Name
		c.data.Bucket = "B"
		got := sortedPaths(render(t, c))
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s renders %v, want %v", tmpl.Name, got, want)
		}
	}
}

func TestGeneratedGoIsFormattedAndParses(t *testing.T) {
	for name, c := range renderCases() {
		for p, src := range render(t, c) {
			if path.Ext(p) != ".go" {
				continue
			}
			if _, err := parser.ParseFile(token.NewFileSet(), p, src, parser.ParseComments); err != nil {
				t.Errorf("%s/%s does not parse: %v", name, p, err)
			}
			formatted, err := format.Source(src)
			if err != nil {
				t.Errorf("%s/%s: %v", name, p, err)
				continue
			}
			if !bytes.Equal(formatted, src) {
				t.Errorf("%s/%s is not gofmt-clean", name, p)
			}
		}
	}
}

func TestGeneratedManifestsDecodeStrictly(t *testing.T) {
	for name, c := range renderCases() {
		if c.data.Platform == workflow.PlatformWasmCloud2 {
			continue // no wadm.yaml: TestWasmCloud2Contract decodes workloaddeployment.yaml
		}
		data := render(t, c)[ManifestFile]
		m, err := wadm.Decode(data)
		if err != nil {
			t.Errorf("%s: %v\n%s", name, err, data)
			continue
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if got := m.Metadata.Annotations[wadm.AnnotationDescription]; got != c.data.Name {
			t.Errorf("%s: description %q, want %q", name, got, c.data.Name)
		}
		want := c.data.Version
		if c.data.AppVersion != "" {
			want = c.data.AppVersion
		}
		if got := m.Metadata.Annotations[wadm.AnnotationVersion]; got != want {
			t.Errorf("%s: version %q, want %q", name, got, want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	for name, c := range renderCases() {
		a, b := render(t, c), render(t, c)
		for _, p := range sortedPaths(a) {
			if !bytes.Equal(a[p], b[p]) {
				t.Errorf("%s/%s differs between two renders", name, p)
			}
		}
	}
}

// worldLine matches the world declaration and the go:generate line.
var (
	worldDecl   = regexp.MustCompile(`(?m)^world ([^ ]+) \{$`)
	generateCmd = regexp.MustCompile(`(?m)^//go:generate go tool wit-bindgen-go generate --world (\S+) --out gen \./wit$`)
	witIdentRE  = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*$`)
)

func TestHostileStringsDoNotInject(t *testing.T) {
	c := renderCases()["hostile"]
	for _, tmpl := range Default().All() {
		c.template = tmpl.Name
		c.data.Bucket = "b\"\n{{"
		out := render(t, c)
		world := worldDecl.FindSubmatch(out["wit/world.wit"])
		if world == nil || !witIdentRE.Match(world[1]) {
			t.Fatalf("%s: world declaration not found or not a WIT identifier:\n%s", tmpl.Name, out["wit/world.wit"])
		}
		gen := generateCmd.FindSubmatch(out["main.go"])
		if gen == nil || !bytes.Equal(gen[1], world[1]) {
			t.Errorf("%s: go:generate line does not name world %s", tmpl.Name, world[1])
		}
		toml := parseTOML(t, out["wasmcloud.toml"])
		for key, want := range map[string]string{
			"name": c.data.ComponentName, "version": c.data.Version, "language": "tinygo", "type": "component",
			"component.wit_world": string(world[1]), "component.wasm_target": "wasm32-wasip2",
			"tinygo.scheduler": "asyncify",
		} {
			if toml[key] != want {
				t.Errorf("%s: wasmcloud.toml %s = %q, want %q", tmpl.Name, key, toml[key], want)
			}
		}
		if len(toml) != 7 {
			t.Errorf("%s: wasmcloud.toml has keys %v: something was injected", tmpl.Name, toml)
		}
		// Only the sanitised world name reaches the Go and WIT files; the TOML file
		// was checked key by key above, the manifest is checked below.
		for p, src := range out {
			if p == ManifestFile || p == "wasmcloud.toml" {
				continue
			}
			for _, s := range []string{"{{", "Evil", "温度", "Secret", "🌡", `"quoted"`, "[evil]", "- cloud", "edge: {x}"} {
				if bytes.Contains(src, []byte(s)) {
					t.Errorf("%s: %s contains %q", tmpl.Name, p, s)
				}
			}
		}
		m, err := wadm.Decode(out[ManifestFile])
		if err != nil {
			t.Fatalf("%s: %v", tmpl.Name, err)
		}
		task := m.Spec.Components[0]
		if task.Name != c.data.ComponentName {
			t.Errorf("%s: component name %q", tmpl.Name, task.Name)
		}
		if tmpl.Publishes && task.Properties.Config[0].Properties[wadm.ConfigDestTopic] != c.data.DestTopic {
			t.Errorf("%s: dest_topic %q", tmpl.Name, task.Properties.Config[0].Properties[wadm.ConfigDestTopic])
		}
		if task.Properties.Config[0].Properties["k: v"] != "{{ .Secret }}" {
			t.Errorf("%s: user config %v", tmpl.Name, task.Properties.Config[0].Properties)
		}
		if spreads := task.Traits[0].Scaler.Spread; len(spreads) != 3 || spreads[1].Requirements["host-type"] != "- cloud\n" {
			t.Errorf("%s: spreads %+v", tmpl.Name, spreads)
		}
	}
}

// parseTOML reads the subset of TOML wasmcloud.toml uses (tables, comments,
// key = "basic string") into dotted key → value, failing on anything else.
func parseTOML(t *testing.T, src []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	table := ""
	for i, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			table = strings.TrimSuffix(strings.TrimPrefix(line, "["), "]") + "."
		default:
			key, val, ok := strings.Cut(line, " = ")
			if !ok || !regexp.MustCompile(`^[a-z_]+$`).MatchString(key) {
				t.Fatalf("wasmcloud.toml line %d: %q", i+1, line)
			}
			s, err := unquoteTOML(val)
			if err != nil {
				t.Fatalf("wasmcloud.toml line %d: %v", i+1, err)
			}
			out[table+key] = s
		}
	}
	return out
}

// unquoteTOML decodes a TOML basic string that must span the whole of s.
func unquoteTOML(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", fmt.Errorf("not a basic string: %q", s)
	}
	body := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '"':
			return "", fmt.Errorf("unescaped quote in %q", s)
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", fmt.Errorf("raw control character in %q", s)
		case c != '\\':
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(body) {
			return "", fmt.Errorf("dangling escape in %q", s)
		}
		switch body[i] {
		case 'b':
			b.WriteByte('\b')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case '"':
			b.WriteByte('"')
		case '\\':
			b.WriteByte('\\')
		case 'u':
			if i+4 >= len(body)+0 && i+4 > len(body)-1 && i+4 != len(body)-1 && i+5 > len(body) {
				return "", fmt.Errorf("short \\u escape in %q", s)
			}
			r, err := strconv.ParseUint(body[i+1:i+5], 16, 32)
			if err != nil {
				return "", err
			}
			b.WriteRune(rune(r))
			i += 4
		default:
			return "", fmt.Errorf("bad escape \\%c in %q", body[i], s)
		}
	}
	return b.String(), nil
}

func TestRenderRefusesBadImage(t *testing.T) {
	c := renderCases()["hostile"]
	c.data.Image, c.data.Registry = "", "localhost:5000"
	tmpl, _ := Default().Lookup(c.template)
	if _, err := Render(tmpl, c.data); err == nil || !strings.Contains(err.Error(), "image") {
		t.Errorf("Render made an image reference of a hostile name: %v", err)
	}
}

func TestTOMLString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "new\nline\r\t\b\f", "\x00\x01\x1f\x7f", "ünï 🌡", "\xff"} {
		enc := tomlString(s)
		got, err := unquoteTOML(enc)
		if err != nil {
			t.Errorf("tomlString(%q) = %s: %v", s, enc, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if got != want {
			t.Errorf("tomlString(%q) decodes to %q", s, got)
		}
	}
}

func TestWITIdent(t *testing.T) {
	for in, want := range map[string]string{
		"temp_filter":                  "temp-filter",
		"celsius_to_kelvin_conversion": "celsius-to-kelvin-conversion",
		"a.b-c_d":                      "a-b-c-d",
		"2fast":                        "n2fast",
		"x_1y":                         "x-n1y",
		"":                             "task",
		"___":                          "task",
		"world":                        "world-task",
		"Type":                         "type-task",
		"Évil \"name\" 🌡":              "vil-name",
		"ab12":                         "ab12",
	} {
		got := witIdent(in)
		if got != want {
			t.Errorf("witIdent(%q) = %q, want %q", in, got, want)
		}
		if !witIdentRE.MatchString(got) {
			t.Errorf("witIdent(%q) = %q is not a WIT identifier", in, got)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	tmpl, _ := Default().Lookup("processor_nats")
	good := renderCases()["processor_nats"].data
	for name, mutate := range map[string]func(*Data){
		"no component name": func(d *Data) { d.ComponentName = "" },
		"no version":        func(d *Data) { d.Version = "" },
		"no image":          func(d *Data) { d.Registry, d.Image = "", "" },
		"latest image":      func(d *Data) { d.Image = "r/x:latest" },
		"latest version":    func(d *Data) { d.Version = "latest" },
		"bad utf-8":         func(d *Data) { d.Name = "\xff" },
	} {
		d := good
		mutate(&d)
		if _, err := Render(tmpl, d); err == nil {
			t.Errorf("%s: Render accepted it", name)
		}
	}
	if _, err := Render(nil, good); err == nil {
		t.Error("Render(nil) accepted")
	}
}

func TestTemplateFilesAndProviders(t *testing.T) {
	for _, tmpl := range Default().All() {
		for _, p := range []string{"main.go.tmpl", "go.mod.tmpl", "go.sum", "wit/world.wit.tmpl", "wasmcloud.toml.tmpl"} {
			if _, err := fs.Stat(tmpl.Files(), p); err != nil {
				t.Errorf("%s: %v", tmpl.Name, err)
			}
		}
		for _, p := range tmpl.Providers {
			if _, ok := wadm.LookupProvider(p); !ok {
				t.Errorf("%s: provider %q is unknown to internal/wadm", tmpl.Name, p)
			}
		}
	}
}

// interfaceOf maps a generated bindings import path to its WIT interface.
func interfaceOf(importPath string) (string, bool) {
	rest, ok := strings.CutPrefix(importPath, "pelato.dev/task/gen/")
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return "", false
	}
	return parts[0] + ":" + parts[1] + "/" + parts[2] + "@", true
}

// TestHarnessMatchesWorld checks that every binding main.go imports is in the world,
// and that the world's exports and the harness's use of them agree with the
// template's facts.
func TestHarnessMatchesWorld(t *testing.T) {
	for _, tmpl := range Default().All() {
		c := renderCases()["processor_nats"]
		c.template = tmpl.Name
		out := render(t, c)
		world := string(out["wit/world.wit"])
		f, err := parser.ParseFile(token.NewFileSet(), "main.go", out["main.go"], parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		imported := map[string]bool{}
		for _, spec := range f.Imports {
			p, _ := strconv.Unquote(spec.Path.Value)
			if iface, ok := interfaceOf(p); ok {
				imported[iface] = true
				if p == "pelato.dev/task/gen/wasmcloud/messaging/types" || p == "pelato.dev/task/gen/wasi/http/types" {
					continue // used through the interfaces that refer to them
				}
				if !strings.Contains(world, iface) {
					t.Errorf("%s: main.go imports %s, the world does not name %s", tmpl.Name, p, iface)
				}
			}
		}
		mustExport := map[string]bool{"wasmcloud:messaging/handler@": true, "wasi:http/incoming-handler@": tmpl.HTTP}
		for iface, want := range mustExport {
			has := strings.Contains(world, "export "+iface)
			if has != want || imported[iface] != want {
				t.Errorf("%s: export %s: in world %v, in harness %v, want %v", tmpl.Name, iface, has, imported[iface], want)
			}
		}
		publishes := strings.Contains(world, "import wasmcloud:messaging/consumer@")
		if publishes != tmpl.Publishes || imported["wasmcloud:messaging/consumer@"] != tmpl.Publishes {
			t.Errorf("%s: publishes %v, world/harness disagree", tmpl.Name, tmpl.Publishes)
		}
		if !strings.Contains(world, "include wasi:cli/imports@0.2.0;") {
			t.Errorf("%s: world does not include wasi:cli/imports@0.2.0", tmpl.Name)
		}
		// The harness calls exec_task with the template's signature.
		full, _ := parser.ParseFile(token.NewFileSet(), "main.go", out["main.go"], 0)
		calls := 0
		ast.Inspect(full, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "exec_task" {
					calls++
					want := 1
					if tmpl.Kind == KindKV {
						want = 2
					}
					if len(call.Args) != want {
						t.Errorf("%s: exec_task called with %d arguments", tmpl.Name, len(call.Args))
					}
				}
			}
			return true
		})
		if calls != 1 {
			t.Errorf("%s: exec_task called %d times", tmpl.Name, calls)
		}
	}
}

func TestGoModPinned(t *testing.T) {
	for _, tmpl := range Default().All() {
		c := renderCases()["processor_nats"]
		c.template = tmpl.Name
		out := render(t, c)
		mod, sum := string(out["go.mod"]), string(out["go.sum"])
		for _, want := range []string{
			"\ngo 1.24\n",
			"require go.bytecodealliance.org/cm v0.3.0\n",
			"\tgo.bytecodealliance.org v0.7.0 // indirect\n",
			"\ntool go.bytecodealliance.org/cmd/wit-bindgen-go\n",
		} {
			if !strings.Contains(mod, want) {
				t.Errorf("%s: go.mod lacks %q", tmpl.Name, want)
			}
		}
		if strings.Contains(mod, "latest") || strings.Contains(mod, "go.wasmcloud.dev") {
			t.Errorf("%s: go.mod must pin versions and not use go.wasmcloud.dev", tmpl.Name)
		}
		for _, m := range regexp.MustCompile(`(?m)^(?:require |\t)(\S+) (v\S+)`).FindAllStringSubmatch(mod, -1) {
			for _, suffix := range []string{" h1:", "/go.mod h1:"} {
				if !strings.Contains(sum, m[1]+" "+m[2]+suffix) {
					t.Errorf("%s: go.sum lacks %s %s%s", tmpl.Name, m[1], m[2], suffix)
				}
			}
		}
	}
}

func TestBuilderDockerfile(t *testing.T) {
	df := string(Builder())
	version := func(arg string) string {
		m := regexp.MustCompile(`(?m)^ARG ` + arg + `=(\S+)$`).FindStringSubmatch(df)
		if m == nil {
			t.Fatalf("Dockerfile has no pinned ARG %s", arg)
		}
		return m[1]
	}
	if v := version("GO_VERSION"); !regexp.MustCompile(`^1\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("Go version %q is not pinned to a patch release", v)
	}
	tinygo := strings.Split(version("TINYGO_VERSION"), ".")
	if minor, _ := strconv.Atoi(tinygo[1]); tinygo[0] != "0" || minor < 34 {
		t.Errorf("TinyGo %v: need >= 0.34", tinygo)
	}
	// The newest TinyGo release (issue 19: 0.43.0 does not exist) and the wasm-tools
	// release that was newest on its release day (TinyGo's CI installs the latest).
	if v := version("TINYGO_VERSION"); v != "0.42.0" {
		t.Errorf("TinyGo %s: pinned to 0.42.0 (bump it with docs/TEMPLATES.md)", v)
	}
	if v := version("WASM_TOOLS_VERSION"); v != "1.258.0" {
		t.Errorf("wasm-tools %s: pinned to 1.258.0", v)
	}
	// The shared module cache is verified, not writable by builds.
	if strings.Contains(df, "GOFLAGS=-modcacherw") || !strings.Contains(df, "COPY pelato-modules /usr/local/bin/pelato-modules") {
		t.Error("Dockerfile: the module cache must stay read-only (no -modcacherw) and pelato-modules must be installed")
	}
	if script := string(BuilderScript()); !strings.Contains(script, "go mod download") || !strings.Contains(script, "go mod verify") {
		t.Errorf("pelato-modules does not download and verify:\n%s", script)
	}
	if sh, err := exec.LookPath("sh"); err == nil {
		cmd := exec.Command(sh, "-n")
		cmd.Stdin = bytes.NewReader(BuilderScript())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("pelato-modules is not a valid sh script: %v\n%s", err, out)
		}
	}
	if v := version("WASH_VERSION"); !strings.HasPrefix(v, "0.43.") {
		t.Errorf("wash %q: need 0.43.x", v)
	}
	version("WASM_TOOLS_VERSION")
	for _, want := range []string{"dpkg --print-architecture", "GOMODCACHE=/cache/go-mod", "GOCACHE=/cache/go-build", "XDG_CACHE_HOME=/cache/xdg", "HOME=/home/builder", "chmod 1777"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	for _, line := range strings.Split(df, "\n") {
		if strings.Contains(line, "https://") && (strings.Contains(line, "amd64") || strings.Contains(line, "x86_64")) {
			t.Errorf("hard-coded architecture in download: %s", line)
		}
	}
	if strings.Contains(df, ":latest") || strings.Contains(df, "@latest") {
		t.Error("Dockerfile uses latest")
	}
}
