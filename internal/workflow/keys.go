package workflow

// ValueType is the type a key's value must have.
type ValueType int

// The value types.
const (
	String ValueType = iota + 1
	StringList
	Int
	StringMap
	TaskList
)

// String names the type as messages do.
func (t ValueType) String() string {
	switch t {
	case String:
		return "a string"
	case StringList:
		return "a list of strings"
	case Int:
		return "a whole number"
	case StringMap:
		return "a mapping of names to strings"
	case TaskList:
		return "a list of tasks"
	}
	return "a value"
}

// Scope says where a key may appear and who decides whether it is required.
type Scope int

// The scopes.
const (
	// Project keys sit at the top of workflow.yaml.
	Project Scope = iota + 1
	// Common keys belong to every task whatever its template.
	Common
	// TemplateKey keys belong to tasks whose template lists them (required, optional or unused).
	TemplateKey
)

// KeySpec describes one key of workflow.yaml. The checker, the JSON Schema, completion
// and hover all read this table.
type KeySpec struct {
	Key   string
	Scope Scope
	Type  ValueType
	// Required applies to Project and Common keys; a template decides for its own keys.
	Required bool
	// Description is the documentation shown in hovers and the schema.
	Description string
	// Pattern is a regular expression (RE2 and ECMA compatible) a string value must match.
	Pattern string
	// Example is a value for snippets and documentation.
	Example string
	// Minimum and Maximum bound Int values when non-zero.
	Minimum, Maximum int
	// Default documents the value used when the key is absent.
	Default string
	// Replacement names the key to use instead of a deprecated one.
	Replacement string
}

// Patterns shared by the checker and the schema.
const (
	ComponentPattern = `^[a-z0-9]+([._-][a-z0-9]+)*$`
	// VersionPattern is semantic versioning without build metadata (`+abc`): the
	// version is the component's OCI tag, and a tag cannot hold `+`.
	VersionPattern = `^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`
	// MaxVersionLength is the longest version: an OCI tag holds at most 128 characters.
	MaxVersionLength = 128
	BucketPattern    = `^[A-Za-z0-9_-]+$`
	LabelPattern     = `^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`
)

var keys = []KeySpec{
	{Key: "project_name", Scope: Project, Type: String, Required: true, Example: "Temperature data analysis",
		Description: "The project's display name, free text (used in logs and metrics)."},
	{Key: "platform", Scope: Project, Type: String, Example: "wasmcloud2",
		Description: "Where the project deploys: `wasmcloud1` (wadm over NATS, the default) or `wasmcloud2` (WorkloadDeployments on Kubernetes)."},
	{Key: "tasks", Scope: Project, Type: TaskList, Required: true,
		Description: "The tasks of the workflow: each becomes one WebAssembly component and one wadm application."},

	{Key: "name", Scope: Common, Type: String, Required: true, Example: "Temp data conversion",
		Description: "The task's display name, free text; it becomes the wadm application's description and names the task in logs."},
	{Key: "type", Scope: Common, Type: String, Required: true, Example: "processor_nats",
		Description: "The template that wraps the task's code (see `pelato templates`)."},
	{Key: "code", Scope: Common, Type: String, Required: true, Example: "convert.go",
		Description: "The task's Go code: a `.go` file or a folder of `.go` files under `tasks/`, package main, defining `exec_task`. Several tasks may share one file."},
	{Key: "targets", Scope: Common, Type: StringList, Required: true, Example: "[edge]",
		Description: "The `host-type` labels of the wasmCloud hosts that may run the task; instances are spread evenly over them.", Pattern: LabelPattern},
	{Key: "source_topic", Scope: Common, Type: String, Required: true, Example: "sensors.celsius",
		Description: "The NATS subject the task consumes; wildcards `*` (one token) and `>` (the rest) are allowed."},
	{Key: "component_name", Scope: Common, Type: String, Required: true, Example: "celsius_to_kelvin", Pattern: ComponentPattern,
		Description: "The component's name: unique in the workflow, lowercase; it names the OCI repository (`<registry>/<component_name>:<version>`), the wadm application and gen/<component_name>/."},
	{Key: "version", Scope: Common, Type: String, Required: true, Example: "1.0.0", Pattern: VersionPattern,
		Description: "The component's semantic version `x.y.z` (a pre-release such as `1.0.0-rc.1` is allowed); it is the OCI tag and the wadm version. Never `latest`; change it whenever the task changes."},
	{Key: "instances", Scope: Common, Type: Int, Minimum: 1, Maximum: 10000, Default: "1", Example: "1",
		Description: "How many instances of the component to run, split over the targets."},
	{Key: "config", Scope: Common, Type: StringMap, Example: "{threshold: \"300\"}",
		Description: "Extra runtime configuration handed to the component as string properties."},
	{Key: "target", Scope: Common, Type: String, Replacement: "targets",
		Description: "Deprecated spelling of `targets` from the original PELATO; use `targets: [label]`."},

	{Key: "dest_topic", Scope: TemplateKey, Type: String, Example: "sensors.kelvin",
		Description: "The NATS subject the task publishes its results to; no wildcards. It is runtime configuration: changing it needs no rebuild."},
	{Key: "http_port", Scope: TemplateKey, Type: Int, Minimum: 1, Maximum: 65535, Default: "8000", Example: "8000",
		Description: "The port the HTTP producer listens on (on every host that runs it)."},
	{Key: "bucket", Scope: TemplateKey, Type: String, Pattern: BucketPattern, Example: "readings",
		Description: "The NATS key-value bucket the task stores its results in."},
}

// Keys returns every key of workflow.yaml in documentation order.
func Keys() []KeySpec { return append([]KeySpec(nil), keys...) }

// LookupKey returns the spec of key in scope (TemplateKey keys are found for Common too).
func LookupKey(key string, task bool) (KeySpec, bool) {
	for _, k := range keys {
		if k.Key == key && (k.Scope == Project) != task {
			return k, true
		}
	}
	return KeySpec{}, false
}
