package wadm

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Provider names, as templates list them in their manifests.
const (
	// ProviderMessagingNATS is wasmcloud:messaging over NATS.
	ProviderMessagingNATS = "messaging-nats"
	// ProviderHTTPServer is wasi:http/incoming-handler served over HTTP.
	ProviderHTTPServer = "http-server"
	// ProviderKeyValueNATS is wasi:keyvalue over NATS JetStream KV.
	ProviderKeyValueNATS = "keyvalue-nats"
)

// The capability provider images, pinned here and nowhere else. These are the
// wasmCloud 1.x providers: messaging-nats and http-server 0.27.0 take their link
// settings as lowercase named config (subscriptions, address); keyvalue-nats 0.4.1
// takes the bucket as link target config. docs/TEMPLATES.md lists the upstream
// sources of these facts.
const (
	// MessagingNATSImage is the pinned messaging-nats provider.
	MessagingNATSImage = "ghcr.io/wasmcloud/messaging-nats:0.27.0"
	// HTTPServerImage is the pinned http-server provider.
	HTTPServerImage = "ghcr.io/wasmcloud/http-server:0.27.0"
	// KeyValueNATSImage is the pinned keyvalue-nats provider.
	KeyValueNATSImage = "ghcr.io/wasmcloud/keyvalue-nats:0.4.1"
)

// ConfigDestTopic is the runtime configuration key (read through
// wasi:config/runtime) naming the subject a publishing component sends results to.
const ConfigDestTopic = "dest_topic"

// The key-value link of a storing component. wasmCloud 1.x hosts pass the
// identifier a component gives wasi:keyvalue/store.open to the provider unchanged,
// and route the call over the component's link named "default" unless the
// component picks another with wasmcloud:bus/lattice.set-link-name; keyvalue-nats
// 0.4.1 looks the store up by the name of the link it was configured on ("No NATS
// Kv store found for bucket id (link name)"). So the identifier a component opens
// must be the link's name, and the NATS bucket is set only in the link's target
// config. Generated harnesses open KeyValueLinkName, Build names the link
// KeyValueLinkName, and a local runtime resolves the identifier with
// Manifest.KeyValueBucket.
const (
	// DefaultLinkName is the name of a link that names none, and the link a
	// component's calls go over unless it selects another.
	DefaultLinkName = "default"
	// KeyValueLinkName is the name of the key-value link and the store identifier
	// a component opens: the default link, since generated components do not
	// select link names.
	KeyValueLinkName = DefaultLinkName
	// KeyValueBucketKey is the keyvalue-nats link target config key naming the
	// NATS KV bucket.
	KeyValueBucketKey = "bucket"
	// KeyValueAutoCreateKey is the keyvalue-nats link target config key that lets
	// the provider create a missing bucket.
	KeyValueAutoCreateKey = "enable_bucket_auto_create"
)

// DefaultHTTPPort is the port an HTTP producer listens on unless told otherwise.
const DefaultHTTPPort = 8000

// Provider describes a capability provider a template can use.
type Provider struct {
	// Name is the name templates use (ProviderMessagingNATS, ...).
	Name string
	// Image is the pinned OCI reference.
	Image string
	// Component is the provider's component name in a manifest.
	Component string
}

// Providers returns the known providers, sorted by name.
func Providers() []Provider {
	return []Provider{
		{Name: ProviderHTTPServer, Image: HTTPServerImage, Component: "httpserver"},
		{Name: ProviderKeyValueNATS, Image: KeyValueNATSImage, Component: "kvnats"},
		{Name: ProviderMessagingNATS, Image: MessagingNATSImage, Component: "nats"},
	}
}

// LookupProvider returns the provider called name.
func LookupProvider(name string) (Provider, bool) {
	for _, p := range Providers() {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// ReservedConfigKeys returns the configuration keys a task's own config map must not
// use: the runtime configuration key pelato sets itself (Build lets pelato's value
// win) and the task key the bucket comes from, which is not runtime configuration
// and would do nothing there.
func ReservedConfigKeys() []string { return []string{KeyValueBucketKey, ConfigDestTopic} }

// BuildInput holds the facts Build turns into the application of one task.
type BuildInput struct {
	// Name is the task's display name; it becomes the description annotation.
	Name string
	// ComponentName is the task's component_name: the component's name in the
	// manifest, the base of the application name and of every named config.
	ComponentName string
	// Version is the task's version: the image tag and, unless AppVersion is set,
	// the version annotation.
	Version string
	// AppVersion overrides the version annotation, e.g. to add a content hash so
	// that a changed manifest gets a new version.
	AppVersion string
	// Image is the component's OCI reference; empty means
	// <Registry>/<ComponentName>:<Version>.
	Image string
	// Registry is the OCI registry (host[:port][/path]) used when Image is empty.
	Registry string
	// Targets are the host-type labels of the eligible hosts, one spread each.
	Targets []string
	// Instances is the number of component instances per target; below 1 means 1.
	Instances int
	// SourceTopic is the NATS subject the task consumes.
	SourceTopic string
	// DestTopic is the subject results go to; used when Publishes.
	DestTopic string
	// Publishes says whether the task publishes (template fact).
	Publishes bool
	// Providers are the provider names the template uses (template fact).
	Providers []string
	// HTTPPort is the port of the HTTP producer; 0 means DefaultHTTPPort.
	HTTPPort int
	// Bucket is the NATS KV bucket, for templates using ProviderKeyValueNATS; it
	// goes only into the key-value link's target config (KeyValueBucketKey).
	Bucket string
	// Config is the task's own runtime configuration.
	Config map[string]string
	// Template and TemplateVersion name the template; they become labels.
	Template        string
	TemplateVersion int
	// SourceHash, when set, is the hash of the task's code: the AnnotationSourceHash
	// annotation.
	SourceHash string
}

// Build returns the application manifest of one task: the task component with
// its runtime config, a spreadscaler over its targets and its links, and one
// capability component per provider the template uses, running as a daemon on
// the same targets. Build never fails; Validate reports inputs it cannot express.
func Build(in BuildInput) *Manifest {
	name := AppName(in.ComponentName)
	prefix := ConfigPrefix(in.ComponentName)
	targets := dedupe(in.Targets)
	version := in.Version
	if in.AppVersion != "" {
		version = in.AppVersion
	}
	m := &Manifest{
		APIVersion: APIVersion,
		Kind:       KindApplication,
		Metadata: Metadata{
			Name: name,
			Annotations: map[string]string{
				AnnotationVersion:     version,
				AnnotationDescription: in.Name,
			},
		},
	}
	if in.SourceHash != "" {
		m.Metadata.Annotations[AnnotationSourceHash] = in.SourceHash
	}
	if in.Template != "" {
		m.Metadata.Labels = map[string]string{"pelato.dev/template": in.Template}
		if in.TemplateVersion > 0 {
			m.Metadata.Labels["pelato.dev/template-version"] = strconv.Itoa(in.TemplateVersion)
		}
	}

	uses := map[string]bool{}
	for _, p := range in.Providers {
		uses[p] = true
	}
	providerName := func(p string) string {
		prov, _ := LookupProvider(p)
		if prov.Component == in.ComponentName {
			return prov.Component + "-provider"
		}
		return prov.Component
	}

	// The task component.
	task := Component{
		Name:       in.ComponentName,
		Type:       TypeComponent,
		Properties: Properties{Image: ImageRef(in)},
	}
	runtimeConfig := maps.Clone(in.Config)
	if runtimeConfig == nil {
		runtimeConfig = map[string]string{}
	}
	if in.Publishes {
		runtimeConfig[ConfigDestTopic] = in.DestTopic
	}
	if len(runtimeConfig) > 0 {
		task.Properties.Config = []ConfigProperty{{Name: prefix + "-config", Properties: runtimeConfig}}
	}
	task.Traits = append(task.Traits, Trait{Type: TraitSpreadScaler, Scaler: spreadScaler(targets, in.Instances)})
	if uses[ProviderMessagingNATS] && in.Publishes {
		task.Traits = append(task.Traits, Trait{Type: TraitLink, Link: &LinkProperty{
			Namespace:  "wasmcloud",
			Package:    "messaging",
			Interfaces: []string{"consumer"},
			Target:     TargetConfig{Name: providerName(ProviderMessagingNATS)},
		}})
	}
	if uses[ProviderKeyValueNATS] {
		task.Traits = append(task.Traits, Trait{Type: TraitLink, Link: &LinkProperty{
			Namespace:  "wasi",
			Package:    "keyvalue",
			Interfaces: []string{"store"},
			Name:       KeyValueLinkName,
			Target: TargetConfig{
				Name: providerName(ProviderKeyValueNATS),
				Config: []ConfigProperty{{Name: prefix + "-kv", Properties: map[string]string{
					KeyValueBucketKey:     in.Bucket,
					KeyValueAutoCreateKey: "true",
				}}},
			},
		}})
	}
	m.Spec.Components = append(m.Spec.Components, task)

	// The providers, in a fixed order.
	for _, p := range Providers() {
		if !uses[p.Name] {
			continue
		}
		c := Component{
			Name:       providerName(p.Name),
			Type:       TypeCapability,
			Properties: Properties{Image: p.Image},
			Traits:     []Trait{{Type: TraitDaemonScaler, Scaler: daemonScaler(targets)}},
		}
		switch p.Name {
		case ProviderMessagingNATS:
			c.Traits = append(c.Traits, Trait{Type: TraitLink, Link: &LinkProperty{
				Namespace:  "wasmcloud",
				Package:    "messaging",
				Interfaces: []string{"handler"},
				Target:     TargetConfig{Name: in.ComponentName},
				Source: &ConfigDefinition{Config: []ConfigProperty{{
					Name:       prefix + "-subscription",
					Properties: map[string]string{"subscriptions": Subscription(in.SourceTopic, prefix)},
				}}},
			}})
		case ProviderHTTPServer:
			c.Traits = append(c.Traits, Trait{Type: TraitLink, Link: &LinkProperty{
				Namespace:  "wasi",
				Package:    "http",
				Interfaces: []string{"incoming-handler"},
				Target:     TargetConfig{Name: in.ComponentName},
				Source: &ConfigDefinition{Config: []ConfigProperty{{
					Name:       prefix + "-http",
					Properties: map[string]string{"address": HTTPAddress(in.HTTPPort)},
				}}},
			}})
		}
		m.Spec.Components = append(m.Spec.Components, c)
	}
	return m
}

// ImageRef returns the OCI reference of the task component: in.Image, or
// <Registry>/<ComponentName>:<Version>.
func ImageRef(in BuildInput) string {
	if in.Image != "" {
		return in.Image
	}
	return strings.TrimSuffix(in.Registry, "/") + "/" + in.ComponentName + ":" + in.Version
}

// AppName returns the application name for a component name: every character
// outside [-A-Za-z0-9_] becomes '_' so the result matches wadm's ^[-\w]+$. Distinct
// component names that differ only there (a.b, a_b) collide; the checker reports it.
func AppName(componentName string) string {
	var b strings.Builder
	for _, r := range componentName {
		if r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "task"
	}
	return b.String()
}

// ConfigPrefix returns the prefix of the named configs of a component: the
// component name restricted to the characters config names allow.
func ConfigPrefix(componentName string) string {
	var b strings.Builder
	for _, r := range componentName {
		if r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if r >= 'A' && r <= 'Z' {
			b.WriteRune(r - 'A' + 'a')
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "task"
	}
	return b.String()
}

// Subscription returns the messaging-nats subscriptions value for one subject
// consumed by a queue group, so that several provider instances deliver each
// message once.
func Subscription(subject, queue string) string {
	return subject + "|" + queue
}

// HTTPAddress returns the http-server address for port (0 means DefaultHTTPPort).
func HTTPAddress(port int) string {
	if port == 0 {
		port = DefaultHTTPPort
	}
	return "0.0.0.0:" + strconv.Itoa(port)
}

// Weights splits 100 over n spreads as evenly as integers allow; the first
// 100 mod n spreads get one more (3 → 34, 33, 33).
func Weights(n int) []int {
	if n <= 0 {
		return nil
	}
	w := make([]int, n)
	for i := range w {
		w[i] = 100 / n
		if i < 100%n {
			w[i]++
		}
	}
	return w
}

// spreadScaler places instancesPerTarget instances on every target.
func spreadScaler(targets []string, instancesPerTarget int) *ScalerProperty {
	if instancesPerTarget < 1 {
		instancesPerTarget = 1
	}
	s := &ScalerProperty{Instances: instancesPerTarget * max(len(targets), 1)}
	for i, w := range Weights(len(targets)) {
		s.Spread = append(s.Spread, Spread{
			Name:         targets[i],
			Requirements: map[string]string{"host-type": targets[i]},
			Weight:       &w,
		})
	}
	return s
}

// daemonScaler runs one provider instance on every host of every target.
func daemonScaler(targets []string) *ScalerProperty {
	s := &ScalerProperty{Instances: 1}
	for _, t := range targets {
		s.Spread = append(s.Spread, Spread{Name: t, Requirements: map[string]string{"host-type": t}})
	}
	return s
}

// dedupe returns list without repeated values, keeping the first of each.
func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
