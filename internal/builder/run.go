package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"
)

// SourceDir is where a component's folder is mounted in its build container.
const SourceDir = "/src"

// RunSpec describes one build container.
type RunSpec struct {
	Image string
	// Cmd is the command; nil means the image's.
	Cmd []string
	// Dir is the host folder bind-mounted read-write at SourceDir (the working folder).
	Dir string
	// User is "uid:gid" (the calling user, so files written are the caller's).
	User string
	// Volumes are named volumes to mount.
	Volumes []Volume
	// Env is the container's extra environment (never secrets).
	Env []string
	// Labels are added to pelato's own (LabelManaged).
	Labels map[string]string
	// Output receives the container's stdout and stderr as it runs.
	Output io.Writer
	// Network is the container's network mode ("" means the daemon's default bridge).
	Network string
	// Memory bounds the container's memory in bytes (swap included); 0 means no bound.
	Memory int64
	// Pids bounds the container's processes and threads; 0 means no bound.
	Pids int64
	// ReadOnlyVolumes are mounted read-only (the build's view of a cache it must not
	// change), by Volume.Name.
	ReadOnlyVolumes map[string]bool
	// ReadOnlyDir mounts Dir read-only.
	ReadOnlyDir bool
	// Stderr, when set, also receives the container's stderr alone.
	Stderr io.Writer
	// Started, when set, is called once the container runs.
	Started func()
}

// RunResult is the outcome of a container run.
type RunResult struct {
	ExitCode int
	// Overhead is the time spent in create, attach, start and remove calls;
	// Runtime is from start until the container exited.
	Overhead time.Duration
	Runtime  time.Duration
}

// Run creates, starts and waits for a build container, streams its output and
// removes it. When ctx is cancelled the container is removed (killed first) within
// RemoveTimeout and Run returns ctx's error.
func (c *Client) Run(ctx context.Context, spec RunSpec) (RunResult, error) {
	var res RunResult
	labels := map[string]string{LabelManaged: "true", LabelOwner: c.owner}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	mounts := []mount.Mount{{Type: mount.TypeBind, Source: spec.Dir, Target: SourceDir, ReadOnly: spec.ReadOnlyDir}}
	for _, v := range spec.Volumes {
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: v.Name, Target: v.Target, ReadOnly: spec.ReadOnlyVolumes[v.Name]})
	}
	limits := container.Resources{Memory: spec.Memory}
	if spec.Memory > 0 {
		limits.MemorySwap = spec.Memory // no swap beyond the bound
	}
	if spec.Pids > 0 {
		limits.PidsLimit = &spec.Pids
	}
	t0 := time.Now()
	created, err := c.api.ContainerCreate(ctx, &container.Config{
		Image: spec.Image, Cmd: spec.Cmd, User: spec.User, Env: spec.Env, WorkingDir: SourceDir, Labels: labels,
		AttachStdout: true, AttachStderr: true,
	}, &container.HostConfig{
		Mounts:      mounts,
		LogConfig:   container.LogConfig{Type: "none"}, // output is streamed to the build log instead
		NetworkMode: container.NetworkMode(spec.Network),
		Resources:   limits,
	}, nil, nil, "")
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, c.wrap("create the build container", err)
	}
	id := created.ID
	var removeOnce sync.Once
	remove := func() {
		removeOnce.Do(func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RemoveTimeout)
			defer cancel()
			_ = c.api.ContainerRemove(rctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		})
	}
	defer remove()
	// Cancellation removes the container at once, whatever Run is waiting for.
	stop := context.AfterFunc(ctx, remove)
	defer stop()

	att, err := c.api.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return res, c.runErr(ctx, "attach to the build container", err)
	}
	defer att.Close()
	waitC, waitErrC := c.api.ContainerWait(ctx, id, container.WaitConditionNextExit)
	if err := c.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return res, c.runErr(ctx, "start the build container", err)
	}
	started := time.Now()
	res.Overhead = started.Sub(t0)
	if spec.Started != nil {
		spec.Started()
	}
	out := spec.Output
	if out == nil {
		out = io.Discard
	}
	errOut := out
	if spec.Stderr != nil {
		errOut = io.MultiWriter(out, spec.Stderr)
	}
	copyDone := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out, errOut, att.Reader)
		copyDone <- err
	}()
	select {
	case w := <-waitC:
		res.Runtime = time.Since(started)
		if w.Error != nil && w.Error.Message != "" {
			return res, fmt.Errorf("docker: wait for the build container: %s", w.Error.Message)
		}
		res.ExitCode = int(w.StatusCode)
	case err := <-waitErrC:
		return res, c.runErr(ctx, "wait for the build container", err)
	}
	// The output stream ends when the container does; do not hang on a stuck stream.
	select {
	case <-copyDone:
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
	}
	t1 := time.Now()
	remove()
	res.Overhead += time.Since(t1)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// runErr prefers the context's error: after a cancel the SDK's error is a symptom.
func (c *Client) runErr(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return c.wrap(op, err)
}
