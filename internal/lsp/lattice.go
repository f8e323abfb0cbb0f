package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pelato-dev/pelato/internal/plural"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/pipeline"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// The lattice commands: the shared pipeline's deploy, remove and status.
const (
	CmdDeploy = "pelato.deploy"
	CmdRemove = "pelato.remove"
	CmdStatus = "pelato.status"
	CmdBrush  = "pelato.brush"
)

// latticeHostsTTL is how long a host ping answers the lattice checks.
const latticeHostsTTL = 30 * time.Second

// latticeCommands returns the deploy, remove and status entries of the command
// table. Remove is offered as a source action, not as a lens one click away; status
// is about the whole workflow.
func (s *Server) latticeCommands() map[string]Command {
	return map[string]Command{
		CmdDeploy: {Title: "pelato: Deploy", Run: s.cmdDeploy},
		CmdRemove: {Title: "pelato: Remove", Run: s.cmdRemove, NoLens: true},
		CmdStatus: {Title: "pelato: Status", Run: s.cmdStatus, NoTask: true, WorkflowTitle: "pelato: Status of the workflow in the lattice"},
		CmdBrush:  {Title: "pelato: Brush", Run: s.cmdBrush, NoTaskLens: true},
	}
}

// kubeConn is the editor's Kubernetes settings, for a project of platform wasmcloud2.
func (s *Server) kubeConn() pipeline.KubeConn { return kubeConnOf(s.snapshot().cfg) }

func kubeConnOf(c Config) pipeline.KubeConn {
	return pipeline.KubeConn{Kubeconfig: c.Kubeconfig, Context: c.KubeContext, Namespace: c.KubeNamespace}
}

// cmdBrush runs the whole pipeline — check, gen, build, push, deploy — on args.uri's
// workflow (or args.task) from the saved files, with one progress report.
func (s *Server) cmdBrush(ctx context.Context, raw json.RawMessage, progress pipeline.Reporter) (any, error) {
	a, root, cfg, err := s.savedTarget(raw, progress)
	if err != nil {
		return nil, err
	}
	build := pipeline.BuildSettings(cfg)
	build.Root, build.Tasks, build.Templates, build.TaskChecker = root, taskList(a.Task), s.reg, s.tasks.c
	res, err := pipeline.Brush(ctx, pipeline.BrushOptions{
		Build:    build,
		Push:     pipeline.PushOptions{Username: cfg.Get("REGISTRY_USER"), Password: cfg.Get("REGISTRY_PASSWORD")},
		Deploy:   pipeline.DeployOptions{Lattice: pipeline.LatticeConn{Options: lattice.FromConfig(cfg)}, Kube: s.kubeConn()},
		Reporter: progress,
	})
	if res != nil {
		s.recordBuild(root, res.Build) // compiler errors become diagnostics of the task files
	}
	if err != nil {
		return nil, describeFailure(err)
	}
	if res.Failed() > 0 || res.StoppedBefore != "" {
		return nil, errors.New(res.Summary())
	}
	return res, nil
}

func taskList(task string) []string {
	if task == "" {
		return nil
	}
	return []string{task}
}

// cmdDeploy deploys the workflow of args.uri (or its task args.task) and waits for
// placement; the progress carries the scalers' status and can be cancelled.
func (s *Server) cmdDeploy(ctx context.Context, raw json.RawMessage, progress pipeline.Reporter) (any, error) {
	a, root, cfg, err := s.savedTarget(raw, progress)
	if err != nil {
		return nil, err
	}
	res, err := pipeline.Deploy(ctx, pipeline.DeployOptions{Root: root, Tasks: taskList(a.Task), Registry: cfg.Get("REGISTRY_URL"),
		Templates: s.reg, Lattice: pipeline.LatticeConn{Options: lattice.FromConfig(cfg)}, Reporter: progress, Kube: s.kubeConn()})
	if err != nil {
		return nil, describeFailure(err)
	}
	for _, c := range res.Components {
		if c.Err != "" {
			return nil, componentsFailed(res.Failed(), len(res.Components), "not deployed", c.ComponentName, c.Err)
		}
	}
	return res, nil
}

// cmdRemove undeploys and deletes the applications of args.uri (or of args.task).
func (s *Server) cmdRemove(ctx context.Context, raw json.RawMessage, progress pipeline.Reporter) (any, error) {
	a, root, cfg, err := s.savedTarget(raw, progress)
	if err != nil {
		return nil, err
	}
	res, err := pipeline.Remove(ctx, pipeline.RemoveOptions{Root: root, Tasks: taskList(a.Task), Templates: s.reg,
		Lattice: pipeline.LatticeConn{Options: lattice.FromConfig(cfg)}, Reporter: progress, Kube: s.kubeConn()})
	if err != nil {
		return nil, describeFailure(err)
	}
	for _, c := range res.Components {
		if c.Err != "" {
			return nil, fmt.Errorf("%d of %s not removed; %s: %s", res.Failed(), plural.Count(len(res.Components), "application"), c.ComponentName, c.Err)
		}
	}
	return res, nil
}

// cmdStatus returns the applications of args.uri as wadm sees them and the lattice's
// hosts; each line of both tables also goes to the log.
func (s *Server) cmdStatus(ctx context.Context, raw json.RawMessage, progress pipeline.Reporter) (any, error) {
	a, root, cfg, err := s.savedTarget(raw, progress)
	if err != nil {
		return nil, err
	}
	title := "Asking wadm and the hosts of lattice " + cfg.Lattice()
	if s.platformOf(root) == workflow.PlatformWasmCloud2 {
		title = "Asking the Kubernetes cluster for the deployments and Hosts"
	}
	progress.Event(pipeline.Event{Kind: pipeline.Begin, Title: title, Total: 1})
	res, err := pipeline.Status(ctx, pipeline.StatusOptions{Root: root, Tasks: taskList(a.Task), Templates: s.reg,
		Lattice: pipeline.LatticeConn{Options: lattice.FromConfig(cfg)}, Kube: s.kubeConn()})
	if err != nil {
		return nil, describeFailure(err)
	}
	for _, app := range res.Apps {
		line := app.App + ": not in wadm"
		switch {
		case app.Stored && res.Platform == workflow.PlatformWasmCloud2:
			line = fmt.Sprintf("%s: %s", app.App, app.Status)
			if app.Message != "" {
				line += " — " + app.Message
			}
		case res.Platform == workflow.PlatformWasmCloud2:
			line = app.App + ": not deployed in namespace " + res.Namespace
		case app.Stored:
			line = fmt.Sprintf("%s: %s (version %s, deployed %s)", app.App, app.Status, app.LatestVersion, orNone(app.DeployedVersion))
			if app.Message != "" {
				line += " — " + app.Message
			}
		}
		progress.Event(pipeline.Event{Kind: pipeline.Log, Level: "info", Message: line})
	}
	for _, h := range res.Hosts {
		progress.Event(pipeline.Event{Kind: pipeline.Log, Level: "info", Message: fmt.Sprintf("host %s (%s): %s, version %s", h.FriendlyName, lattice.ShortID(h.ID), lattice.FormatLabels(h.Labels), orNone(h.Version))})
	}
	progress.Event(pipeline.Event{Kind: pipeline.Step, Done: 1, Total: 1, Message: res.Summary()})
	return res, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// componentsFailed is the error of a command after which n of total components
// failed: the count and the first failure, name and cause.
func componentsFailed(n, total int, what, name, cause string) error {
	return fmt.Errorf("%d of %s %s; %s: %s", n, plural.Count(total, "component"), what, name, cause)
}

// describeFailure adds the first error diagnostic to a check failure.
func describeFailure(err error) error {
	var cf *pipeline.CheckFailedError
	if errors.As(err, &cf) {
		return fmt.Errorf("%s: %s", err, firstError(cf.Result))
	}
	return err
}

// latticeHosts caches host pings for the lattice checks, by connection.
type latticeHosts struct {
	mu      sync.Mutex
	entries map[string]*hostsEntry
}

type hostsEntry struct {
	at       time.Time // when the last ping ended (zero: never)
	lattice  string
	hosts    []check.Host
	err      error
	fetching bool
	waiting  map[string]bool // projects to re-check when the ping ends
	logged   string          // the last error logged, to log each once
}

// connKey identifies a lattice connection for the cache (secrets hashed away: only
// whether they are set counts, as a changed secret needs no new ping).
func connKey(o lattice.Options) string {
	return strings.Join([]string{o.URL, o.Lattice, o.Creds, o.User, o.TLSCA, o.TLSCert}, "\x00")
}

// withLatticeHints adds the PL601 hints of the project at root to res when the
// latticeChecks setting is on, from the hosts last pinged; a ping older than
// latticeHostsTTL is renewed in the background and the project re-checked after.
// It never waits for the network.
func (s *Server) withLatticeHints(snap *Snapshot, root string, res *check.Result) *check.Result {
	if !snap.cfg.LatticeChecks || res == nil || res.Workflow == nil || len(res.Workflow.Tasks) == 0 {
		return res
	}
	cfg, err := s.projectConfig(snap, root)
	if err != nil {
		s.log.Warn("lattice checks", "project", root, "err", err)
		return res
	}
	opts := lattice.FromConfig(cfg)
	platform := res.Workflow.Platform()
	kc := kubeConnOf(snap.cfg)
	key := connKey(opts)
	if platform == workflow.PlatformWasmCloud2 {
		key = strings.Join([]string{"kube", kc.Kubeconfig, kc.Context, kc.Namespace}, "\x00")
	}
	s.hosts.mu.Lock()
	if s.hosts.entries == nil {
		s.hosts.entries = map[string]*hostsEntry{}
	}
	e := s.hosts.entries[key]
	if e == nil {
		e = &hostsEntry{waiting: map[string]bool{}}
		s.hosts.entries[key] = e
	}
	if !e.fetching && (e.at.IsZero() || time.Since(e.at) > latticeHostsTTL) {
		e.fetching = true
		e.waiting[root] = true
		s.fetchHosts(key, e, opts, platform, kc)
	} else if e.fetching {
		e.waiting[root] = true
	}
	hosts, lat, ready := e.hosts, e.lattice, !e.at.IsZero() && e.err == nil
	s.hosts.mu.Unlock()
	if !ready {
		return res
	}
	hints := check.LatticeTargets(res.Workflow, lat, hosts)
	hints = check.Suppress(hints, workflow.FileName, res.Files[workflow.FileName], "#")
	if len(hints) == 0 {
		return res
	}
	out := *res
	out.Diagnostics = append(slices.Clone(res.Diagnostics), hints...)
	check.Sort(out.Diagnostics)
	return &out
}

// fetchHosts pings the lattice in the background, stores the answer and re-checks the
// waiting projects. The caller holds s.hosts.mu.
func (s *Server) fetchHosts(key string, e *hostsEntry, opts lattice.Options, platform string, kc pipeline.KubeConn) {
	s.mu.Lock()
	started := s.goBackground(func() {
		ctx, cancel := context.WithTimeout(s.ctx, 2*lattice.DefaultTimeout+max(opts.PingWindow, lattice.DefaultPingWindow))
		defer cancel()
		got, err := pipeline.PlatformHosts(ctx, platform, pipeline.LatticeConn{Options: opts}, kc, lattice.HostsOptions{Quiet: 200 * time.Millisecond})
		hosts := make([]check.Host, len(got))
		for i, h := range got {
			hosts[i] = check.Host{Name: h.FriendlyName, Labels: h.Labels}
		}
		s.hosts.mu.Lock()
		e.at, e.hosts, e.err, e.fetching = time.Now(), hosts, err, false
		e.lattice = opts.Lattice
		roots := make([]string, 0, len(e.waiting))
		for r := range e.waiting {
			roots = append(roots, r)
		}
		e.waiting = map[string]bool{}
		logIt := err != nil && err.Error() != e.logged
		if err != nil {
			e.logged = err.Error()
		}
		s.hosts.mu.Unlock()
		if logIt {
			s.log.Warn("lattice checks: cannot list the lattice's hosts", "err", err)
			s.notify(protocol.MethodWindowLogMessage, &protocol.LogMessageParams{Type: protocol.MessageTypeWarning,
				Message: "pelato lattice checks: cannot list the lattice's hosts: " + err.Error()})
		}
		if err != nil || ctx.Err() != nil {
			return
		}
		s.update(func(*Snapshot) []string { return roots })
	})
	s.mu.Unlock()
	if !started {
		e.fetching = false
	}
}

// platformOf reads the `platform:` of the saved workflow.yaml of root (the
// commands use the saved files); wasmcloud1 when it cannot be read.
func (s *Server) platformOf(root string) string {
	data, err := os.ReadFile(filepath.Join(root, workflow.FileName))
	if err != nil {
		return workflow.PlatformWasmCloud1
	}
	return workflow.New(workflow.Parse(workflow.FileName, data)).Platform()
}
