// Package workload holds the Kubernetes resources pelato writes for wasmCloud 2
// (workflow.PlatformWasmCloud2): one runtime.wasmcloud.dev/v1alpha1
// WorkloadDeployment per task and target, reconciled by wasmCloud's
// runtime-operator. The types are the fields pelato writes, not the whole API
// (testdata/crds holds the upstream CustomResourceDefinition the tests validate
// them against). gen writes them to gen/<component_name>/FileName; deploy reads
// them back with Decode.
package workload

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// The resource's group, version and kind.
const (
	Group      = "runtime.wasmcloud.dev"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
	Kind       = "WorkloadDeployment"
	// Resource is the plural name of the kind in the API's paths.
	Resource = "workloaddeployments"
)

// FileName is the name of the manifest gen writes in gen/<component_name>/.
const FileName = "workloaddeployment.yaml"

// The labels pelato sets on every WorkloadDeployment it writes (metadata.labels and
// spec.template.labels).
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "pelato"
	LabelProject   = "pelato.dev/project"
	LabelTask      = "pelato.dev/task"
	LabelTarget    = "pelato.dev/target"
)

// HostSelectorKey is the Host label a task's target selects (hostSelector).
const HostSelectorKey = "hostgroup"

// The runtime configuration keys of the host interfaces pelato configures.
const (
	// ConfigSubscriptions is wasmcloud:messaging's comma-separated subjects.
	ConfigSubscriptions = "subscriptions"
	// ConfigConsumerGroup is wasmcloud:messaging's queue group.
	ConfigConsumerGroup = "consumer_group"
	// ConfigHost is the Host header wasi:http routes to the component.
	ConfigHost = "host"
)

// WorkloadDeployment is a runtime.wasmcloud.dev/v1alpha1 WorkloadDeployment, the
// fields pelato writes. metadata.namespace is left out of files: the deployer sets it.
type WorkloadDeployment struct {
	APIVersion string   `json:"apiVersion" yaml:"apiVersion"`
	Kind       string   `json:"kind" yaml:"kind"`
	Metadata   Metadata `json:"metadata" yaml:"metadata"`
	Spec       Spec     `json:"spec" yaml:"spec"`
}

// Metadata is the object's metadata.
type Metadata struct {
	Name      string            `json:"name" yaml:"name"`
	Namespace string            `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
}

// Spec is a WorkloadDeployment's spec.
type Spec struct {
	Replicas int32    `json:"replicas" yaml:"replicas"`
	Template Template `json:"template" yaml:"template"`
}

// Template is the Workload each replica runs (note: labels sit on the template
// itself, there is no template.metadata).
type Template struct {
	Labels map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Spec   WorkloadSpec      `json:"spec" yaml:"spec"`
}

// WorkloadSpec is a Workload's spec.
type WorkloadSpec struct {
	HostSelector   map[string]string `json:"hostSelector,omitempty" yaml:"hostSelector,omitempty"`
	Components     []Component       `json:"components" yaml:"components"`
	HostInterfaces []HostInterface   `json:"hostInterfaces,omitempty" yaml:"hostInterfaces,omitempty"`
}

// Component is one component of a Workload.
type Component struct {
	Name           string          `json:"name" yaml:"name"`
	Image          string          `json:"image" yaml:"image"`
	PoolSize       int32           `json:"poolSize,omitempty" yaml:"poolSize,omitempty"`
	LocalResources *LocalResources `json:"localResources,omitempty" yaml:"localResources,omitempty"`
}

// LocalResources are what the host makes available to a component; pelato uses
// config, which the component reads through wasi:config/store.
type LocalResources struct {
	Config map[string]string `json:"config,omitempty" yaml:"config,omitempty"`
}

// HostInterface is a capability the host provides to the Workload's components: a
// WIT package's interfaces, configured by config. Every import of a component must
// resolve to one.
type HostInterface struct {
	Namespace  string            `json:"namespace" yaml:"namespace"`
	Package    string            `json:"package" yaml:"package"`
	Interfaces []string          `json:"interfaces" yaml:"interfaces"`
	Version    string            `json:"version,omitempty" yaml:"version,omitempty"`
	Config     map[string]string `json:"config,omitempty" yaml:"config,omitempty"`
}

// Input is what Build needs of one task.
type Input struct {
	// ProjectName and TaskName are the workflow's project_name and the task's name
	// (labels; sanitized into label values).
	ProjectName, TaskName string
	// ComponentName is the task's component_name: the object and component name.
	ComponentName string
	// Image is the component's OCI reference.
	Image string
	// Targets are the hostgroup labels of the eligible hosts: one
	// WorkloadDeployment each (none: one without a hostSelector).
	Targets []string
	// Instances is the replicas of each WorkloadDeployment; below 1 means 1.
	Instances int
	// SourceTopic is the subject the task subscribes to; "" means no
	// wasmcloud:messaging handler.
	SourceTopic string
	// ConsumerGroup is the queue group of the subscription; "" means none.
	ConsumerGroup string
	// Publishes says the component imports wasmcloud:messaging/consumer.
	Publishes bool
	// HTTPHost, when set, routes requests with this Host header to the component
	// (wasi:http incoming-handler).
	HTTPHost string
	// KeyValue says the component imports wasi:keyvalue/store; it opens the bucket
	// by the name it passes to open(), so the bucket needs no config here.
	KeyValue bool
	// Logging says the component imports wasi:logging/logging.
	Logging bool
	// Config is the component's runtime configuration (localResources.config).
	Config map[string]string
}

// Build returns the WorkloadDeployments of one task, one per target in the order
// of in.Targets (duplicates dropped), or one without a hostSelector when it has none.
// Names are <component_name> or <component_name>-<target>; Build does not validate:
// check does (PL218, PL220), and Validate reports what the API would refuse.
func Build(in Input) []WorkloadDeployment {
	replicas := int32(max(in.Instances, 1))
	var targets []string
	for _, t := range in.Targets {
		if !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		targets = []string{""}
	}
	out := make([]WorkloadDeployment, 0, len(targets))
	for _, target := range targets {
		labels := map[string]string{
			LabelManagedBy: ManagedBy,
			LabelProject:   LabelValue(in.ProjectName),
			LabelTask:      LabelValue(in.TaskName),
		}
		name := in.ComponentName
		var selector map[string]string
		if target != "" {
			labels[LabelTarget] = target
			name += "-" + target
			selector = map[string]string{HostSelectorKey: target}
		}
		comp := Component{Name: in.ComponentName, Image: in.Image}
		if len(in.Config) > 0 {
			comp.LocalResources = &LocalResources{Config: maps.Clone(in.Config)}
		}
		out = append(out, WorkloadDeployment{
			APIVersion: APIVersion,
			Kind:       Kind,
			Metadata:   Metadata{Name: name, Labels: labels},
			Spec: Spec{
				Replicas: replicas,
				Template: Template{
					Labels: maps.Clone(labels),
					Spec: WorkloadSpec{
						HostSelector:   selector,
						Components:     []Component{comp},
						HostInterfaces: hostInterfaces(in),
					},
				},
			},
		})
	}
	return out
}

// hostInterfaces returns the host interfaces a task's component imports and
// exports, in a fixed order.
func hostInterfaces(in Input) []HostInterface {
	var out []HostInterface
	if in.SourceTopic != "" || in.Publishes {
		h := HostInterface{Namespace: "wasmcloud", Package: "messaging", Version: "0.2.0"}
		if in.SourceTopic != "" {
			h.Interfaces = append(h.Interfaces, "handler")
			h.Config = map[string]string{ConfigSubscriptions: in.SourceTopic}
			if in.ConsumerGroup != "" {
				h.Config[ConfigConsumerGroup] = in.ConsumerGroup
			}
		}
		if in.Publishes {
			h.Interfaces = append(h.Interfaces, "consumer")
		}
		out = append(out, h)
	}
	if in.HTTPHost != "" {
		out = append(out, HostInterface{Namespace: "wasi", Package: "http",
			Interfaces: []string{"incoming-handler"}, Config: map[string]string{ConfigHost: in.HTTPHost}})
	}
	if in.KeyValue {
		out = append(out, HostInterface{Namespace: "wasi", Package: "keyvalue", Version: "0.2.0-draft", Interfaces: []string{"store"}})
	}
	if in.Logging {
		out = append(out, HostInterface{Namespace: "wasi", Package: "logging", Version: "0.1.0-draft", Interfaces: []string{"logging"}})
	}
	return out
}

// LabelValue turns free text (a project or task name) into a valid Kubernetes label
// value: at most 63 characters of [A-Za-z0-9._-], starting and ending with a letter
// or digit; other characters become '_' (so "Temp data conversion" becomes
// "Temp_data_conversion"). "" stays "".
func LabelValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 63 {
			break
		}
	}
	v := b.String()
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.Trim(v, "-_.")
}

var (
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	labelValue       = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
)

// Validate reports what the API server would refuse in the fields pelato writes: a
// name that is not a DNS-1123 subdomain, a label or hostSelector value that is not a
// label value, a negative replica count. check keeps workflows from getting here
// (PL218, PL220); Validate is the last guard before a manifest is written.
func Validate(wd WorkloadDeployment) error {
	var problems []string
	if n := wd.Metadata.Name; len(n) > 253 || !dns1123Subdomain.MatchString(n) {
		problems = append(problems, fmt.Sprintf("name %q is not a Kubernetes object name (lowercase letters, digits, '-' and '.')", n))
	}
	for _, m := range []map[string]string{wd.Metadata.Labels, wd.Spec.Template.Labels, wd.Spec.Template.Spec.HostSelector} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if v := m[k]; len(v) > 63 || !labelValue.MatchString(v) {
				problems = append(problems, fmt.Sprintf("label %s=%q: the value is not a Kubernetes label value (at most 63 letters, digits, '-', '_' and '.')", k, v))
			}
		}
	}
	if wd.Spec.Replicas < 0 {
		problems = append(problems, fmt.Sprintf("replicas %d is negative", wd.Spec.Replicas))
	}
	if len(problems) > 0 {
		return fmt.Errorf("workload %s: %s", wd.Metadata.Name, strings.Join(slices.Compact(problems), "; "))
	}
	return nil
}
