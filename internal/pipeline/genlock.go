package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelato-dev/pelato/internal/userfile"
)

// LockFile, inside gen/, is held by the pelato process that writes gen/; it records
// who holds it.
const LockFile = ".pelato-lock"

// tmpPrefix starts the names of gen/'s temporary folders (a component being written,
// the previous output being replaced).
const tmpPrefix = ".tmp-"

// lockPoll is how often a waiting run tries the lock again.
const lockPoll = 100 * time.Millisecond

// lockHolder is what the lock file says about the process holding it.
type lockHolder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

func (h lockHolder) String() string {
	if h.PID == 0 {
		return "another pelato process"
	}
	s := fmt.Sprintf("pid %d", h.PID)
	if h.Host != "" {
		s += " on " + h.Host
	}
	if h.Command != "" {
		s += " (" + h.Command + ")"
	}
	if !h.Since.IsZero() {
		s += ", since " + h.Since.Format("15:04:05")
	}
	return s
}

// LockGen takes the lock of the project's gen/ folder (which must exist), waiting
// while another process holds it: each wait is reported on rep, naming the holder.
// It returns when the lock is taken (call the returned function to release it) or
// when ctx ends. The lock is an advisory lock on gen/.pelato-lock that the operating
// system releases when its holder exits, so a killed run never leaves it behind.
// Every operation that writes under gen/ holds it.
func LockGen(ctx context.Context, root, command string, rep Reporter) (func(), error) {
	if rep == nil {
		rep = Discard
	}
	path := filepath.Join(root, GenDir, LockFile)
	if _, err := os.Lstat(path); err == nil {
		if err := checkLockFile(path); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", filepath.Join(root, GenDir), err)
	}
	reported := false
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			break
		}
		if !reported {
			reported = true
			rep.Event(Event{Kind: Log, Level: "warning", Message: fmt.Sprintf("waiting for %s, which is writing %s", readHolder(path), filepath.Join(root, GenDir))})
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the lock of %s (held by %s): %w", filepath.Join(root, GenDir), readHolder(path), ctx.Err())
		case <-time.After(lockPoll):
		}
	}
	host, _ := os.Hostname()
	me, _ := json.Marshal(lockHolder{PID: os.Getpid(), Host: host, Command: command, Since: time.Now().UTC()})
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(me, '\n'), 0)
	}
	return func() {
		_ = f.Truncate(0)
		_ = unlock(f)
		f.Close()
	}, nil
}

// checkLockFile refuses a lock file that is not a regular file (a FIFO would block
// the open, a symbolic link would be written through).
func checkLockFile(path string) error {
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("lock %s: it is %s, not a regular file; remove it", path, userfile.Kind(st.Mode()))
	}
	return nil
}

// readHolder describes the holder recorded in the lock file.
func readHolder(path string) lockHolder {
	var h lockHolder
	if b, err := userfile.Read(path, 4096); err == nil {
		_ = json.Unmarshal(b, &h)
	}
	return h
}

// cleanTemporaries removes what interrupted runs left in gen/: temporary folders
// (.tmp-*) that no live run owns, since the caller holds the lock. It returns how
// many it removed.
func cleanTemporaries(genDir string) (int, error) {
	entries, err := os.ReadDir(genDir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(genDir, e.Name())); err != nil {
			return n, fmt.Errorf("remove the leftover %s: %w", filepath.Join(genDir, e.Name()), err)
		}
		n++
	}
	return n, nil
}
