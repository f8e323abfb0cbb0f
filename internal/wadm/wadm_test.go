package wadm

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// buildCases are the applications the golden files hold.
func buildCases() map[string]BuildInput {
	return map[string]BuildInput{
		"processor": {
			Name: "Data filter", ComponentName: "temp_filter", Version: "1.0.2",
			Registry: "localhost:5000", Targets: []string{"cloud"},
			SourceTopic: "living_room_kelvin_data", DestTopic: "filtered_kelvin_data",
			Publishes: true, Providers: []string{ProviderMessagingNATS},
			Template: "processor_nats", TemplateVersion: 1,
		},
		"http_producer": {
			Name: "Temp data conversion", ComponentName: "celsius_to_kelvin_conversion", Version: "1.0.0",
			Registry: "registry.example.com:5000/team/", Targets: []string{"edge", "cloud"}, HTTPPort: 9001,
			SourceTopic: "living_room_celsius_data", DestTopic: "living_room_kelvin_data",
			Publishes: true, Providers: []string{ProviderMessagingNATS, ProviderHTTPServer},
			Config:   map[string]string{"scale": "kelvin", "offset": "273.15"},
			Template: "http_producer_nats", TemplateVersion: 1,
		},
		"kv": {
			Name: "Store readings", ComponentName: "readings.store", Version: "2.0.0-rc.1",
			Image: "ghcr.io/example/readings.store:2.0.0-rc.1", Targets: []string{"edge"},
			SourceTopic: "readings.>", DestTopic: "ignored", Bucket: "READINGS",
			Providers: []string{ProviderMessagingNATS, ProviderKeyValueNATS},
			Template:  "nats_to_nats-kv", TemplateVersion: 1,
		},
		"three_targets": {
			Name: "Spread out", ComponentName: "spread", Version: "0.1.0", AppVersion: "0.1.0-3f2a9c",
			Registry: "localhost:5000", Targets: []string{"edge", "cloud", "fog"}, Instances: 2,
			SourceTopic: "in.*", DestTopic: "out", Publishes: true,
			Providers: []string{ProviderMessagingNATS},
		},
	}
}

func TestGolden(t *testing.T) {
	for name, in := range buildCases() {
		t.Run(name, func(t *testing.T) {
			m := Build(in)
			if err := m.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got, err := Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".yaml.golden"), got)
		})
	}
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -update to accept):\n--- got\n%s", path, got)
	}
}

func TestGoldenFilesDecodeStrictly(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml.golden"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden manifests: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestThreeTargetWeights(t *testing.T) {
	m := Build(buildCases()["three_targets"])
	s := m.Spec.Components[0].Traits[0].Scaler
	if s.Instances != 6 {
		t.Errorf("instances = %d, want 2 per target = 6", s.Instances)
	}
	var got []int
	for _, sp := range s.Spread {
		got = append(got, *sp.Weight)
	}
	if !reflect.DeepEqual(got, []int{34, 33, 33}) {
		t.Errorf("weights = %v, want [34 33 33]", got)
	}
	if v := m.Metadata.Annotations[AnnotationVersion]; v != "0.1.0-3f2a9c" {
		t.Errorf("version annotation = %q, want the AppVersion override", v)
	}
	if img := m.Spec.Components[0].Properties.Image; img != "localhost:5000/spread:0.1.0" {
		t.Errorf("image = %q", img)
	}
}

func TestWeights(t *testing.T) {
	for n := 1; n <= 150; n++ {
		w := Weights(n)
		sum, lo, hi := 0, 101, -1
		for _, x := range w {
			sum += x
			lo, hi = min(lo, x), max(hi, x)
		}
		if len(w) != n || sum != 100 || hi-lo > 1 {
			t.Fatalf("Weights(%d) = %v: sum %d", n, w, sum)
		}
	}
	if Weights(0) != nil {
		t.Error("Weights(0) should be nil")
	}
}

func TestBuildFacts(t *testing.T) {
	c := buildCases()
	http := Build(c["http_producer"])
	byName := map[string]Component{}
	for _, comp := range http.Spec.Components {
		byName[comp.Name] = comp
	}
	task := byName["celsius_to_kelvin_conversion"]
	if task.Properties.Image != "registry.example.com:5000/team/celsius_to_kelvin_conversion:1.0.0" {
		t.Errorf("image = %q", task.Properties.Image)
	}
	cfg := task.Properties.Config[0]
	if cfg.Name != "celsius_to_kelvin_conversion-config" || cfg.Properties[ConfigDestTopic] != "living_room_kelvin_data" || cfg.Properties["scale"] != "kelvin" {
		t.Errorf("runtime config = %+v", cfg)
	}
	server := byName["httpserver"]
	if server.Properties.Image != HTTPServerImage {
		t.Errorf("http-server image = %q", server.Properties.Image)
	}
	link := server.Traits[1].Link
	if link.Namespace != "wasi" || link.Package != "http" || link.Interfaces[0] != "incoming-handler" ||
		link.Target.Name != task.Name || link.Source.Config[0].Name != "celsius_to_kelvin_conversion-http" ||
		link.Source.Config[0].Properties["address"] != "0.0.0.0:9001" {
		t.Errorf("http link = %+v", link)
	}
	nats := byName["nats"]
	sub := nats.Traits[1].Link
	if sub.Interfaces[0] != "handler" || sub.Source.Config[0].Properties["subscriptions"] != "living_room_celsius_data|celsius_to_kelvin_conversion" {
		t.Errorf("subscription link = %+v", sub)
	}
	if nats.Traits[0].Type != TraitDaemonScaler || len(nats.Traits[0].Scaler.Spread) != 2 {
		t.Errorf("provider scaler = %+v", nats.Traits[0])
	}

	kv := Build(c["kv"])
	if kv.Metadata.Name != "readings_store" {
		t.Errorf("app name = %q", kv.Metadata.Name)
	}
	ktask := kv.Spec.Components[0]
	if len(ktask.Properties.Config) != 0 {
		t.Errorf("a key-value task without dest_topic or config needs no runtime config, got %+v (the bucket belongs to the link)", ktask.Properties.Config)
	}
	kvLinks := 0
	for _, tr := range ktask.Traits {
		if tr.Link != nil && tr.Link.Package == "messaging" {
			t.Error("a template that does not publish must not link to the consumer")
		}
		if tr.Link != nil && tr.Link.Package == "keyvalue" {
			kvLinks++
			if tr.Link.Name != KeyValueLinkName || tr.Link.Target.Config[0].Properties[KeyValueBucketKey] != "READINGS" {
				t.Errorf("kv link = %+v", tr.Link)
			}
		}
	}
	if kvLinks != 1 {
		t.Errorf("%d key-value links, want 1", kvLinks)
	}
	if b, err := kv.KeyValueBucket(ktask.Name, KeyValueLinkName); err != nil || b != "READINGS" {
		t.Errorf("KeyValueBucket(%q) = %q, %v", KeyValueLinkName, b, err)
	}

	// A component named like a provider does not collide with it.
	in := c["processor"]
	in.ComponentName = "nats"
	m := Build(in)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if m.Spec.Components[1].Name != "nats-provider" {
		t.Errorf("provider renamed to %q", m.Spec.Components[1].Name)
	}
}

func TestConfigNamesUniqueAcrossTasks(t *testing.T) {
	seen := map[string]string{}
	for name, in := range buildCases() {
		m := Build(in)
		walkConfigs(m, func(c ConfigProperty) {
			if other, dup := seen[c.Name]; dup {
				t.Errorf("config %q used by %s and %s", c.Name, other, name)
			}
			seen[c.Name] = name
			if c.Name == "simple-subscription" || c.Name == "default-http" {
				t.Errorf("shared config name %q", c.Name)
			}
		})
	}
}

// walkConfigs calls f for every named config of m.
func walkConfigs(m *Manifest, f func(ConfigProperty)) {
	for _, c := range m.Spec.Components {
		for _, cfg := range c.Properties.Config {
			f(cfg)
		}
		for _, tr := range c.Traits {
			if tr.Link == nil {
				continue
			}
			for _, cfg := range tr.Link.Target.Config {
				f(cfg)
			}
			if tr.Link.Source != nil {
				for _, cfg := range tr.Link.Source.Config {
					f(cfg)
				}
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for name, in := range buildCases() {
		m := Build(in)
		data, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(m, back) {
			t.Errorf("%s: YAML round trip changed the manifest:\n%+v\n%+v", name, m, back)
		}
		js, err := MarshalJSON(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err = Decode(js)
		if err != nil {
			t.Fatalf("%s: decoding JSON: %v", name, err)
		}
		if !reflect.DeepEqual(m, back) {
			t.Errorf("%s: JSON round trip changed the manifest", name)
		}
	}
}

func TestMarshalDeterministic(t *testing.T) {
	in := buildCases()["http_producer"]
	a, _ := Marshal(Build(in))
	for i := 0; i < 20; i++ {
		b, _ := Marshal(Build(in))
		if !bytes.Equal(a, b) {
			t.Fatal("Marshal is not deterministic")
		}
	}
}

// hostile are strings that break naive YAML, Go, TOML or template generation.
func hostile() []string {
	return []string{
		`quote " and ' and \ backslash`,
		"{{ .Secret }} {{end}}",
		"line one\nline two\r\n",
		"key: value # comment",
		"- item",
		"&anchor *alias !tag %directive @at `tick`",
		"null", "true", "1.0", "0x10", "~", "",
		"  leading and trailing  ",
		"ünïcödé 温度 🌡️ \u2028 \u0085",
		"tab\there",
		"\x00\x01\x1f\x7f control",
		"---\n...\n",
		"]]>}}>{{<![",
	}
}

func TestHostileStringsRoundTrip(t *testing.T) {
	for i, h := range hostile() {
		in := buildCases()["http_producer"]
		in.Name = h
		in.SourceTopic = h
		in.DestTopic = h
		in.Targets = []string{h + "a", "edge"}
		in.Config = map[string]string{"k": h, h + "key": "v"}
		m := Build(in)
		data, err := Marshal(m)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		back, err := Decode(data)
		if err != nil {
			t.Fatalf("%d %q: %v\n%s", i, h, err, data)
		}
		if !reflect.DeepEqual(m, back) {
			t.Errorf("%d %q: round trip changed the manifest", i, h)
		}
		if back.Metadata.Annotations[AnnotationDescription] != h {
			t.Errorf("%d: description = %q, want %q", i, back.Metadata.Annotations[AnnotationDescription], h)
		}
		if n := len(back.Spec.Components); n != 3 {
			t.Errorf("%d: %d components: something was injected", i, n)
		}
		if err := back.Validate(); err != nil && h != "" && !strings.Contains(h, "\x00") {
			t.Errorf("%d %q: Validate: %v", i, h, err)
		}
	}
}

func TestMarshalNil(t *testing.T) {
	if _, err := Marshal(nil); err == nil {
		t.Error("Marshal(nil) should fail")
	}
	if err := (*Manifest)(nil).Validate(); err == nil {
		t.Error("Validate on nil should fail")
	}
}

func TestProviders(t *testing.T) {
	for _, name := range []string{ProviderMessagingNATS, ProviderHTTPServer, ProviderKeyValueNATS} {
		p, ok := LookupProvider(name)
		if !ok || p.Image == "" || strings.HasSuffix(p.Image, ":latest") || !strings.Contains(p.Image, ":") {
			t.Errorf("provider %s: %+v", name, p)
		}
	}
	if _, ok := LookupProvider("nope"); ok {
		t.Error("unknown provider found")
	}
}

func FuzzBuildRoundTrip(f *testing.F) {
	for _, h := range hostile() {
		f.Add(h, "temp_filter", "1.0.0", "edge", h, 1, 8000)
	}
	f.Add("n", "a.b-c_d", "0.0.1-rc.1", "cloud", "in.>", 3, 0)
	f.Fuzz(func(t *testing.T, name, component, version, target, topic string, instances, port int) {
		in := BuildInput{
			Name: name, ComponentName: component, Version: version, Registry: "localhost:5000",
			Targets: []string{target, "edge", "cloud"}, Instances: instances % 1000, HTTPPort: port,
			SourceTopic: topic, DestTopic: topic, Bucket: topic, Publishes: true,
			Providers: []string{ProviderMessagingNATS, ProviderHTTPServer, ProviderKeyValueNATS},
			Config:    map[string]string{"user": name},
		}
		m := Build(in)
		verr := m.Validate() // must not panic
		valid := utf8.ValidString(name) && utf8.ValidString(component) && utf8.ValidString(version) &&
			utf8.ValidString(target) && utf8.ValidString(topic)
		data, err := Marshal(m)
		if !valid {
			if err == nil || verr == nil {
				t.Fatalf("invalid UTF-8 accepted: Marshal %v, Validate %v", err, verr)
			}
			return
		}
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := Decode(data)
		if err != nil {
			t.Fatalf("Decode of our own output: %v\n%s", err, data)
		}
		if !reflect.DeepEqual(m, back) {
			t.Fatalf("round trip changed the manifest:\n%s", data)
		}
		if (back.Validate() == nil) != (verr == nil) {
			t.Fatalf("validation differs after the round trip")
		}
	})
}
