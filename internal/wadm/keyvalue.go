package wadm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// KeyValueBucket returns the NATS KV bucket that a wasi:keyvalue/store.open(identifier)
// made by the component called component reaches on a wasmCloud 1.x lattice running
// m, following the rules of the host and of keyvalue-nats 0.4.1:
//
//   - the host routes the component's wasi:keyvalue calls over its link named
//     DefaultLinkName (generated components select no other link name), so that
//     link must exist;
//   - the provider at the end of that link looks the store up by the identifier,
//     among the links the component has to it, by link name;
//   - the bucket is the "bucket" key of that link's target config.
//
// A local runtime uses it to open the same bucket a lattice would; tests use it to
// check that a generated harness and its manifest agree. The errors say which rule
// failed, in the provider's and host's terms.
func (m *Manifest) KeyValueBucket(component, identifier string) (string, error) {
	if m == nil {
		return "", fmt.Errorf("wadm: no manifest")
	}
	var source *Component
	for i := range m.Spec.Components {
		if m.Spec.Components[i].Name == component {
			source = &m.Spec.Components[i]
			break
		}
	}
	if source == nil {
		return "", fmt.Errorf("wadm: manifest %q has no component %q", m.Metadata.Name, component)
	}
	var links []*LinkProperty
	for _, t := range source.Traits {
		if l := t.Link; t.Type == TraitLink && l != nil && l.Namespace == "wasi" && l.Package == "keyvalue" && slices.Contains(l.Interfaces, "store") {
			links = append(links, l)
		}
	}
	routed := findLink(links, "", DefaultLinkName)
	if routed == nil {
		return "", fmt.Errorf("component %q has no wasi:keyvalue/store link named %q: the host routes its key-value calls over that link (links: %s)",
			component, DefaultLinkName, linkNames(links))
	}
	link := findLink(links, routed.Target.Name, identifier)
	if link == nil {
		return "", fmt.Errorf("no NATS KV store for identifier %s: keyvalue-nats looks stores up by link name, and component %q has no such link to %q (links: %s)",
			strconv.Quote(identifier), component, routed.Target.Name, linkNames(links))
	}
	for _, c := range link.Target.Config {
		if c.Properties == nil {
			continue
		}
		if b, ok := c.Properties[KeyValueBucketKey]; ok && b != "" {
			return b, nil
		}
	}
	return "", fmt.Errorf("the key-value link %q of component %q sets no %q in its target config", linkName(link), component, KeyValueBucketKey)
}

// linkName returns the name of a link, DefaultLinkName when it has none.
func linkName(l *LinkProperty) string {
	if l.Name == "" {
		return DefaultLinkName
	}
	return l.Name
}

// findLink returns the link called name (to target, when target is not empty).
func findLink(links []*LinkProperty, target, name string) *LinkProperty {
	for _, l := range links {
		if linkName(l) == name && (target == "" || l.Target.Name == target) {
			return l
		}
	}
	return nil
}

// linkNames lists the names of links for error messages.
func linkNames(links []*LinkProperty) string {
	if len(links) == 0 {
		return "none"
	}
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = strconv.Quote(linkName(l)) + " to " + strconv.Quote(l.Target.Name)
	}
	return strings.Join(names, ", ")
}
