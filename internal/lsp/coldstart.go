package lsp

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"go.lsp.dev/protocol"
)

// LoadingTitle is the title of the progress shown while the type information of the
// tasks' imports loads.
const LoadingTitle = "Loading Go type information…"

// awaitTypes waits, in the background, for the Go type information that the tasks of
// p's last check were left pending for (a cold start: the go command may compile the
// standard library first, which takes seconds to minutes; the imports are type-checked
// from source meanwhile, which takes seconds), showing progress, and then
// checks p again. Everything that needs no Go types has been published already. The
// caller holds s.mu.
func (s *Server) awaitTypes(p *project, loading <-chan struct{}) {
	p.waiting = true
	started := s.goBackground(func() {
		start := time.Now()
		token := s.beginLoading(p.root)
		select {
		case <-loading:
		case <-s.ctx.Done():
		}
		s.endLoading(token, time.Since(start))
		s.mu.Lock()
		defer s.mu.Unlock()
		p.waiting = false
		if s.projects[p.root] == p && !s.closed && s.state == stateInitialized {
			p.want = max(p.want, s.snap.version)
			s.startCheck(p)
		}
	})
	if !started {
		p.waiting = false
	}
}

// beginLoading starts the progress report of a load for the project at root and
// returns its token (nil when the client takes no progress reports).
func (s *Server) beginLoading(root string) protocol.ProgressToken {
	s.mu.Lock()
	supported := s.caps.workDoneProgress
	s.nextToken++
	n := s.nextToken
	s.mu.Unlock()
	s.log.Info("loading Go type information for the task files", "project", root)
	if !supported {
		return nil
	}
	token := protocol.String(fmt.Sprintf("pelato-load-%d", n))
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if err := s.call(ctx, protocol.MethodWindowWorkDoneProgressCreate, &protocol.WorkDoneProgressCreateParams{Token: token}, nil); err != nil {
		s.log.Debug("progress refused", "err", err)
		return nil
	}
	msg := fmt.Sprintf("for the tasks of %s (the first time, from source: a few seconds)", filepath.Base(root))
	no := false
	s.progress(token, &protocol.WorkDoneProgressBegin{Kind: "begin", Title: LoadingTitle, Message: &msg, Cancellable: &no})
	return token
}

// endLoading ends the progress report of a load that took took.
func (s *Server) endLoading(token protocol.ProgressToken, took time.Duration) {
	s.log.Info("Go type information loaded", "took", took.Round(time.Millisecond))
	if token == nil {
		return
	}
	msg := fmt.Sprintf("loaded in %s", took.Round(100*time.Millisecond))
	s.progress(token, &protocol.WorkDoneProgressEnd{Kind: "end", Message: &msg})
}

// progress sends one $/progress value for token.
func (s *Server) progress(token protocol.ProgressToken, value any) {
	raw, err := protocol.Marshal(value)
	if err != nil {
		s.log.Error("encode progress", "err", err)
		return
	}
	s.notify(protocol.MethodProgress, &protocol.ProgressParams{Token: token, Value: raw})
}
