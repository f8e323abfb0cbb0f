package lsp

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Bounds of what the server echoes and logs for one command (issue 18): a command's
// arguments come from the client, and a task may print without end.
const (
	// maxEcho is the most of a client-supplied string (a command name, a path) an
	// error message quotes.
	maxEcho = 256
	// maxShown is the most of one message sent to window/showMessage or in a command's
	// error.
	maxShown = 4 << 10
	// maxLogLine is the most of one window/logMessage line of a command.
	maxLogLine = 16 << 10
	// maxLogLines and maxLogBytes bound the log lines one command sends; past them
	// lines are counted, and one note says how many were left out.
	maxLogLines = 1000
	maxLogBytes = 1 << 20
)

// clip returns s cut to at most n bytes (at a character boundary), saying how much
// was left out.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d more bytes)", len(s)-cut)
}

// inWorkspace refuses a project outside the workspace folders: a command (build,
// deploy, invoke run the project's code and settings) is run only on projects the
// user opened, in a workspace folder or holding an open document.
func (s *Server) inWorkspace(snap *Snapshot, root string) error {
	s.mu.Lock()
	folders := append([]string(nil), s.folders...)
	s.mu.Unlock()
	for _, f := range folders {
		if root == f || within(root, f) {
			return nil
		}
	}
	for path := range snap.docs {
		if within(path, root) {
			return nil
		}
	}
	where := "no workspace folder is open"
	if len(folders) > 0 {
		where = "the workspace folders are " + clip(strings.Join(folders, ", "), maxEcho)
	}
	return fmt.Errorf("%s is outside the workspace (%s): pelato runs commands only on projects in the workspace; add its folder to the workspace", clip(root, maxEcho), where)
}
