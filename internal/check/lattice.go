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

// TargetLabel is the host label a task's `targets:` entries select hosts by.
const TargetLabel = "host-type"

// Host is a host of the lattice as the lattice check sees it.
type Host struct {
	Name   string
	Labels map[string]string
}

// LatticeTargets reports, as hints, each `targets:` entry of w whose label no host of
// the lattice carries (as host-type). It makes no network call: the caller gathers
// the hosts (the language server does, when lattice checks are enabled).
func LatticeTargets(w *workflow.Workflow, lattice string, hosts []Host) []Diagnostic {
	carried := map[string]bool{}
	for _, h := range hosts {
		if v, ok := h.Labels[TargetLabel]; ok {
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
				Message: fmt.Sprintf("no host of lattice %q has %s=%s: task %s would not be placed there until one joins; %s",
					lattice, TargetLabel, it.Value, t.Label(), describeHosts(hosts))})
		}
	}
	return out
}

// describeHosts lists the labels that hosts do carry, for the message.
func describeHosts(hosts []Host) string {
	if len(hosts) == 0 {
		return "the lattice has no hosts"
	}
	var labels []string
	seen := map[string]bool{}
	for _, h := range hosts {
		if v, ok := h.Labels[TargetLabel]; ok && !seen[v] {
			seen[v] = true
			labels = append(labels, v)
		}
	}
	sort.Strings(labels)
	if len(labels) == 0 {
		return fmt.Sprintf("it has %s, none with a %s label", plural.Count(len(hosts), "host"), TargetLabel)
	}
	return fmt.Sprintf("it has %s, with %s %s", plural.Count(len(hosts), "host"), TargetLabel, strings.Join(labels, ", "))
}
