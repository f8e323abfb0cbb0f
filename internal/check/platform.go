package check

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// The platform rules (PL216-PL220, PL307): the `platform:` key itself, and what
// each platform needs of the task keys. On wasmcloud2 a task becomes Kubernetes
// objects (internal/workload): its component_name names them, its targets become
// label values and name suffixes, its http_host routes HTTP requests.

var (
	// dns1123Label is a Kubernetes DNS-1123 label (at most maxDNSLabel characters).
	dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// k8sTarget is a target usable on wasmcloud2: a label value that is also a valid
	// suffix of an object name (a DNS-1123 subdomain).
	k8sTarget  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	hostnameRE = regexp.MustCompile(workflow.HostnamePattern)
)

// maxDNSLabel is the length limit of a DNS label and of a Kubernetes label value.
const maxDNSLabel = 63

// resolvePlatform returns the platform the rules apply, or "" when it is unknown
// (PL216 reports it; no platform rule runs then).
func (c *wfChecker) resolvePlatform() string {
	p, err := workflow.ResolvePlatform(c.opts.Platform, c.w)
	if err != nil {
		return ""
	}
	return p
}

// platformRules runs the platform rules; c.platform is set.
func (c *wfChecker) platformRules() {
	if f := c.f.Root.Field("platform"); f != nil {
		c.platformKey(f)
	}
	if c.platform == "" {
		return
	}
	type httpTask struct {
		task *workflow.Task
		at   span.Range
	}
	hosts := map[string]httpTask{}
	for _, t := range c.w.Tasks {
		if t.Node.Kind != workflow.Mapping {
			continue
		}
		tpl, ok := c.reg.Lookup(t.Str("type"))
		if !ok {
			continue
		}
		hostField := t.Field("http_host")
		if hostField != nil && tpl.KeyRole("http_host") != "" {
			c.httpHost(hostField)
			if c.platform != workflow.PlatformWasmCloud2 {
				d := c.add(Warning, CodePlatformKey, hostField.At(), fmt.Sprintf("`http_host` is used on %s only; on %s the HTTP producer listens on `http_port`: remove it or set `platform: %s`",
					workflow.PlatformWasmCloud2, c.platform, workflow.PlatformWasmCloud2), c.removeField(hostField))
				d.Unnecessary = true
			}
		}
		if c.platform != workflow.PlatformWasmCloud2 {
			continue
		}
		if f := t.Field("http_port"); f != nil && tpl.HTTP {
			d := c.add(Warning, CodePlatformKey, f.At(), fmt.Sprintf("`http_port` has no effect on %s: the host listens on its own port and routes requests by their Host header; set `http_host` instead (default `%s`)",
				workflow.PlatformWasmCloud2, workflow.DefaultHTTPHost(t.Str("component_name"))), c.removeField(f))
			d.Unnecessary = true
		}
		if f := t.Field("component_name"); f != nil {
			c.k8sComponentName(f)
		}
		c.k8sTargets(t)
		if tpl.HTTP && t.Str("component_name") != "" {
			host, at := workflow.DefaultHTTPHost(t.Str("component_name")), t.Field("component_name").Value.At()
			if hostField != nil {
				if hostField.Value.Kind != workflow.Scalar || hostField.Value.Value == "" {
					continue
				}
				host, at = hostField.Value.Value, hostField.Value.At()
			}
			key := strings.ToLower(host)
			if first, dup := hosts[key]; dup {
				d := c.add(Error, CodeDupHTTPHost, at, fmt.Sprintf("HTTP producers %s and %s both route Host `%s`: a request could reach either; give one of them another `http_host`", first.task.Label(), t.Label(), host))
				d.Related = []Related{{File: c.f.Path, Range: first.at, Message: "the other HTTP producer's host"}}
			} else {
				hosts[key] = httpTask{t, at}
			}
		}
	}
}

// platformKey checks the value of `platform:` (PL216).
func (c *wfChecker) platformKey(f *workflow.Field) {
	s, ok := c.stringValue(f)
	if !ok || workflow.IsPlatform(s) {
		return
	}
	msg := fmt.Sprintf("unknown platform `%s`; expected one of %s", s, list(workflow.Platforms()))
	var fixes []Fix
	best, found := closest(strings.ToLower(strings.ReplaceAll(s, " ", "")), workflow.Platforms())
	if found {
		msg = fmt.Sprintf("unknown platform `%s`; did you mean `%s`? (platforms: %s)", s, best, list(workflow.Platforms()))
		if fix := c.valueEdit(f, "Change to `"+best+"`", best); fix.Title != "" {
			fixes = append(fixes, fix)
		}
	}
	c.add(Error, CodeUnknownPlatform, f.Value.At(), msg, fixes...)
}

// httpHost checks the form of an http_host value (PL219).
func (c *wfChecker) httpHost(f *workflow.Field) {
	v := f.Value
	if v.Kind != workflow.Scalar || v.IsNull() || v.Value == "" {
		return // stringValue reported it
	}
	s := v.Value
	switch {
	case len(s) > workflow.MaxHostnameLength:
		c.add(Error, CodeBadHTTPHost, v.At(), fmt.Sprintf("http_host is %d characters long; a host name holds at most %d", len(s), workflow.MaxHostnameLength))
	case !hostnameRE.MatchString(s):
		msg := fmt.Sprintf("http_host `%s` is not a host name: use dot-separated labels of letters, digits and inner `-` (e.g. `convert.example.com`); no scheme, port or path", s)
		if h := hostOf(s); h != "" && h != s && hostnameRE.MatchString(h) {
			c.add(Error, CodeBadHTTPHost, v.At(), msg, c.valueEdit(f, "Change to `"+h+"`", h))
			return
		}
		c.add(Error, CodeBadHTTPHost, v.At(), msg)
	}
}

// hostOf returns the host of a URL-like value (`http://a.b:80/x` gives `a.b`).
func hostOf(s string) string {
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	s, _, _ = strings.Cut(s, "/")
	s, _, _ = strings.Cut(s, ":")
	return strings.ToLower(s)
}

// k8sComponentName checks that a valid component_name is also a DNS-1123 label,
// as Kubernetes object names and components need (PL218).
func (c *wfChecker) k8sComponentName(f *workflow.Field) {
	v := f.Value
	if v.Kind != workflow.Scalar || !componentRE.MatchString(v.Value) {
		return // PL204/PL215 report it
	}
	s := v.Value
	if len(s) <= maxDNSLabel && dns1123Label.MatchString(s) {
		return
	}
	msg := fmt.Sprintf("component_name `%s` is not a DNS-1123 label, which %s needs (it names the Kubernetes WorkloadDeployment and the component): use at most %d lowercase letters, digits and `-`",
		s, workflow.PlatformWasmCloud2, maxDNSLabel)
	sug := strings.NewReplacer("_", "-", ".", "-").Replace(s)
	if len(sug) <= maxDNSLabel && dns1123Label.MatchString(sug) {
		c.add(Error, CodeK8sComponent, v.At(), msg+fmt.Sprintf(" (e.g. `%s`)", sug), c.valueEdit(f, "Change to `"+sug+"`", sug))
		return
	}
	c.add(Error, CodeK8sComponent, v.At(), msg)
}

// k8sTargets checks that each target is usable as a Kubernetes label value and as
// the suffix of an object name (PL220).
func (c *wfChecker) k8sTargets(t *workflow.Task) {
	f := t.Field("targets")
	if f == nil {
		f = t.Field("target")
	}
	if f == nil {
		return
	}
	var items []*workflow.Node
	switch f.Value.Kind {
	case workflow.Scalar:
		items = []*workflow.Node{f.Value}
	case workflow.Sequence:
		items = f.Value.Items
	}
	for _, it := range items {
		if it.Kind != workflow.Scalar || it.IsNull() || !labelRE.MatchString(it.Value) {
			continue // PL209/PL103 report it
		}
		s := it.Value
		if len(s) <= maxDNSLabel && k8sTarget.MatchString(s) {
			continue
		}
		msg := fmt.Sprintf("target `%s` cannot be used on %s: it is the `hostgroup` label value of the hosts and ends the WorkloadDeployment's name, so use at most %d lowercase letters, digits, `-` and `.`",
			s, workflow.PlatformWasmCloud2, maxDNSLabel)
		sug := strings.ReplaceAll(strings.ToLower(s), "_", "-")
		if len(sug) <= maxDNSLabel && k8sTarget.MatchString(sug) && it.Via.IsZero() {
			c.add(Error, CodeK8sTarget, it.At(), msg+fmt.Sprintf(" (e.g. `%s`)", sug), c.edit("Change to `"+sug+"`", it.Range, sug))
			continue
		}
		c.add(Error, CodeK8sTarget, it.At(), msg)
	}
}
