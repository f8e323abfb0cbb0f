package wadm

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Validate applies wadm's rules and pelato's own to m and returns every problem
// found, joined, each prefixed with the path of the offending value:
//
//   - apiVersion and kind are the ones wadm accepts; metadata.name matches ^[-\w]+$;
//   - annotations are present and carry a version that is not "latest";
//   - component names are unique, types are component or capability, each
//     component has exactly one of image and application, images are not tagged
//     latest;
//   - traits are spreadscaler, daemonscaler or link; a component has at most one
//     scaler; spreads have unique names and non-empty requirements, and the
//     weights of a spreadscaler with several spreads are all given and sum to
//     exactly 100;
//   - links name a namespace, a package and interfaces, target a component of this
//     manifest, and are not duplicated;
//   - a named config with properties is defined once in the whole manifest (names
//     are lattice-wide), names use the characters wasmCloud stores them under;
//   - all strings are valid UTF-8.
func (m *Manifest) Validate() error {
	if m == nil {
		return errors.New("wadm: nil manifest")
	}
	v := &validator{}
	v.manifest(m)
	if len(v.errs) == 0 {
		return nil
	}
	return errors.Join(v.errs...)
}

// validator collects problems.
type validator struct {
	errs []error
	// configs maps the name of every config defined with properties to where.
	configs map[string]string
}

// add records a problem at path.
func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

// text checks that a string is valid UTF-8 and, when required, not empty.
func (v *validator) text(path, s string, required bool) {
	switch {
	case !utf8.ValidString(s):
		v.add(path, "not valid UTF-8")
	case required && strings.TrimSpace(s) == "":
		v.add(path, "must not be empty")
	}
}

// isNameChar reports whether r is in wadm's [-\w] (ASCII).
func isNameChar(r rune) bool {
	return r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// isConfigNameChar reports whether r may appear in a config name (a NATS KV key).
func isConfigNameChar(r rune) bool {
	return isNameChar(r) || r == '.' || r == '/' || r == '='
}

func (v *validator) manifest(m *Manifest) {
	if m.APIVersion != APIVersion {
		v.add("apiVersion", "must be %q, found %q", APIVersion, m.APIVersion)
	}
	if m.Kind != KindApplication {
		v.add("kind", "must be %q, found %q", KindApplication, m.Kind)
	}
	v.metadata(&m.Metadata)

	if len(m.Spec.Components) == 0 {
		v.add("spec.components", "must list at least one component")
	}
	names := map[string]int{}
	for i, c := range m.Spec.Components {
		if j, dup := names[c.Name]; dup {
			v.add(fmt.Sprintf("spec.components[%d].name", i), "%q is already the name of spec.components[%d]", c.Name, j)
		} else {
			names[c.Name] = i
		}
	}
	v.configs = map[string]string{}
	for i := range m.Spec.Components {
		v.component(fmt.Sprintf("spec.components[%d]", i), &m.Spec.Components[i], names)
	}
	for i, p := range m.Spec.Policies {
		path := fmt.Sprintf("spec.policies[%d]", i)
		v.text(path+".name", p.Name, true)
		v.text(path+".type", p.Type, true)
		v.stringMap(path+".properties", p.Properties)
	}
}

func (v *validator) metadata(md *Metadata) {
	switch {
	case md.Name == "":
		v.add("metadata.name", "must not be empty")
	case strings.IndexFunc(md.Name, func(r rune) bool { return !isNameChar(r) }) >= 0:
		v.add("metadata.name", "%q must match ^[-\\w]+$ (letters, digits, '_' and '-')", md.Name)
	}
	if md.Annotations == nil {
		v.add("metadata.annotations", "must be present")
	} else {
		version, ok := md.Annotations[AnnotationVersion]
		switch {
		case !ok || strings.TrimSpace(version) == "":
			v.add("metadata.annotations.version", "must be set: wadm stores each version of a manifest once")
		case version == "latest":
			v.add("metadata.annotations.version", "must not be \"latest\"")
		}
		v.stringMap("metadata.annotations", md.Annotations)
	}
	v.stringMap("metadata.labels", md.Labels)
}

// stringMap checks the keys and values of a string map.
func (v *validator) stringMap(path string, m map[string]string) {
	for _, k := range sortedKeys(m) {
		if k == "" {
			v.add(path, "has an empty key")
		}
		v.text(path+"."+k, k, false)
		v.text(path+"."+k, m[k], false)
	}
}

func (v *validator) component(path string, c *Component, names map[string]int) {
	v.text(path+".name", c.Name, true)
	switch c.Type {
	case TypeComponent, TypeCapability:
	default:
		v.add(path+".type", "must be %q or %q, found %q", TypeComponent, TypeCapability, c.Type)
	}
	p := &c.Properties
	switch {
	case p.Image == "" && p.Application == nil:
		v.add(path+".properties", "needs an image (or an application)")
	case p.Image != "" && p.Application != nil:
		v.add(path+".properties", "has both an image and an application")
	case p.Image != "":
		v.image(path+".properties.image", p.Image)
	default:
		v.text(path+".properties.application.name", p.Application.Name, true)
		v.text(path+".properties.application.component", p.Application.Component, true)
	}
	v.text(path+".properties.id", p.ID, false)
	v.configList(path+".properties.config", p.Config)
	v.secrets(path+".properties.secrets", p.Secrets)

	scalers := 0
	var links []*LinkProperty
	for i := range c.Traits {
		t := &c.Traits[i]
		tp := fmt.Sprintf("%s.traits[%d]", path, i)
		switch t.Type {
		case TraitSpreadScaler, TraitDaemonScaler:
			scalers++
			if scalers == 2 {
				v.add(tp, "a component takes one scaler")
			}
			if t.Scaler == nil || t.Link != nil {
				v.add(tp+".properties", "a %s takes instances and spread", t.Type)
				continue
			}
			v.scaler(tp+".properties", t.Type, t.Scaler)
		case TraitLink:
			if t.Link == nil || t.Scaler != nil {
				v.add(tp+".properties", "a link takes namespace, package, interfaces and target")
				continue
			}
			v.link(tp+".properties", c.Name, t.Link, names, links)
			links = append(links, t.Link)
		default:
			v.add(tp+".type", "unsupported trait type %q (wadm supports %s, %s and %s)",
				t.Type, TraitSpreadScaler, TraitDaemonScaler, TraitLink)
		}
	}
}

// image checks an OCI reference.
func (v *validator) image(path, ref string) {
	v.text(path, ref, true)
	switch {
	case strings.ContainsFunc(ref, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		v.add(path, "%q contains spaces or control characters", ref)
	case strings.HasSuffix(ref, ":latest"):
		v.add(path, "%q: never deploy the latest tag, pin a version", ref)
	}
}

func (v *validator) scaler(path, typ string, s *ScalerProperty) {
	if s.Instances < 0 {
		v.add(path+".instances", "must not be negative")
	}
	seen := map[string]bool{}
	sum, weighted := 0, 0
	for i, sp := range s.Spread {
		p := fmt.Sprintf("%s.spread[%d]", path, i)
		v.text(p+".name", sp.Name, true)
		if seen[sp.Name] {
			v.add(p+".name", "%q is already the name of another spread", sp.Name)
		}
		seen[sp.Name] = true
		if len(sp.Requirements) == 0 {
			v.add(p+".requirements", "must select hosts by label (e.g. host-type)")
		}
		for _, k := range sortedKeys(sp.Requirements) {
			v.text(p+".requirements", k, true)
			v.text(p+".requirements."+k, sp.Requirements[k], true)
		}
		if sp.Weight != nil {
			weighted++
			if *sp.Weight < 0 {
				v.add(p+".weight", "must not be negative")
			}
			sum += *sp.Weight
		}
	}
	n := len(s.Spread)
	if typ != TraitSpreadScaler || n == 0 {
		return
	}
	switch {
	case n == 1 && weighted == 0:
		// The default weight, 100, is the whole.
	case weighted != n:
		v.add(path+".spread", "give every spread a weight (%d of %d have one): the weights must sum to 100", weighted, n)
	case sum != 100:
		v.add(path+".spread", "weights sum to %d, not 100", sum)
	}
}

func (v *validator) link(path, source string, l *LinkProperty, names map[string]int, earlier []*LinkProperty) {
	witName := func(p, s string) {
		v.text(p, s, true)
		if strings.ContainsAny(s, ":/@ ") {
			v.add(p, "%q must be a bare WIT name (no ':', '/', '@' or spaces)", s)
		}
	}
	witName(path+".namespace", l.Namespace)
	witName(path+".package", l.Package)
	if len(l.Interfaces) == 0 {
		v.add(path+".interfaces", "must list at least one interface")
	}
	for i, iface := range l.Interfaces {
		witName(fmt.Sprintf("%s.interfaces[%d]", path, i), iface)
	}
	v.text(path+".name", l.Name, false)
	v.text(path+".target.name", l.Target.Name, true)
	if _, ok := names[l.Target.Name]; !ok && l.Target.Name != "" {
		v.add(path+".target.name", "%q is not a component of this manifest", l.Target.Name)
	}
	v.configList(path+".target.config", l.Target.Config)
	v.secrets(path+".target.secrets", l.Target.Secrets)
	if l.Source != nil {
		v.configList(path+".source.config", l.Source.Config)
		v.secrets(path+".source.secrets", l.Source.Secrets)
	}
	for _, e := range earlier {
		if e.Namespace == l.Namespace && e.Package == l.Package && e.Target.Name == l.Target.Name && e.Name == l.Name &&
			slices.ContainsFunc(l.Interfaces, func(i string) bool { return slices.Contains(e.Interfaces, i) }) {
			v.add(path, "duplicates another link from %q to %q over %s:%s", source, l.Target.Name, l.Namespace, l.Package)
		}
	}
}

// configList checks named configs and records those this manifest defines.
func (v *validator) configList(path string, list []ConfigProperty) {
	for i, c := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		v.text(p+".name", c.Name, true)
		if strings.IndexFunc(c.Name, func(r rune) bool { return !isConfigNameChar(r) }) >= 0 {
			v.add(p+".name", "%q may only use letters, digits and - _ . / =", c.Name)
		}
		v.stringMap(p+".properties", c.Properties)
		if c.Properties == nil {
			continue
		}
		if first, dup := v.configs[c.Name]; dup {
			v.add(p+".name", "config %q is already defined at %s: config names are lattice-wide, give each its own", c.Name, first)
			continue
		}
		v.configs[c.Name] = p
	}
}

func (v *validator) secrets(path string, list []SecretProperty) {
	for i, s := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		v.text(p+".name", s.Name, true)
		v.text(p+".properties.policy", s.Properties.Policy, true)
		v.text(p+".properties.key", s.Properties.Key, true)
	}
}

// sortedKeys returns the keys of m in order, so that errors come out stably.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
