package kube

import (
	"context"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Host is a wasmCloud 2 host as its Host resource describes it (the operator
// writes it from the host's heartbeats, in the operator's namespace).
type Host struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	HostID    string            `json:"host_id,omitempty"`
	Hostname  string            `json:"hostname,omitempty"`
	Labels    map[string]string `json:"labels"`
	// Ready is the Ready condition being True: the operator places work only there.
	Ready bool `json:"ready"`
	// NotReady says why it is not ready (the condition's message), when it is not.
	NotReady string `json:"not_ready,omitempty"`
}

// DecodeHost reads a Host object; it never panics on malformed input.
func DecodeHost(obj map[string]any) Host {
	h := Host{Name: str(obj, "metadata", "name"), Namespace: str(obj, "metadata", "namespace"), HostID: str(obj, "hostId"), Hostname: str(obj, "hostname")}
	h.Labels = strMap(obj, "metadata", "labels")
	if h.Labels == nil {
		h.Labels = map[string]string{}
	}
	rc := findCondition(DecodeConditions(obj), CondReady)
	h.Ready = rc.Status == StatusTrue
	if !h.Ready {
		h.NotReady = rc.Message
		if h.NotReady == "" {
			h.NotReady = "not reporting"
		}
	}
	return h
}

// Hosts lists the Host resources of every namespace (the operator keeps them in
// its own); when the user may not list them cluster-wide, those of the client's
// namespace. Sorted by name.
func (c *Client) Hosts(ctx context.Context) ([]Host, error) {
	res := c.dyn.Resource(HostsResource)
	list, err := res.List(ctx, metav1.ListOptions{})
	if apierrors.IsForbidden(err) {
		list, err = res.Namespace(c.namespace).List(ctx, metav1.ListOptions{})
	}
	if err != nil {
		return nil, c.wrap(err, "list Hosts")
	}
	out := make([]Host, 0, len(list.Items))
	for _, it := range list.Items {
		out = append(out, DecodeHost(it.Object))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DescribeHosts lists hosts for a message: "host-a {hostgroup=edge}, host-b
// {hostgroup=cloud} (not ready)"; "none" when empty.
func DescribeHosts(hosts []Host) string {
	if len(hosts) == 0 {
		return "none"
	}
	parts := make([]string, len(hosts))
	for i, h := range hosts {
		p := h.Name + " {" + FormatLabels(h.Labels) + "}"
		if !h.Ready {
			p += " (not ready)"
		}
		parts[i] = p
	}
	return strings.Join(parts, ", ")
}

// Carries reports whether some ready host has label key=value.
func Carries(hosts []Host, key, value string) bool {
	for _, h := range hosts {
		if v, ok := h.Labels[key]; ok && v == value && h.Ready {
			return true
		}
	}
	return false
}

func sortDeployments(d []Deployment) {
	sort.Slice(d, func(i, j int) bool { return d[i].Name < d[j].Name })
}
