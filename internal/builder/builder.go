// Package builder runs pelato's component builds in Docker through the Docker SDK:
// it connects to the daemon (explaining in one line why it cannot), builds the
// builder image from a Dockerfile when it is missing (tagged by the content hash of
// its inputs), keeps the named cache volumes every build shares, and runs one
// labelled container per component with the component's folder bind-mounted,
// removing it afterwards — or within seconds when the caller's context is cancelled.
//
// It knows nothing of workflows or templates: internal/pipeline decides what to build.
package builder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// Labels put on every Docker object pelato creates, so that they can be listed and
// cleaned up (docker ps -a --filter label=dev.pelato.managed).
const (
	LabelManaged   = "dev.pelato.managed"   // always "true"
	LabelComponent = "dev.pelato.component" // the component a container builds
	LabelProject   = "dev.pelato.project"   // the project folder a container builds for
	LabelRun       = "dev.pelato.run"       // one id per build run
	LabelBuilder   = "dev.pelato.builder"   // on builder images: the content hash
)

// RemoveTimeout bounds how long removing the containers of a cancelled build may take.
const RemoveTimeout = 5 * time.Second

// Client is a connection to a Docker daemon. It is safe for concurrent use.
type Client struct {
	api   *client.Client
	host  string
	owner string // LabelOwner of the containers it creates
}

// Connect connects to the Docker daemon named by the environment (DOCKER_HOST, else
// the local socket) and checks that it answers. Its errors are *DaemonError with a
// one-line cause and what to do.
func Connect(ctx context.Context) (*Client, error) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, &DaemonError{Host: os.Getenv("DOCKER_HOST"), Cause: "bad Docker settings in the environment: " + err.Error(), Hint: "check DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH", Err: err}
	}
	c := &Client{api: api, host: api.DaemonHost(), owner: ownerID()}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := api.Ping(pctx); err != nil {
		api.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.daemonError(err)
	}
	api.NegotiateAPIVersion(pctx)
	return c, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.api.Close() }

// Host is the daemon's address, e.g. unix:///var/run/docker.sock.
func (c *Client) Host() string { return c.host }

// Volume is a named volume mounted into every build container.
type Volume struct {
	Name   string // the Docker volume's name
	Target string // where it is mounted in the container
}

// EnsureVolumes creates the volumes that do not exist yet, labelled as pelato's.
func (c *Client) EnsureVolumes(ctx context.Context, vols []Volume) error {
	for _, v := range vols {
		if _, err := c.api.VolumeInspect(ctx, v.Name); err == nil {
			continue
		} else if !cerrdefs.IsNotFound(err) {
			return c.wrap("inspect volume "+v.Name, err)
		}
		_, err := c.api.VolumeCreate(ctx, volume.CreateOptions{Name: v.Name, Labels: map[string]string{LabelManaged: "true"}})
		if err != nil {
			return c.wrap("create volume "+v.Name, err)
		}
	}
	return nil
}

// RemoveVolumes removes volumes by name (tests and `pelato build --prune` helpers).
func (c *Client) RemoveVolumes(ctx context.Context, names ...string) error {
	var errs []error
	for _, n := range names {
		if err := c.api.VolumeRemove(ctx, n, true); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Containers lists the ids of the containers (running or not) that carry every
// label of labels (value "" matches any value).
func (c *Client) Containers(ctx context.Context, labels map[string]string) ([]string, error) {
	list, err := c.containersWithLabels(ctx, labels)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(list))
	for id := range list {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

// containersWithLabels lists the containers (running or not) that carry every label
// of labels (value "" matches any value), with all their labels, by id.
func (c *Client) containersWithLabels(ctx context.Context, labels map[string]string) (map[string]map[string]string, error) {
	f := filters.NewArgs()
	for k, v := range labels {
		if v == "" {
			f.Add("label", k)
		} else {
			f.Add("label", k+"="+v)
		}
	}
	list, err := c.api.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, c.wrap("list containers", err)
	}
	out := make(map[string]map[string]string, len(list))
	for _, s := range list {
		out[s.ID] = s.Labels
	}
	return out, nil
}

// DaemonError says why the Docker daemon cannot be used.
type DaemonError struct {
	Host  string
	Cause string
	Hint  string
	Err   error
}

func (e *DaemonError) Error() string {
	if e.Hint == "" {
		return e.Cause
	}
	return e.Cause + "; " + e.Hint
}

func (e *DaemonError) Unwrap() error { return e.Err }

// DiskFullError reports that the daemon or the build ran out of disk space.
type DiskFullError struct {
	Op  string
	Err error
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("disk full while trying to %s: free space for Docker (docker system df; docker builder prune; docker image prune) and in the project folder", e.Op)
}

func (e *DiskFullError) Unwrap() error { return e.Err }

// daemonError explains a failure to reach the daemon.
func (c *Client) daemonError(err error) error {
	msg := err.Error()
	sock := strings.TrimPrefix(c.host, "unix://")
	switch {
	case strings.Contains(msg, "permission denied"):
		return &DaemonError{Host: c.host, Err: err,
			Cause: fmt.Sprintf("permission denied on the Docker socket %s", sock),
			Hint:  "add your user to the docker group (sudo usermod -aG docker $USER, then log in again) or run pelato with sudo"}
	case client.IsErrConnectionFailed(err) || strings.Contains(msg, "no such file") || strings.Contains(msg, "connection refused"):
		return &DaemonError{Host: c.host, Err: err,
			Cause: fmt.Sprintf("no Docker daemon answers at %s", c.host),
			Hint:  "start it (sudo systemctl start docker, or sudo dockerd &) or point DOCKER_HOST at one"}
	}
	return &DaemonError{Host: c.host, Err: err, Cause: fmt.Sprintf("the Docker daemon at %s does not answer: %v", c.host, err), Hint: "check that it is running (docker info)"}
}

// wrap gives an SDK error its operation, recognising a full disk and a daemon that
// went away.
func (c *Client) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if IsDiskFull(err.Error()) {
		return &DiskFullError{Op: op, Err: err}
	}
	if client.IsErrConnectionFailed(err) {
		return c.daemonError(err)
	}
	return fmt.Errorf("docker: %s: %w", op, err)
}

// IsDiskFull reports whether a message says a disk is full.
func IsDiskFull(msg string) bool {
	return strings.Contains(msg, "no space left on device") || strings.Contains(msg, "disk quota exceeded")
}

// RemoveContainers force-removes containers by id, in parallel, waiting at most
// RemoveTimeout.
func (c *Client) RemoveContainers(ctx context.Context, ids []string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RemoveTimeout)
	defer cancel()
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// VolumeExists reports whether the named volume exists.
func (c *Client) VolumeExists(ctx context.Context, name string) (bool, error) {
	_, err := c.api.VolumeInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	return err == nil, c.wrap("inspect volume "+name, err)
}
