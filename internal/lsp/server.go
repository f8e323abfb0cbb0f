// Package lsp is pelato's language server: it serves workflow.yaml and the task Go
// files of pelato projects over the Language Server Protocol (go.lsp.dev/protocol
// v1.0.1 on go.lsp.dev/jsonrpc2 v1.0.1).
//
// The server keeps an immutable Snapshot of the workspace (open buffers over the disk,
// the known projects, the configuration); every change makes a new one with a higher
// version. Diagnostics are computed off the request path by internal/check, with an
// adaptive debounce per project (at once when checks are cheap, coalesced in bursts),
// never waiting for the go command (what needs no Go types is published at once; task
// files follow when their imports' type information is loaded), and published only
// when no newer change has superseded them. Requests
// are answered from the snapshot current when they arrive. Positions are converted
// with internal/span in the encoding negotiated at initialize.
//
// One file per concern: server.go (lifecycle and dispatch), stdio.go (serving a
// process's stdin and stdout), documents.go and snapshot.go (buffers, snapshots,
// projects), workspace.go (watched files, configuration, folders), diagnostics.go
// (also the didOpen/didChange/didSave/didClose notifications, and the debounce),
// coldstart.go (loading Go type information in the background), taskcheck.go,
// completion.go with outline.go (its tolerant line scan), hover.go, definition.go
// (definition and references) with locate.go, symbols.go (symbols, links, folding),
// codeaction.go, lens.go, commands.go, progress.go, config.go, logging.go (the log as
// window/logMessage) and position.go.
package lsp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/wasmrun"
	"github.com/pelato-dev/pelato/templates"
)

// ServerName is the name the server reports at initialize.
const ServerName = "pelato-lsp"

// Options configure a Server.
type Options struct {
	// Logger receives the server's log; nil discards it. It must never write to the
	// protocol stream (stdout).
	Logger *slog.Logger
	// Level, when set, is the level of Logger that the logLevel setting adjusts.
	Level *slog.LevelVar
	// Config is the configuration used until the client sends its own; nil means
	// DefaultConfig().
	Config *Config
	// Registry is the template registry; nil means the embedded one.
	Registry *templates.Registry
	// Getenv looks up environment variables (REGISTRY_URL for hovers); nil means
	// os.LookupEnv.
	Getenv func(string) (string, bool)
	// Version is the server's version reported at initialize.
	Version string
	// CacheDir is the local runtime's cache root for pelato.invoke; "" means the
	// user cache folder.
	CacheDir string

	// logSink, when set, is the sink behind Logger: while a client is connected, the
	// log goes to it as window/logMessage.
	logSink *logSink

	// ProgressTimeout bounds the wait for the client's answer to
	// window/workDoneProgress/create; past it a command runs without progress
	// reports. 0 means DefaultProgressTimeout.
	ProgressTimeout time.Duration
}

// DefaultProgressTimeout is how long a command waits for the client to accept a
// progress token before it runs without one.
const DefaultProgressTimeout = 5 * time.Second

// lifecycle is the server's protocol state.
type lifecycle int

const (
	stateNew         lifecycle = iota // waiting for initialize
	stateInitialized                  // serving
	stateShutdown                     // shutdown received, waiting for exit
)

// clientCaps are the client capabilities the server acts on.
type clientCaps struct {
	workDoneProgress bool // window.workDoneProgress
	documentChanges  bool // workspace.workspaceEdit.documentChanges
	createFiles      bool // workspace.workspaceEdit.resourceOperations holds "create"
	watchDynamic     bool // workspace.didChangeWatchedFiles.dynamicRegistration
	snippets         bool // textDocument.completion.completionItem.snippetSupport
	markdown         bool // hover contents may be markdown
}

// Server is a pelato language server. Create it with New and serve one connection
// with Run.
type Server struct {
	log     *slog.Logger
	level   *slog.LevelVar
	reg     *templates.Registry
	getenv  func(string) (string, bool)
	version string
	tasks   *taskChecker
	logSink *logSink

	rtMu     sync.Mutex
	rt       *wasmrun.Runtime // the local runtime of pelato.invoke, created on first use
	cacheDir string

	discoverLimit   int           // entries a project search visits at most
	progressTimeout time.Duration // see Options.ProgressTimeout

	mu        sync.Mutex
	conn      jsonrpc2.Conn
	ctx       context.Context // the server's lifetime; ends when Run returns
	stop      context.CancelFunc
	closed    bool
	state     lifecycle
	enc       span.Encoding
	caps      clientCaps
	snap      *Snapshot
	folders   []string
	projects  map[string]*project
	commands  map[string]Command
	work      map[string]context.CancelFunc // cancellable work by progress token
	nextToken int
	exited    chan struct{}
	exitCode  int
	exitOnce  sync.Once
	bg        sync.WaitGroup
	routes    map[string]route
	inflight  inflight
	dropped   atomic.Int64 // stale diagnostics results dropped
	checks    atomic.Int64 // project checks started by changes (not by commands)
	hooks     hooks

	hosts latticeHosts // host pings of the lattice checks (lattice.go)
}

// hooks let tests widen race windows; all nil in production.
type hooks struct {
	// beforePublish runs before a diagnostics result computed from snap is compared
	// with the newest snapshot and published.
	beforePublish func(snap *Snapshot)
}

// New returns a server that has not started serving.
func New(opts Options) *Server {
	cfg := DefaultConfig()
	if opts.Config != nil {
		cfg = *opts.Config
	}
	s := &Server{
		log:      opts.Logger,
		level:    opts.Level,
		reg:      opts.Registry,
		getenv:   opts.Getenv,
		version:  opts.Version,
		cacheDir: opts.CacheDir,
		logSink:  opts.logSink,

		discoverLimit:   maxDiscovered,
		progressTimeout: opts.ProgressTimeout,
		tasks:           newTaskChecker(),
		snap:            &Snapshot{docs: map[string]*Document{}, roots: map[string]bool{}, cfg: cfg},
		projects:        map[string]*project{},
		work:            map[string]context.CancelFunc{},
		exited:          make(chan struct{}),
		exitCode:        1,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.reg == nil {
		s.reg = templates.Default()
	}
	if s.getenv == nil {
		s.getenv = os.LookupEnv
	}
	if s.version == "" {
		s.version = "devel"
	}
	if s.progressTimeout <= 0 {
		s.progressTimeout = DefaultProgressTimeout
	}
	s.ctx, s.stop = context.WithCancel(context.Background())
	s.commands = s.builtinCommands()
	s.routes = s.routeTable()
	return s
}

// Run serves the LSP connection on stream until the client sends exit, the stream
// ends or ctx is cancelled, and returns the process exit code: 0 after an orderly
// shutdown and exit, 1 otherwise.
func (s *Server) Run(ctx context.Context, stream jsonrpc2.Stream) int {
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn := jsonrpc2.NewConn(stream, jsonrpc2.WithCodec(codec{}))
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	if s.logSink != nil {
		// Not s.notify: a failure to send a log line must not be logged again.
		s.logSink.connect(func(t protocol.MessageType, msg string) {
			_ = conn.Notify(s.ctx, protocol.MethodWindowLogMessage, &protocol.LogMessageParams{Type: t, Message: msg})
		})
		defer s.logSink.disconnect()
		s.log.Info("pelato-lsp serving", "version", s.version, "pid", os.Getpid())
	}
	conn.Go(connCtx, func(ctx context.Context, req *jsonrpc2.Request) (any, error) {
		if req.Method() == protocol.MethodCancelRequest {
			s.cancelRequest(req.Params())
			return nil, nil
		}
		return s.handle(ctx, req)
	})
	select {
	case <-s.exited:
	case <-conn.Done():
	case <-ctx.Done():
	}
	if s.logSink != nil {
		s.logSink.disconnect() // the client is gone: warnings go to stderr again
	}
	s.close()
	cancel()
	// Close waits for the reader, which a blocking stdin may hold: bound the wait.
	closed := make(chan error, 1)
	go func() { closed <- conn.Close() }()
	select {
	case err := <-closed:
		if err != nil && !errors.Is(err, io.ErrClosedPipe) {
			s.log.Debug("close connection", "err", err)
		}
		if err := conn.Err(); err != nil {
			s.log.Info("connection ended", "err", err)
		}
	case <-time.After(250 * time.Millisecond):
		// A reader blocked on a stdin that is not closed: the process is exiting anyway.
		s.log.Debug("the connection did not close in time")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateShutdown {
		s.exitCode = 0
	}
	return s.exitCode
}

// close stops every background activity and waits for it to end.
func (s *Server) close() {
	s.mu.Lock()
	s.closed = true
	s.haltLocked()
	s.mu.Unlock()
	s.stop()
	s.bg.Wait()
	s.tasks.c.Close() // a go list -export still compiling for the checks
	s.rtMu.Lock()
	if s.rt != nil {
		if err := s.rt.Close(context.Background()); err != nil {
			s.log.Debug("close the local runtime", "err", err)
		}
		s.rt = nil
	}
	s.rtMu.Unlock()
}

// goBackground runs f on its own goroutine unless the server is closing. The caller
// holds s.mu.
func (s *Server) goBackground(f func()) bool {
	if s.closed {
		return false
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("background work panicked", "panic", r, "stack", string(debug.Stack()))
			}
		}()
		f()
	}()
	return true
}

// route is how one method is served.
type route struct {
	// call serves a request. Unless inline is set it runs concurrently with later
	// messages, on the snapshot current when the request arrived.
	call func(ctx context.Context, snap *Snapshot, params []byte) (any, error)
	// note serves a notification, in order, on the read loop; it must not block.
	note func(ctx context.Context, params []byte) error
	// inline runs a request on the read loop (initialize, shutdown).
	inline bool
}

// routeTable lists the methods the server serves.
func (s *Server) routeTable() map[string]route {
	return map[string]route{
		protocol.MethodInitialize:                         {call: s.initialize, inline: true},
		protocol.MethodInitialized:                        {note: s.initialized},
		protocol.MethodShutdown:                           {call: s.shutdown, inline: true},
		protocol.MethodTextDocumentDidOpen:                {note: s.didOpen},
		protocol.MethodTextDocumentDidChange:              {note: s.didChange},
		protocol.MethodTextDocumentDidSave:                {note: s.didSave},
		protocol.MethodTextDocumentDidClose:               {note: s.didClose},
		protocol.MethodWorkspaceDidChangeWatchedFiles:     {note: s.didChangeWatchedFiles},
		protocol.MethodWorkspaceDidChangeConfiguration:    {note: s.didChangeConfiguration},
		protocol.MethodWorkspaceDidChangeWorkspaceFolders: {note: s.didChangeWorkspaceFolders},
		protocol.MethodWindowWorkDoneProgressCancel:       {note: s.workDoneProgressCancel},
		protocol.MethodSetTrace:                           {note: func(context.Context, []byte) error { return nil }},
		protocol.MethodTextDocumentCompletion:             {call: s.completion},
		protocol.MethodTextDocumentHover:                  {call: s.hover},
		protocol.MethodTextDocumentDefinition:             {call: s.definition},
		protocol.MethodTextDocumentReferences:             {call: s.references},
		protocol.MethodTextDocumentDocumentSymbol:         {call: s.documentSymbol},
		protocol.MethodTextDocumentDocumentLink:           {call: s.documentLink},
		protocol.MethodTextDocumentFoldingRange:           {call: s.foldingRange},
		protocol.MethodTextDocumentCodeAction:             {call: s.codeAction},
		protocol.MethodTextDocumentCodeLens:               {call: s.codeLens},
		protocol.MethodWorkspaceExecuteCommand:            {call: s.executeCommand},
	}
}

// handle serves one incoming message. It never lets a panic escape: a panicking
// request is answered with InternalError and the server keeps running.
//
// reqCtx is the connection's pooled request context: it is used only to release the
// read loop (jsonrpc2.Async). The work runs under a context derived from the
// connection's, which $/cancelRequest cancels by request id.
func (s *Server) handle(reqCtx context.Context, req *jsonrpc2.Request) (result any, err error) {
	method := strings.Clone(req.Method())
	isCall := req.IsCall()
	start := time.Now()
	ctx := jsonrpc2.DetachContext(reqCtx)
	if isCall {
		id := req.ID()
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		s.inflight.add(id, cancel)
		defer func() {
			s.inflight.remove(id)
			cancel()
		}()
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panicked", "method", method, "panic", r, "stack", string(debug.Stack()))
			result, err = nil, nil
			if isCall {
				err = jsonrpc2.Errorf(jsonrpc2.InternalError, "internal error while handling %s: %v", method, r)
			}
		}
		if !isCall {
			err = nil // a notification error would end the connection
		}
	}()
	if method == protocol.MethodExit {
		s.exit()
		return nil, nil
	}
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	switch {
	case state == stateNew && method != protocol.MethodInitialize:
		if isCall {
			return nil, jsonrpc2.NewError(jsonrpc2.ServerNotInitialized, "the server is not initialized: send initialize first")
		}
		return nil, nil
	case state == stateShutdown:
		if isCall {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidRequest, "the server is shutting down: %s is not served after shutdown", method)
		}
		return nil, nil
	}
	r, ok := s.routes[method]
	switch {
	case !ok && isCall:
		return nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "method not found: %s", method)
	case !ok:
		s.log.Debug("ignoring notification", "method", method)
		return nil, nil
	case !isCall && r.note != nil:
		if err := r.note(ctx, req.Params()); err != nil {
			s.log.Warn("notification failed", "method", method, "err", err)
		}
		return nil, nil
	case !isCall || r.call == nil:
		if isCall {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidRequest, "%s is a notification, not a request", method)
		}
		s.log.Debug("ignoring request sent as a notification", "method", method)
		return nil, nil
	}
	snap := s.snapshot()
	if !r.inline {
		jsonrpc2.Async(reqCtx) // later messages may now be read; req stays valid
	}
	result, err = r.call(ctx, snap, req.Params())
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil, protocol.ErrRequestCancelled
	}
	if err != nil {
		var wire *jsonrpc2.Error
		if !errors.As(err, &wire) {
			err = jsonrpc2.Errorf(jsonrpc2.InternalError, "%s: %v", method, err)
		}
		s.log.Debug("request failed", "method", method, "err", err)
		return nil, err
	}
	s.log.Debug("request served", "method", method, "took", time.Since(start))
	return result, nil
}

// cancelRequest serves $/cancelRequest: the named request's context is cancelled.
func (s *Server) cancelRequest(params []byte) {
	var p protocol.CancelParams
	if err := protocol.Unmarshal(params, &p); err != nil {
		s.log.Debug("malformed $/cancelRequest", "err", err)
		return
	}
	switch id := p.ID.(type) {
	case protocol.Integer:
		s.inflight.cancel(jsonrpc2.NewNumberID(int64(id)))
	case protocol.String:
		s.inflight.cancel(jsonrpc2.NewStringID(string(id)))
	}
}

// inflight tracks the cancel functions of the requests being served, by id.
type inflight struct {
	mu sync.Mutex
	m  map[jsonrpc2.ID]context.CancelFunc
}

func (f *inflight) add(id jsonrpc2.ID, cancel context.CancelFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[jsonrpc2.ID]context.CancelFunc{}
	}
	f.m[id] = cancel
}

func (f *inflight) remove(id jsonrpc2.ID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, id)
}

func (f *inflight) cancel(id jsonrpc2.ID) {
	f.mu.Lock()
	cancel := f.m[id]
	f.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// snapshot returns the current snapshot.
func (s *Server) snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap
}

// encoding returns the negotiated position encoding.
func (s *Server) encoding() span.Encoding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enc
}

// invalidParams wraps a decoding or argument error as an InvalidParams answer.
func invalidParams(err error) error {
	return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "invalid params: %v", err)
}

// decode unmarshals params into a new T, answering InvalidParams on failure.
func decode[T any](params []byte) (*T, error) {
	v := new(T)
	if len(params) == 0 {
		return nil, invalidParams(errors.New("params are missing"))
	}
	if err := protocol.Unmarshal(params, v); err != nil {
		return nil, invalidParams(err)
	}
	return v, nil
}

// initialize serves the initialize request.
func (s *Server) initialize(ctx context.Context, _ *Snapshot, params []byte) (any, error) {
	p, err := decode[protocol.InitializeParams](params)
	if err != nil {
		return nil, err
	}
	enc, kind := negotiateEncoding(p.Capabilities)
	caps := readCaps(p.Capabilities)
	folders := workspaceFolders(p)

	s.mu.Lock()
	if s.state != stateNew {
		s.mu.Unlock()
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "initialize was already received")
	}
	cfg, cfgErr := s.snap.cfg.apply(p.InitializationOptions)
	s.state = stateInitialized
	s.enc, s.caps, s.folders = enc, caps, folders
	s.mu.Unlock()
	if cfgErr != nil {
		s.log.Warn("ignoring initializationOptions", "err", cfgErr)
	} else {
		s.setLevel(cfg.LogLevel)
	}

	var roots []string
	for _, f := range folders {
		roots = append(roots, discover(f, s.discoverLimit, func() bool { return ctx.Err() != nil })...)
	}
	s.update(func(next *Snapshot) []string {
		if cfgErr == nil {
			next.cfg = cfg
		}
		for _, r := range roots {
			next.roots[r] = true
		}
		return nil // checked once the client says initialized
	})
	s.log.Info("initialized", "encoding", kind, "folders", folders, "projects", roots)

	t := true
	change := protocol.TextDocumentSyncKindIncremental
	kinds := s.codeActionKinds()
	return &protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			PositionEncoding: kind,
			TextDocumentSync: &protocol.TextDocumentSyncOptions{
				OpenClose: &t, Change: &change, Save: protocol.Boolean(true),
			},
			CompletionProvider:     &protocol.CompletionOptions{TriggerCharacters: []string{":", " ", "[", ",", "/"}},
			HoverProvider:          protocol.Boolean(true),
			DefinitionProvider:     protocol.Boolean(true),
			ReferencesProvider:     protocol.Boolean(true),
			DocumentSymbolProvider: protocol.Boolean(true),
			CodeActionProvider:     &protocol.CodeActionOptions{CodeActionKinds: kinds},
			CodeLensProvider:       &protocol.CodeLensOptions{},
			DocumentLinkProvider:   &protocol.DocumentLinkOptions{},
			FoldingRangeProvider:   protocol.Boolean(true),
			ExecuteCommandProvider: protocol.ExecuteCommandOptions{Commands: s.commandNames()},
			Workspace: &protocol.WorkspaceOptions{
				WorkspaceFolders: &protocol.WorkspaceFoldersServerCapabilities{Supported: &t, ChangeNotifications: protocol.Boolean(true)},
			},
		},
		ServerInfo: protocol.ServerInfo{Name: ServerName, Version: protocol.NewOptional(s.version)},
	}, nil
}

// readCaps extracts the client capabilities the server acts on.
func readCaps(c protocol.ClientCapabilities) clientCaps {
	var caps clientCaps
	yes := func(b *bool) bool { return b != nil && *b }
	if c.Window != nil {
		caps.workDoneProgress = yes(c.Window.WorkDoneProgress)
	}
	if w := c.Workspace; w != nil {
		if w.WorkspaceEdit != nil {
			caps.documentChanges = yes(w.WorkspaceEdit.DocumentChanges)
			for _, k := range w.WorkspaceEdit.ResourceOperations {
				if k == protocol.ResourceOperationKindCreate {
					caps.createFiles = true
				}
			}
		}
		if w.DidChangeWatchedFiles != nil {
			caps.watchDynamic = yes(w.DidChangeWatchedFiles.DynamicRegistration)
		}
	}
	if td := c.TextDocument; td != nil {
		if td.Completion != nil && td.Completion.CompletionItem != nil {
			caps.snippets = yes(td.Completion.CompletionItem.SnippetSupport)
		}
		if td.Hover != nil {
			for _, k := range td.Hover.ContentFormat {
				if k == protocol.MarkupKindMarkdown {
					caps.markdown = true
				}
			}
		}
	}
	return caps
}

// workspaceFolders returns the folders of the workspace: the workspace folders, else
// the root URI, else the root path.
func workspaceFolders(p *protocol.InitializeParams) []string {
	var out []string
	if fs, ok := p.WorkspaceFolders.Get(); ok {
		for _, f := range fs {
			if path, err := pathOf(f.URI); err == nil {
				out = append(out, path)
			}
		}
	}
	//lint:ignore SA1019 clients without workspace folders send only rootUri
	root := p.RootURI
	if len(out) == 0 && root != nil && *root != "" {
		if path, err := pathOf(*root); err == nil {
			out = append(out, path)
		}
	}
	//lint:ignore SA1019 the oldest clients send only rootPath
	if rp, ok := p.RootPath.Get(); len(out) == 0 && ok && filepath.IsAbs(rp) {
		out = append(out, filepath.Clean(rp))
	}
	return out
}

// initialized serves the initialized notification: file watching is registered and
// every known project is checked.
func (s *Server) initialized(ctx context.Context, _ []byte) error {
	s.mu.Lock()
	watch := s.caps.watchDynamic
	conn := s.conn
	if watch {
		s.goBackground(func() { s.registerWatchers(conn) })
	}
	s.mu.Unlock()
	s.update(func(next *Snapshot) []string { return next.Roots() })
	return nil
}

// registerWatchers asks the client to report changes of the files projects depend on.
func (s *Server) registerWatchers(conn jsonrpc2.Conn) {
	opts := protocol.DidChangeWatchedFilesRegistrationOptions{Watchers: []protocol.FileSystemWatcher{
		{GlobPattern: protocol.Pattern("**/" + "workflow.yaml")},
		{GlobPattern: protocol.Pattern("**/tasks/**/*.go")},
		{GlobPattern: protocol.Pattern("**/tasks/**")}, // folders too: the task file cache (taskcheck.go)
		{GlobPattern: protocol.Pattern("**/go.mod")},
		{GlobPattern: protocol.Pattern("**/.env")},
	}}
	raw, err := protocol.Marshal(opts)
	if err != nil {
		s.log.Error("encode file watchers", "err", err)
		return
	}
	params := &protocol.RegistrationParams{Registrations: []protocol.Registration{{
		ID: "pelato-watch", Method: protocol.MethodWorkspaceDidChangeWatchedFiles, RegisterOptions: raw,
	}}}
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	if _, err := conn.Call(ctx, protocol.MethodClientRegisterCapability, params, nil); err != nil {
		s.log.Warn("register file watchers", "err", err)
		return
	}
	s.tasks.watching()
}

// shutdown serves the shutdown request: background work stops; only exit follows.
func (s *Server) shutdown(context.Context, *Snapshot, []byte) (any, error) {
	s.mu.Lock()
	s.state = stateShutdown
	s.haltLocked()
	s.mu.Unlock()
	return nil, nil
}

// haltLocked stops every project's checks and cancels every command's work; s.mu is held.
func (s *Server) haltLocked() {
	for _, p := range s.projects {
		p.halt()
	}
	for _, c := range s.work {
		c()
	}
}

// exit serves the exit notification: Run returns 0 after shutdown, else 1.
func (s *Server) exit() {
	s.mu.Lock()
	if s.state == stateShutdown {
		s.exitCode = 0
	}
	s.mu.Unlock()
	s.exitOnce.Do(func() { close(s.exited) })
}

// setLevel applies the logLevel setting.
func (s *Server) setLevel(level string) {
	if s.level == nil {
		return
	}
	if l, err := parseLevel(level); err == nil {
		s.level.Set(l)
	}
}

// update makes a new snapshot: modify edits a copy of the current one and returns the
// projects whose diagnostics it invalidates.
func (s *Server) update(modify func(next *Snapshot) []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.snap.with(s.snap.version + 1)
	roots := modify(next)
	s.snap = next
	for _, r := range roots {
		s.invalidate(r)
	}
}

// notify sends a notification to the client, logging failures.
func (s *Server) notify(method string, params any) {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return
	}
	if err := conn.Notify(s.ctx, method, params); err != nil {
		s.log.Debug("notify", "method", method, "err", err)
	}
}

// call sends a request to the client and decodes its result into result.
func (s *Server) call(ctx context.Context, method string, params, result any) error {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return errors.New("no connection")
	}
	if _, err := conn.Call(ctx, method, params, result); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return nil
}

// codec encodes payloads with the LSP union-aware codec of go.lsp.dev/protocol.
type codec struct{}

// Marshal implements jsonrpc2.Codec.
func (codec) Marshal(v any) ([]byte, error) {
	if m, ok := v.(jsonrpc2.RawMessage); ok {
		if m == nil {
			return []byte("null"), nil
		}
		return m, nil
	}
	return protocol.Marshal(v)
}

// Unmarshal implements jsonrpc2.Codec.
func (codec) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*jsonrpc2.RawMessage); ok {
		*p = append(jsonrpc2.RawMessage(nil), data...)
		return nil
	}
	return protocol.Unmarshal(data, v)
}

// checkOptions returns the check options for the project at root over snap.
func (s *Server) checkOptions(snap *Snapshot, root string) check.Options {
	opts := check.Options{Root: root, Registry: s.reg, Overlay: snap.overlay}
	s.tasks.configure(&opts)
	return opts
}
