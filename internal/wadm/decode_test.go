package wadm

import (
	"strings"
	"testing"
)

// goodManifest is a small valid manifest the failure cases below mutate.
const goodManifest = `apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: demo
  annotations:
    version: 1.0.0
    description: demo
spec:
  components:
    - name: demo
      type: component
      properties:
        image: localhost:5000/demo:1.0.0
        config:
          - name: demo-config
            properties:
              dest_topic: out
      traits:
        - type: spreadscaler
          properties:
            instances: 1
            spread:
              - name: edge
                requirements:
                  host-type: edge
                weight: 100
        - type: link
          properties:
            namespace: wasmcloud
            package: messaging
            interfaces: [consumer]
            target:
              name: nats
    - name: nats
      type: capability
      properties:
        image: ghcr.io/wasmcloud/messaging-nats:0.27.0
      traits:
        - type: link
          properties:
            namespace: wasmcloud
            package: messaging
            interfaces: [handler]
            target:
              name: demo
            source:
              config:
                - name: demo-subscription
                  properties:
                    subscriptions: in|demo
`

func TestDecodeGood(t *testing.T) {
	m, err := Decode([]byte(goodManifest))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if m.Spec.Components[1].Traits[0].Link.Source.Config[0].Properties["subscriptions"] != "in|demo" {
		t.Errorf("decoded %+v", m.Spec.Components[1].Traits[0].Link)
	}
}

func TestDecodeStrict(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{"unknown top-level key", "kind: Application\n", "kind: Application\nextra: 1\n", `unknown key "extra"`},
		{"unknown metadata key", "  name: demo\n", "  name: demo\n  namespace: x\n", `unknown key "namespace"`},
		{"missing annotations", "  annotations:\n    version: 1.0.0\n    description: demo\n", "", `missing required key "annotations"`},
		{"null annotations", "  annotations:\n    version: 1.0.0\n    description: demo\n", "  annotations:\n", `"annotations" must not be null`},
		{"annotation not a string", "version: 1.0.0", "version: 1.0", "must be a string"},
		{"unquoted number config value", "dest_topic: out", "port: 8080", "must be a string"},
		{"boolean config value", "dest_topic: out", "enabled: true", "must be a string"},
		{"deprecated source_config", "            source:\n              config:\n", "            source_config:\n", "deprecated link form"},
		{"deprecated target_config", "            target:\n              name: nats\n", "            target:\n              name: nats\n            target_config: []\n", "deprecated link form"},
		{"unknown link key", "            package: messaging\n            interfaces: [consumer]", "            package: messaging\n            colour: red\n            interfaces: [consumer]", `unknown key "colour"`},
		{"unknown spread key", "                weight: 100\n", "                weight: 100\n                zone: a\n", `unknown key "zone"`},
		{"weight not an integer", "weight: 100", "weight: lots", "must be an integer"},
		{"instances missing", "            instances: 1\n", "", `missing required key "instances"`},
		{"replicas alias refused", "            instances: 1\n", "            replicas: 1\n", "use instances"},
		{"unsupported trait", "type: spreadscaler", "type: autoscaler", `unsupported trait type "autoscaler"`},
		{"trait without properties", "        - type: spreadscaler\n          properties:\n            instances: 1\n            spread:\n              - name: edge\n                requirements:\n                  host-type: edge\n                weight: 100\n", "        - type: spreadscaler\n", `missing required key "properties"`},
		{"unknown component property", "        image: localhost:5000/demo:1.0.0\n", "        image: localhost:5000/demo:1.0.0\n        replicas: 3\n", `unknown key "replicas"`},
		{"components not a list", "  components:\n", "  components: {}\n  x:\n", "must be a list"},
		{"duplicate key", "kind: Application\n", "kind: Application\nkind: Application\n", "duplicate key"},
		{"link target missing name", "            target:\n              name: nats\n", "            target: {}\n", `missing required key "name"`},
		{"interfaces not a list", "interfaces: [consumer]", "interfaces: consumer", "must be a list"},
		{"second document", "", "---\nkind: Application\n", "one YAML document"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := goodManifest + c.new
			if c.old != "" {
				if !strings.Contains(goodManifest, c.old) {
					t.Fatalf("test bug: %q not in the manifest", c.old)
				}
				src = strings.Replace(goodManifest, c.old, c.new, 1)
			}
			_, err := Decode([]byte(src))
			if err == nil {
				t.Fatalf("Decode accepted:\n%s", src)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q has no position", err)
			}
		})
	}
}

func TestDecodeEdges(t *testing.T) {
	for name, src := range map[string]string{
		"empty":        "",
		"comment only": "# nothing\n",
		"scalar":       "hello\n",
		"list":         "- a\n",
		"bad yaml":     "a: [\n",
		"huge":         strings.Repeat("#", maxManifestSize+1),
	} {
		if _, err := Decode([]byte(src)); err == nil {
			t.Errorf("%s: Decode accepted %.40q", name, src)
		}
	}
	// JSON is YAML: wadm's put API takes the manifest as JSON.
	js := `{"apiVersion":"core.oam.dev/v1beta1","kind":"Application","metadata":{"name":"x","annotations":{"version":"1"}},"spec":{"components":[{"name":"c","type":"component","properties":{"image":"r/c:1"}}]}}`
	m, err := Decode([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		b.WriteString("a")
		b.WriteString(string(rune('0' + i%10)))
		b.WriteString(strings.Repeat("x", i/10))
		b.WriteString(": &a")
		b.WriteString(string(rune('0' + i%10)))
		b.WriteString(strings.Repeat("x", i/10))
		prev := "*a" + string(rune('0'+(i-1)%10)) + strings.Repeat("x", (i-1)/10)
		b.WriteString(" [" + strings.Repeat(prev+", ", 9) + prev + "]\n")
	}
	if _, err := Decode([]byte(b.String())); err == nil {
		t.Error("alias expansion accepted")
	}
}

func TestValidateRules(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(m *Manifest)
		want   string
	}{
		{"api version", func(m *Manifest) { m.APIVersion = "v1" }, "apiVersion"},
		{"kind", func(m *Manifest) { m.Kind = "Deployment" }, "kind"},
		{"name pattern", func(m *Manifest) { m.Metadata.Name = "temp.filter" }, `^[-\w]+$`},
		{"name unicode", func(m *Manifest) { m.Metadata.Name = "température" }, `^[-\w]+$`},
		{"no annotations", func(m *Manifest) { m.Metadata.Annotations = nil }, "annotations: must be present"},
		{"no version", func(m *Manifest) { delete(m.Metadata.Annotations, "version") }, "version: must be set"},
		{"latest version", func(m *Manifest) { m.Metadata.Annotations["version"] = "latest" }, `must not be "latest"`},
		{"no components", func(m *Manifest) { m.Spec.Components = nil }, "at least one component"},
		{"duplicate component", func(m *Manifest) { m.Spec.Components[1].Name = "demo" }, "already the name"},
		{"bad type", func(m *Manifest) { m.Spec.Components[0].Type = "actor" }, `"actor"`},
		{"no image", func(m *Manifest) { m.Spec.Components[0].Properties.Image = "" }, "needs an image"},
		{"latest image", func(m *Manifest) { m.Spec.Components[0].Properties.Image = "r/demo:latest" }, "latest tag"},
		{"weights", func(m *Manifest) {
			s := m.Spec.Components[0].Traits[0].Scaler
			w := 50
			s.Spread = append(s.Spread, Spread{Name: "cloud", Requirements: map[string]string{"host-type": "cloud"}, Weight: &w})
		}, "sum to 150"},
		{"missing weights", func(m *Manifest) {
			s := m.Spec.Components[0].Traits[0].Scaler
			s.Spread = append(s.Spread, Spread{Name: "cloud", Requirements: map[string]string{"host-type": "cloud"}})
		}, "every spread a weight"},
		{"duplicate spread", func(m *Manifest) {
			s := m.Spec.Components[0].Traits[0].Scaler
			w := 0
			s.Spread = append(s.Spread, Spread{Name: "edge", Requirements: map[string]string{"host-type": "x"}, Weight: &w})
		}, "another spread"},
		{"spread without requirements", func(m *Manifest) {
			m.Spec.Components[0].Traits[0].Scaler.Spread[0].Requirements = nil
		}, "select hosts"},
		{"negative instances", func(m *Manifest) { m.Spec.Components[0].Traits[0].Scaler.Instances = -1 }, "negative"},
		{"two scalers", func(m *Manifest) {
			c := &m.Spec.Components[0]
			c.Traits = append(c.Traits, Trait{Type: TraitDaemonScaler, Scaler: &ScalerProperty{Instances: 1}})
		}, "one scaler"},
		{"dangling link", func(m *Manifest) { m.Spec.Components[0].Traits[1].Link.Target.Name = "ghost" }, `"ghost" is not a component`},
		{"duplicate link", func(m *Manifest) {
			c := &m.Spec.Components[0]
			c.Traits = append(c.Traits, c.Traits[1])
		}, "duplicates another link"},
		{"bad namespace", func(m *Manifest) { m.Spec.Components[0].Traits[1].Link.Namespace = "wasmcloud:messaging" }, "bare WIT name"},
		{"no interfaces", func(m *Manifest) { m.Spec.Components[0].Traits[1].Link.Interfaces = nil }, "at least one interface"},
		{"shared config name", func(m *Manifest) {
			m.Spec.Components[1].Traits[0].Link.Source.Config[0].Name = "demo-config"
		}, "lattice-wide"},
		{"bad config name", func(m *Manifest) { m.Spec.Components[0].Properties.Config[0].Name = "demo config" }, "may only use"},
		{"custom trait", func(m *Manifest) {
			m.Spec.Components[0].Traits = append(m.Spec.Components[0].Traits, Trait{Type: "custom", Scaler: &ScalerProperty{}})
		}, "unsupported trait type"},
		{"trait without properties", func(m *Manifest) {
			m.Spec.Components[0].Traits[0].Scaler = nil
		}, "takes instances and spread"},
		{"invalid utf-8", func(m *Manifest) { m.Metadata.Annotations["description"] = "\xff" }, "UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Decode([]byte(goodManifest))
			if err != nil {
				t.Fatal(err)
			}
			c.mutate(m)
			err = m.Validate()
			if err == nil {
				t.Fatal("Validate accepted the manifest")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestValidateSingleSpreadDefaultWeight(t *testing.T) {
	m, err := Decode([]byte(strings.Replace(goodManifest, "                weight: 100\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Errorf("one spread without weight (default 100) rejected: %v", err)
	}
}

func TestMarshalTraitWithoutProperties(t *testing.T) {
	m := Build(buildCases()["processor"])
	m.Spec.Components[0].Traits[0].Scaler = nil
	if _, err := Marshal(m); err == nil {
		t.Error("Marshal accepted a trait without properties")
	}
	if _, err := MarshalJSON(m); err == nil {
		t.Error("MarshalJSON accepted a trait without properties")
	}
}
