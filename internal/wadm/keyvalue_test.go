package wadm

import (
	"strings"
	"testing"
)

func TestKeyValueBucket(t *testing.T) {
	in := buildCases()["kv"]
	task := in.ComponentName
	for name, c := range map[string]struct {
		mutate     func(m *Manifest)
		component  string
		identifier string
		want       string // bucket, or a fragment of the error
		ok         bool
	}{
		"as built": {
			identifier: KeyValueLinkName, want: "READINGS", ok: true,
		},
		"unnamed link is the default link": {
			mutate:     func(m *Manifest) { kvLink(m).Name = "" },
			identifier: DefaultLinkName, want: "READINGS", ok: true,
		},
		"store opened by the bucket name": {
			identifier: "READINGS", want: `no NATS KV store for identifier "READINGS"`,
		},
		"link renamed: the host cannot route": {
			mutate:     func(m *Manifest) { kvLink(m).Name = "store" },
			identifier: "store", want: `no wasi:keyvalue/store link named "default"`,
		},
		"second named link reached by its name": {
			mutate: func(m *Manifest) {
				second := *kvLink(m)
				second.Name = "archive"
				second.Target.Config = []ConfigProperty{{Name: "archive-kv", Properties: map[string]string{KeyValueBucketKey: "ARCHIVE"}}}
				m.Spec.Components[0].Traits = append(m.Spec.Components[0].Traits, Trait{Type: TraitLink, Link: &second})
			},
			identifier: "archive", want: "ARCHIVE", ok: true,
		},
		"no bucket in the target config": {
			mutate:     func(m *Manifest) { kvLink(m).Target.Config = nil },
			identifier: KeyValueLinkName, want: `sets no "bucket"`,
		},
		"bucket in a config managed elsewhere": {
			mutate:     func(m *Manifest) { kvLink(m).Target.Config[0].Properties = nil },
			identifier: KeyValueLinkName, want: `sets no "bucket"`,
		},
		"no such component": {
			component: "nope", identifier: KeyValueLinkName, want: `no component "nope"`,
		},
		"a provider has no key-value link": {
			component: "nats", identifier: KeyValueLinkName, want: "links: none",
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := Build(in)
			if c.mutate != nil {
				c.mutate(m)
			}
			component := c.component
			if component == "" {
				component = task
			}
			got, err := m.KeyValueBucket(component, c.identifier)
			switch {
			case c.ok && (err != nil || got != c.want):
				t.Errorf("got %q, %v; want %q", got, err, c.want)
			case !c.ok && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("got %q, %v; want an error containing %q", got, err, c.want)
			}
		})
	}
	if _, err := (*Manifest)(nil).KeyValueBucket(task, KeyValueLinkName); err == nil {
		t.Error("nil manifest accepted")
	}
}

// kvLink returns the key-value link of the task component of a built manifest.
func kvLink(m *Manifest) *LinkProperty {
	for _, tr := range m.Spec.Components[0].Traits {
		if tr.Link != nil && tr.Link.Package == "keyvalue" {
			return tr.Link
		}
	}
	panic("no key-value link")
}
