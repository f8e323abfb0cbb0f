package pipeline

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pelato-dev/pelato/internal/plural"

	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// StatusOptions configures Status.
type StatusOptions struct {
	// Root is the project folder.
	Root string
	// Tasks selects tasks by component_name or name; empty means every task.
	Tasks []string
	// Templates is the template registry; nil means the embedded one.
	Templates *templates.Registry
	// Lattice says how to reach the lattice.
	Lattice LatticeConn
	// Hosts bounds the gathering of host ping replies; zero values mean the
	// connection's ping window (HOST_PING_WINDOW, 5 s) ended 100ms after the last
	// reply.
	Hosts lattice.HostsOptions
	// Kube says how to reach the cluster when the project's platform is wasmcloud2.
	Kube KubeConn
}

// AppState is the state in the lattice of one task's application.
type AppState struct {
	ComponentName string `json:"component_name"`
	Task          string `json:"task"`
	App           string `json:"app"`
	// Version is the task's version in workflow.yaml.
	Version string `json:"version"`
	// Stored reports whether wadm has the application at all.
	Stored bool `json:"stored"`
	// LatestVersion is the newest version wadm stores; DeployedVersion the deployed one.
	LatestVersion   string `json:"latest_version,omitempty"`
	DeployedVersion string `json:"deployed_version,omitempty"`
	// Status is wadm's status type ("" when not stored).
	Status  string                 `json:"status,omitempty"`
	Message string                 `json:"message,omitempty"`
	Scalers []lattice.ScalerStatus `json:"scalers,omitempty"`
}

// StatusResult is the outcome of Status.
type StatusResult struct {
	// Platform, Namespace and Context: as in DeployResult.
	Platform  string         `json:"platform,omitempty"`
	Namespace string         `json:"namespace,omitempty"`
	Context   string         `json:"context,omitempty"`
	Lattice   string         `json:"lattice"`
	URL       string         `json:"nats_url"`
	Apps      []AppState     `json:"apps"`
	Hosts     []lattice.Host `json:"hosts"`
	// WadmAnswered reports whether wadm answered the list request: when it did not,
	// the applications' Stored, versions and status are unknown, not "not in wadm".
	WadmAnswered bool `json:"wadm_answered"`
	// Others are applications of the lattice that no selected task names.
	Others []string `json:"other_apps,omitempty"`
	// Err is what stopped the command early, when something did.
	Err      string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Summary describes the outcome in one line.
func (r *StatusResult) Summary() string {
	deployed := 0
	for _, a := range r.Apps {
		if a.Status == lattice.StatusDeployed {
			deployed++
		}
	}
	if !r.WadmAnswered {
		return fmt.Sprintf("%s of unknown state (%s did not answer), %s in %s", plural.Count(len(r.Apps), "application"), orchestrator(r.Platform), plural.Count(len(r.Hosts), "host"), where(r.Platform, r.Lattice))
	}
	return fmt.Sprintf("%d of %s deployed, %s in %s", deployed, plural.Count(len(r.Apps), "application"), plural.Count(len(r.Hosts), "host"), where(r.Platform, r.Lattice))
}

// Status reports the project's applications as wadm sees them (one list request) and
// the lattice's hosts (one host ping). When wadm cannot be reached the hosts are still
// returned, with the error.
func Status(ctx context.Context, opts StatusOptions) (*StatusResult, error) {
	start := time.Now()
	if opts.Templates == nil {
		opts.Templates = templates.Default()
	}
	if opts.Hosts.Window <= 0 && opts.Hosts.Quiet <= 0 {
		opts.Hosts.Quiet = 100 * time.Millisecond
	}
	res, apps, err := projectApps(ctx, opts.Root, opts.Templates, opts.Tasks, false)
	if err != nil {
		return nil, err
	}
	if isKube(res.Workflow) {
		return statusKube(ctx, opts, res.Workflow, apps, start)
	}
	c, release, err := opts.Lattice.open(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	out := &StatusResult{Lattice: c.Lattice(), URL: c.URL(), Apps: make([]AppState, len(apps)), Hosts: []lattice.Host{}}
	var wg sync.WaitGroup
	var list *lattice.ListReply
	var listErr, hostsErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		list, listErr = c.List(ctx)
	}()
	go func() {
		defer wg.Done()
		var hosts []lattice.Host
		hosts, hostsErr = c.Hosts(ctx, opts.Hosts)
		if hosts != nil {
			out.Hosts = hosts
		}
	}()
	wg.Wait()
	byName := map[string]lattice.ModelSummary{}
	out.WadmAnswered = listErr == nil && list != nil
	if list != nil {
		for _, m := range list.Models {
			byName[m.Name] = m
		}
	}
	mine := map[string]bool{}
	for i, a := range apps {
		st := AppState{ComponentName: a.spec.ComponentName, Task: a.spec.Name, App: a.name, Version: a.spec.Version}
		mine[a.name] = true
		if m, ok := byName[a.name]; ok {
			info, scalers := m.Info()
			st.Stored, st.LatestVersion, st.DeployedVersion = true, m.Version, m.DeployedVersion
			st.Status, st.Message, st.Scalers = info.Type, info.Message, scalers
		}
		out.Apps[i] = st
	}
	for name := range byName {
		if !mine[name] {
			out.Others = append(out.Others, name)
		}
	}
	sort.Strings(out.Others)
	out.Duration = time.Since(start)
	if listErr != nil {
		out.Err = listErr.Error()
		return out, listErr
	}
	if hostsErr != nil {
		out.Err = hostsErr.Error()
		return out, hostsErr
	}
	return out, nil
}

// where names the place a result is about: "lattice default", or for wasmcloud2
// "namespace default".
func where(platform, name string) string {
	if platform == workflow.PlatformWasmCloud2 {
		return "namespace " + name
	}
	return "lattice " + name
}

func orchestrator(platform string) string {
	if platform == workflow.PlatformWasmCloud2 {
		return "the Kubernetes API server"
	}
	return "wadm"
}

// PlatformHosts lists the hosts deployments of platform go to: for wasmcloud2 the
// cluster's Host resources (kc), else the lattice's hosts (Hosts).
func PlatformHosts(ctx context.Context, platform string, conn LatticeConn, kc KubeConn, o lattice.HostsOptions) ([]lattice.Host, error) {
	if platform == workflow.PlatformWasmCloud2 {
		return kubeHosts(ctx, kc)
	}
	return Hosts(ctx, conn, o)
}

// Hosts pings the lattice's hosts (for the language server's lattice checks).
func Hosts(ctx context.Context, conn LatticeConn, o lattice.HostsOptions) ([]lattice.Host, error) {
	c, release, err := conn.open(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return c.Hosts(ctx, o)
}
