package lsp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/pipeline"
)

// work is one long-running operation reported to the client: $/progress begin,
// report and end when the client supports work-done progress, log lines on
// window/logMessage, and the outcome on window/showMessage. It implements
// pipeline.Reporter.
type work struct {
	s      *Server
	title  string
	token  protocol.ProgressToken // nil without progress reporting
	key    string
	cancel context.CancelFunc

	mu     sync.Mutex
	begun  bool
	ended  bool
	result string // the pipeline's End message
	err    error  // the pipeline's End error

	// The log budget of the command (guard.go): lines and bytes sent, and those
	// left out past it.
	logLines, logBytes       int
	urgent                   int // errors and warnings sent past the budget
	skippedLines, skippedLen int
}

// beginWork starts reporting an operation called title. The returned context ends
// when ctx does or when the client cancels the progress.
func (s *Server) beginWork(ctx context.Context, title string, clientToken protocol.ProgressToken) (context.Context, *work) {
	ctx, cancel := context.WithCancel(ctx)
	w := &work{s: s, title: title, cancel: cancel}
	s.mu.Lock()
	supported := s.caps.workDoneProgress
	s.nextToken++
	n := s.nextToken
	s.mu.Unlock()
	switch {
	case clientToken != nil:
		w.token = clientToken
	case supported:
		// A client that never answers must not hold the command: past the time-out
		// it runs without progress reports.
		token := protocol.String(fmt.Sprintf("pelato-%d", n))
		cctx, stop := context.WithTimeout(ctx, s.progressTimeout)
		err := s.call(cctx, protocol.MethodWindowWorkDoneProgressCreate, &protocol.WorkDoneProgressCreateParams{Token: token}, nil)
		timedOut := cctx.Err() != nil && ctx.Err() == nil
		stop()
		switch {
		case timedOut:
			s.log.Warn("the client did not answer window/workDoneProgress/create in time; running without progress reports", "timeout", s.progressTimeout)
		case err != nil:
			s.log.Debug("progress refused", "err", err)
		default:
			w.token = token
		}
	}
	if w.token != nil {
		w.key = tokenKey(w.token)
		s.mu.Lock()
		s.work[w.key] = cancel
		s.mu.Unlock()
		w.begin("")
	}
	return ctx, w
}

// tokenKey turns a progress token into a map key.
func tokenKey(t protocol.ProgressToken) string {
	switch v := t.(type) {
	case protocol.Integer:
		return fmt.Sprintf("i:%d", int32(v))
	case protocol.String:
		return "s:" + string(v)
	}
	return ""
}

// workDoneProgressCancel serves window/workDoneProgress/cancel.
func (s *Server) workDoneProgressCancel(_ context.Context, params []byte) error {
	p, err := decode[protocol.WorkDoneProgressCancelParams](params)
	if err != nil {
		return err
	}
	s.mu.Lock()
	cancel := s.work[tokenKey(p.Token)]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return nil
}

// progress sends one $/progress value.
func (w *work) progress(value any) {
	raw, err := protocol.Marshal(value)
	if err != nil {
		w.s.log.Error("encode progress", "err", err)
		return
	}
	w.s.notify(protocol.MethodProgress, &protocol.ProgressParams{Token: w.token, Value: raw})
}

// begin sends the begin notification once. The caller holds w.mu or owns w.
func (w *work) begin(message string) {
	if w.begun || w.token == nil {
		return
	}
	w.begun = true
	t := true
	var pct uint32
	v := &protocol.WorkDoneProgressBegin{Kind: "begin", Title: w.title, Cancellable: &t, Percentage: &pct}
	if message != "" {
		v.Message = &message
	}
	w.progress(v)
}

// Event implements pipeline.Reporter.
func (w *work) Event(e pipeline.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return
	}
	prefix := ""
	if e.Task != "" {
		prefix = e.Task + ": "
	}
	switch e.Kind {
	case pipeline.Begin:
		w.begin(e.Title)
		if w.token != nil && e.Title != "" {
			w.progress(&protocol.WorkDoneProgressReport{Kind: "report", Message: &e.Title})
		}
		w.log(protocol.MessageTypeInfo, e.Title)
	case pipeline.Step:
		msg := prefix + e.Message
		w.begin("")
		if w.token != nil {
			r := &protocol.WorkDoneProgressReport{Kind: "report", Message: &msg}
			if e.Total > 0 {
				pct := u32(min(100, e.Done*100/e.Total))
				r.Percentage = &pct
			}
			w.progress(r)
		}
		if e.Message != "" {
			w.log(protocol.MessageTypeLog, fmt.Sprintf("[%d/%d] %s", e.Done, e.Total, msg))
		}
	case pipeline.Log:
		w.log(messageType(e.Level), prefix+e.Message)
	case pipeline.End:
		w.result = prefix + e.Message
		w.err = e.Err
	}
}

// log sends a line to window/logMessage, cut to maxLogLine; past the command's
// budget (maxLogLines lines, maxLogBytes bytes) lines are only counted, except errors
// and warnings, which keep coming (cut shorter), so a task printing without end sends
// a bounded number of messages. The caller holds w.mu or owns w.
func (w *work) log(t protocol.MessageType, msg string) {
	if msg == "" {
		return
	}
	msg = clip(msg, maxLogLine)
	if w.logLines >= maxLogLines || w.logBytes+len(msg) > maxLogBytes {
		if t > protocol.MessageTypeWarning || w.urgent >= maxLogLines {
			w.skippedLines++
			w.skippedLen += len(msg)
			return
		}
		w.urgent++
		msg = clip(msg, maxEcho)
	}
	w.logLines++
	w.logBytes += len(msg)
	w.s.notify(protocol.MethodWindowLogMessage, &protocol.LogMessageParams{Type: t, Message: msg})
}

// logSkipped sends the note of the lines left out, once. The caller holds w.mu or
// owns w.
func (w *work) logSkipped() {
	if w.skippedLines == 0 {
		return
	}
	note := fmt.Sprintf("%s: %d more log lines (%s) not shown: a command sends at most %d lines or %s to the editor",
		w.title, w.skippedLines, pipeline.HumanSize(int64(w.skippedLen)), maxLogLines, pipeline.HumanSize(maxLogBytes))
	w.skippedLines, w.skippedLen = 0, 0
	w.s.notify(protocol.MethodWindowLogMessage, &protocol.LogMessageParams{Type: protocol.MessageTypeWarning, Message: note})
}

// messageType maps a pipeline log level.
func messageType(level string) protocol.MessageType {
	switch level {
	case "error":
		return protocol.MessageTypeError
	case "warning":
		return protocol.MessageTypeWarning
	case "info":
		return protocol.MessageTypeInfo
	}
	return protocol.MessageTypeLog
}

// finish ends the progress and shows the outcome: Info with summary on success,
// Error with the reason on failure.
func (w *work) finish(summary string, err error) {
	w.mu.Lock()
	if w.ended {
		w.mu.Unlock()
		return
	}
	w.ended = true
	if err == nil && w.err != nil {
		err = w.err
	}
	if summary == "" {
		summary = w.result
	}
	w.logSkipped()
	w.mu.Unlock()
	w.cancel()
	if w.key != "" {
		w.s.mu.Lock()
		delete(w.s.work, w.key)
		w.s.mu.Unlock()
	}
	var show protocol.ShowMessageParams
	switch {
	case errors.Is(err, context.Canceled):
		// Cancelled by the user: said plainly, not as a failure.
		show = protocol.ShowMessageParams{Type: protocol.MessageTypeInfo, Message: w.title + ": cancelled"}
	case err != nil:
		show = protocol.ShowMessageParams{Type: protocol.MessageTypeError, Message: fmt.Sprintf("%s failed: %v", w.title, err)}
	default:
		if summary == "" {
			summary = "done"
		}
		show = protocol.ShowMessageParams{Type: protocol.MessageTypeInfo, Message: w.title + ": " + summary}
	}
	show.Message = clip(show.Message, maxShown)
	if w.token != nil {
		msg := show.Message
		w.progress(&protocol.WorkDoneProgressEnd{Kind: "end", Message: &msg})
	}
	w.log(show.Type, show.Message)
	w.s.notify(protocol.MethodWindowShowMessage, &show)
}
