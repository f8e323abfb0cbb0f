package templates

import (
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/internal/workload"
)

// TestWasmCloud2Contract states, for every wasmcloud2 render case, the contract
// between the generated harness and world and the generated workloaddeployment.yaml:
// every interface the world imports or exports (wasi:cli, which the host always
// provides, and wasi:config, served from localResources.config, aside) has a host
// interface; the subscription is source_topic; the HTTP host is http_host; the
// key-value store the harness opens is the bucket; dest_topic is in the config the
// harness reads through wasi:config/store; and the 1.x files are not written.
func TestWasmCloud2Contract(t *testing.T) {
	witUse := regexp.MustCompile(`(?m)^\s*(import|export) ([a-z-]+):([a-z-]+)/([a-z-]+)@([^;]+);`)
	for name, c := range renderCases() {
		if c.data.Platform != workflow.PlatformWasmCloud2 {
			continue
		}
		t.Run(name, func(t *testing.T) {
			out := render(t, c)
			tmpl, _ := Default().Lookup(c.template)
			for _, f := range []string{ManifestFile} {
				if _, ok := out[f]; ok {
					t.Errorf("%s written on wasmcloud2", f)
				}
			}
			var wash struct {
				Build struct {
					Command       string `yaml:"command"`
					ComponentPath string `yaml:"component_path"`
				} `yaml:"build"`
			}
			if err := yaml.Unmarshal(out[WashConfigFile], &wash); err != nil || !strings.Contains(wash.Build.Command, "tinygo build") || wash.Build.ComponentPath == "" {
				t.Errorf("%s: %v %+v", WashConfigFile, err, wash)
			}
			wds, err := workload.Decode(workload.FileName, out[workload.FileName])
			if err != nil {
				t.Fatal(err)
			}
			if want := max(len(c.data.Targets), 1); len(wds) != want {
				t.Fatalf("%d WorkloadDeployments; want %d", len(wds), want)
			}
			world := string(out["wit/world.wit"])
			if !strings.Contains(world, "import wasi:config/store@0.2.0-rc.1;") || strings.Contains(world, "wasi:config/runtime") {
				t.Errorf("world does not import wasi:config/store@0.2.0-rc.1 alone:\n%s", world)
			}
			mainGo := string(out["main.go"])
			if strings.Contains(mainGo, "wasi/config/runtime") {
				t.Error("main.go uses wasi:config/runtime")
			}
			for _, wd := range wds {
				spec := wd.Spec.Template.Spec
				for _, m := range witUse.FindAllStringSubmatch(world, -1) {
					ns, pkg, iface := m[2], m[3], m[4]
					if ns == "wasi" && (pkg == "config" || pkg == "cli") {
						continue
					}
					if !hasInterface(spec.HostInterfaces, ns, pkg, iface) {
						t.Errorf("%s: the world %ss %s:%s/%s; no host interface provides it", wd.Metadata.Name, m[1], ns, pkg, iface)
					}
				}
				for _, h := range spec.HostInterfaces {
					for _, iface := range h.Interfaces {
						if !strings.Contains(world, " "+h.Namespace+":"+h.Package+"/"+iface+"@") {
							t.Errorf("%s: host interface %s:%s/%s is not in the world", wd.Metadata.Name, h.Namespace, h.Package, iface)
						}
					}
					switch h.Package {
					case "messaging":
						if h.Config[workload.ConfigSubscriptions] != c.data.SourceTopic {
							t.Errorf("subscriptions %q; want source_topic %q", h.Config[workload.ConfigSubscriptions], c.data.SourceTopic)
						}
					case "http":
						want := c.data.HTTPHost
						if want == "" {
							want = workflow.DefaultHTTPHost(c.data.ComponentName)
						}
						if h.Config[workload.ConfigHost] != want {
							t.Errorf("http host %q; want %q", h.Config[workload.ConfigHost], want)
						}
					}
				}
				comp := spec.Components[0]
				var cfg map[string]string
				if comp.LocalResources != nil {
					cfg = comp.LocalResources.Config
				}
				if tmpl.Publishes && cfg["dest_topic"] != c.data.DestTopic {
					t.Errorf("config dest_topic %q; want %q", cfg["dest_topic"], c.data.DestTopic)
				}
				if !tmpl.Publishes && cfg["dest_topic"] != c.data.Config["dest_topic"] {
					t.Errorf("dest_topic configured for a template that does not publish")
				}
			}
			if c.data.Bucket != "" {
				if want := "const pelatoKVStore = " + strconv.Quote(c.data.Bucket); !strings.Contains(mainGo, want) {
					t.Errorf("main.go does not open the bucket: want %q", want)
				}
			}
		})
	}
}

func hasInterface(hs []workload.HostInterface, ns, pkg, iface string) bool {
	for _, h := range hs {
		if h.Namespace == ns && h.Package == pkg {
			for _, i := range h.Interfaces {
				if i == iface {
					return true
				}
			}
		}
	}
	return false
}

func TestWITDepsFor(t *testing.T) {
	for _, tc := range []struct {
		platform   string
		has, hasnt string
	}{
		{workflow.PlatformWasmCloud1, "wasi-config-0.2.0-draft", "wasi-config-0.2.0-rc.1"},
		{workflow.PlatformWasmCloud2, "wasi-config-0.2.0-rc.1", "wasi-config-0.2.0-draft"},
	} {
		deps := WITDepsFor(tc.platform)
		entries, err := fs.ReadDir(deps, "deps")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if !slices.Contains(names, tc.has) || slices.Contains(names, tc.hasnt) || !slices.Contains(names, "wasmcloud-messaging-0.2.0") {
			t.Errorf("%s: deps %v; want %s, wasmcloud-messaging-0.2.0 and not %s", tc.platform, names, tc.has, tc.hasnt)
		}
		if _, err := fs.ReadFile(deps, "deps/"+tc.has+"/package.wit"); err != nil {
			t.Errorf("%s: %v", tc.platform, err)
		}
		if _, err := fs.ReadFile(deps, "deps/"+tc.hasnt+"/package.wit"); err == nil {
			t.Errorf("%s: %s readable", tc.platform, tc.hasnt)
		}
	}
}

// TestRenderRefusesBadWorkload: a component name or target Kubernetes refuses (check
// reports them first: PL218, PL220) makes Render fail, not write a manifest the API
// server would reject.
func TestRenderRefusesBadWorkload(t *testing.T) {
	tmpl, _ := Default().Lookup("processor_nats")
	for _, d := range []Data{
		{ComponentName: "temp_filter", Targets: []string{"edge"}},
		{ComponentName: "evil\"name`{{end}}\n world", Targets: []string{"edge"}},
		{ComponentName: "ok", Targets: []string{"edge: {x}"}},
		{ComponentName: "ok", Targets: []string{"Edge_EU"}},
	} {
		d.Platform, d.Version, d.Registry, d.SourceTopic, d.DestTopic = workflow.PlatformWasmCloud2, "1.0.0", "localhost:5000", "in", "out"
		if _, err := Render(tmpl, d); err == nil || !strings.Contains(err.Error(), "Kubernetes") {
			t.Errorf("%q %q: Render = %v; want a refusal naming Kubernetes", d.ComponentName, d.Targets, err)
		}
	}
}
