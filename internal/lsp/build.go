package lsp

import (
	"context"
	"encoding/json"

	"github.com/pelato-dev/pelato/internal/pipeline"
)

// The build and push commands (issue #8).
const (
	CmdBuild = "pelato.build"
	CmdPush  = "pelato.push"
)

// buildCommands returns the build and push entries of the command table.
func (s *Server) buildCommands() map[string]Command {
	return map[string]Command{
		CmdBuild: {Title: "pelato: Build", Run: s.cmdBuild},
		CmdPush:  {Title: "pelato: Push", Run: s.cmdPush},
	}
}

// buildSummary is pelato.build's result.
type buildSummary struct{ *pipeline.BuildResult }

// Summary describes the result for the outcome message.
func (b buildSummary) Summary() string { return b.BuildResult.Summary() }

// pushSummary is pelato.push's result.
type pushSummary struct{ *pipeline.PushResult }

// Summary describes the result for the outcome message.
func (p pushSummary) Summary() string { return p.PushResult.Summary() }

// cmdBuild builds the workflow of args.uri, or its task args.task, from the saved
// files (unsaved buffers are reported), in Docker.
func (s *Server) cmdBuild(ctx context.Context, raw json.RawMessage, progress pipeline.Reporter) (any, error) {
	a, root, cfg, err := s.savedTarget(raw, progress)
	if err != nil {
		return nil, err
	}
	opts := pipeline.BuildSettings(cfg)
	opts.Root, opts.Tasks, opts.Templates, opts.TaskChecker, opts.Reporter = root, taskList(a.Task), s.reg, s.tasks.c, progress
	res, err := pipeline.Build(ctx, opts)
	if err != nil {
		return nil, describeFailure(err)
	}
	for _, c := range res.Components {
		if c.Err != "" {
			return nil, componentsFailed(res.Failed(), len(res.Components), "failed", c.ComponentName, c.Err)
		}
	}
	return buildSummary{res}, nil
}

// cmdPush pushes the built components of args.uri's workflow (or args.task) to the
// project's registry.
func (s *Server) cmdPush(ctx context.Context, raw json.RawMessage, progress pipeline.Reporter) (any, error) {
	a, root, cfg, err := s.savedTarget(raw, progress)
	if err != nil {
		return nil, err
	}
	res, err := pipeline.Push(ctx, pipeline.PushOptions{Root: root, Tasks: taskList(a.Task), Registry: cfg.Get("REGISTRY_URL"), Username: cfg.Get("REGISTRY_USER"),
		Password: cfg.Get("REGISTRY_PASSWORD"), Templates: s.reg, Reporter: progress})
	if err != nil {
		return nil, describeFailure(err)
	}
	for _, c := range res.Components {
		if c.Err != "" {
			return nil, componentsFailed(res.Failed(), len(res.Components), "not pushed", c.ComponentName, c.Err)
		}
	}
	return pushSummary{res}, nil
}
