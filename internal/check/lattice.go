package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pelato-dev/pelato/internal/plural"

	"github.com/pelato-dev/pelato/internal/workflow"
)

// CodeNoHostForTarget: a `targets:` label that no host of the lattice carries.
const CodeNoHostForTarget Code = "PL601"

// TargetLabel is the host label a task's `targets:` entries select hosts by on
// wasmCloud 1 (wadm spread requirements).
const TargetLabel = "host-type"

// HostGroupLabel is the Host label `targets:` entries select hosts by on wasmCloud 2
// (the WorkloadDeployment's hostSelector).
const HostGroupLabel = "hostgroup"

// TargetLabelFor returns the host label `targets:` entries select by on w's platform.
func TargetLabelFor(w *workflow.Workflow) string {
	if w.Platform() == workflow.PlatformWasmCloud2 {
		return HostGroupLabel
	}
	return TargetLabel
}

// Host is a host of the lattice as the lattice check sees it.
type Host struct {
	Name   string
	Labels map[string]string
}

// LatticeTargets reports, as hints, each `targets:` entry of w whose label no host of
// the lattice carries (as host-type; on wasmCloud 2: no Host resource of the cluster
// carries as hostgroup). It makes no network call: the caller gathers the hosts (the
// language server does, when lattice checks are enabled).
func LatticeTargets(w *workflow.Workflow, lattice string, hosts []Host) []Diagnostic {
	label := TargetLabelFor(w)
	where := fmt.Sprintf("lattice %q", lattice)
	if w.Platform() == workflow.PlatformWasmCloud2 {
		where = "the cluster"
	}
	carried := map[string]bool{}
	for _, h := range hosts {
		if v, ok := h.Labels[label]; ok {
			carried[v] = true
		}
	}
	var out []Diagnostic
	for _, t := range w.Tasks {
		f := t.Field("targets")
		if f == nil {
			f = t.Field("target")
		}
		if f == nil {
			continue
		}
		items := f.Value.Items
		if f.Value.Kind == workflow.Scalar {
			items = []*workflow.Node{f.Value}
		}
		for _, it := range items {
			if it.Kind != workflow.Scalar || it.IsNull() || it.Value == "" || carried[it.Value] {
				continue
			}
			out = append(out, Diagnostic{File: workflow.FileName, Range: it.At(), Severity: Hint, Code: CodeNoHostForTarget,
				Message: fmt.Sprintf("no host of %s has %s=%s: task %s would not be placed there until one joins; %s",
					where, label, it.Value, t.Label(), describeHosts(hosts, label))})
		}
	}
	return out
}

// describeHosts lists the labels that hosts do carry, for the message.
func describeHosts(hosts []Host, label string) string {
	if len(hosts) == 0 && label == HostGroupLabel {
		return "the cluster has no Host resources"
	}
	if len(hosts) == 0 {
		return "the lattice has no hosts"
	}
	var labels []string
	seen := map[string]bool{}
	for _, h := range hosts {
		if v, ok := h.Labels[label]; ok && !seen[v] {
			seen[v] = true
			labels = append(labels, v)
		}
	}
	sort.Strings(labels)
	if len(labels) == 0 {
		return fmt.Sprintf("it has %s, none with a %s label", plural.Count(len(hosts), "host"), label)
	}
	return fmt.Sprintf("it has %s, with %s %s", plural.Count(len(hosts), "host"), label, strings.Join(labels, ", "))
}
