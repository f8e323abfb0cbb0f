package kube

import (
	"fmt"
	"sort"
	"strings"
)

// Condition is one status condition of a runtime.wasmcloud.dev resource
// (runtime-operator/api/condition.Condition).
type Condition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
	ObservedGeneration int64  `json:"observed_generation,omitempty"`
}

// Condition types and statuses the runtime-operator writes.
const (
	CondReady         = "Ready"
	CondScale         = "Scale"
	CondDeploy        = "Deploy"
	CondSync          = "Sync"
	CondArtifact      = "Artifact"
	CondHostSelection = "HostSelection"
	CondPlacement     = "Placement"
	StatusTrue        = "True"
	StatusFalse       = "False"
	StatusUnknown     = "Unknown"
)

// Deployment is a WorkloadDeployment as the cluster holds it.
type Deployment struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Wanted is spec.replicas (1 when unset, as the operator's default).
	Wanted int32 `json:"replicas_wanted"`
	// Current and Ready are status.replicas.current and .ready.
	Current int32 `json:"replicas_current"`
	Ready   int32 `json:"replicas_ready"`
	// HostSelector is spec.template.spec.hostSelector.
	HostSelector    map[string]string `json:"host_selector,omitempty"`
	Conditions      []Condition       `json:"conditions,omitempty"`
	Generation      int64             `json:"generation"`
	ResourceVersion string            `json:"resource_version"`
	Deleting        bool              `json:"deleting,omitempty"`
	// CurrentReplicaSet is status.currentReplicaSet.name: the ReplicaSet the
	// operator made from the template it last took up.
	CurrentReplicaSet string `json:"current_replica_set,omitempty"`

	templateSpec any // spec.template.spec, to compare with the ReplicaSet's
}

// DecodeDeployment reads a WorkloadDeployment object (as the API server sends it).
// It never panics on malformed input: fields of the wrong type read as absent.
func DecodeDeployment(obj map[string]any) Deployment {
	d := Deployment{Name: str(obj, "metadata", "name"), Namespace: str(obj, "metadata", "namespace"), Wanted: 1,
		Generation: i64(obj, "metadata", "generation"), ResourceVersion: str(obj, "metadata", "resourceVersion")}
	d.Labels = strMap(obj, "metadata", "labels")
	if _, ok := nested(obj, "metadata", "deletionTimestamp"); ok {
		d.Deleting = true
	}
	if v, ok := nested(obj, "spec", "replicas"); ok {
		if n, ok := toInt(v); ok {
			d.Wanted = int32(n)
		}
	}
	d.HostSelector = strMap(obj, "spec", "template", "spec", "hostSelector")
	d.Current = int32(i64(obj, "status", "replicas", "current"))
	d.Ready = int32(i64(obj, "status", "replicas", "ready"))
	d.Conditions = DecodeConditions(obj)
	d.CurrentReplicaSet = str(obj, "status", "currentReplicaSet", "name")
	d.templateSpec, _ = nested(obj, "spec", "template", "spec")
	return d
}

// DecodeConditions reads status.conditions of any runtime.wasmcloud.dev object.
func DecodeConditions(obj map[string]any) []Condition {
	v, ok := nested(obj, "status", "conditions")
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []Condition
	for _, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		c := Condition{Type: str(m, "type"), Status: str(m, "status"), Reason: str(m, "reason"), Message: str(m, "message"), ObservedGeneration: i64(m, "observedGeneration")}
		if c.Type == "" {
			continue
		}
		out = append(out, c)
	}
	return out
}

// Condition returns the condition of type t (Status "Unknown" when absent).
func (d Deployment) Condition(t string) Condition {
	return findCondition(d.Conditions, t)
}

func findCondition(cs []Condition, t string) Condition {
	for _, c := range cs {
		if c.Type == t {
			return c
		}
	}
	return Condition{Type: t, Status: StatusUnknown}
}

// IsReady reports whether the operator reports the deployment Ready for its
// current generation with every wanted replica ready.
func (d Deployment) IsReady() bool {
	c := d.Condition(CondReady)
	if c.Status != StatusTrue || d.Deleting {
		return false
	}
	if c.ObservedGeneration != 0 && c.ObservedGeneration < d.Generation {
		return false
	}
	return d.Ready >= d.Wanted
}

// Words says the deployment's state in a few words: "ready (2/2 replicas)",
// "not ready (0/1 replicas): Scale: current ReplicaSet not available yet".
func (d Deployment) Words() string {
	reps := fmt.Sprintf("%d/%d replicas", d.Ready, d.Wanted)
	switch {
	case d.Deleting:
		return "being deleted (" + reps + ")"
	case d.IsReady():
		return "ready (" + reps + ")"
	}
	var why []string
	for _, t := range []string{CondArtifact, CondSync, CondDeploy, CondScale, CondReady} {
		c := d.Condition(t)
		if c.Status == StatusTrue || (c.Status == StatusUnknown && c.Message == "" && c.Reason == "") {
			continue
		}
		w := t + " " + strings.ToLower(c.Status)
		if c.Message != "" {
			w += ": " + c.Message
		} else if c.Reason != "" {
			w += ": " + c.Reason
		}
		why = append(why, w)
	}
	s := "not ready (" + reps + ")"
	if len(d.Conditions) == 0 {
		s += ": no status yet (is the wasmCloud runtime-operator running?)"
	} else if len(why) > 0 {
		s += ": " + strings.Join(dedupe(why), "; ")
	}
	return s
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func nested(obj map[string]any, path ...string) (any, bool) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[p]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

func str(obj map[string]any, path ...string) string {
	v, _ := nested(obj, path...)
	s, _ := v.(string)
	return s
}

func i64(obj map[string]any, path ...string) int64 {
	v, _ := nested(obj, path...)
	n, _ := toInt(v)
	return n
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		if n != n || n > 1<<53 || n < -(1<<53) {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

func strMap(obj map[string]any, path ...string) map[string]string {
	v, _ := nested(obj, path...)
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		if s, ok := x.(string); ok {
			out[k] = s
		}
	}
	return out
}

// FormatLabels writes labels as "k=v, k2=v2", sorted; "no labels" when empty.
func FormatLabels(l map[string]string) string {
	if len(l) == 0 {
		return "no labels"
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, ", ")
}
