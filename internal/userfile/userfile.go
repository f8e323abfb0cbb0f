// Package userfile reads the files a project supplies — workflow.yaml, .env, task
// code, go.mod, metrics.yaml, generated output being compared — as files someone else
// may have written to hurt the reader. A file is read only when it is a regular file
// (a symbolic link to one is fine); a named pipe, a device such as /dev/zero, a socket
// or a folder is refused before any byte is read, and so is a file larger than the
// caller's cap, which is checked before reading and enforced again while reading (a
// file that grows is cut off, never read without bound). Opening never blocks: a FIFO
// swapped in between the check and the open is refused too.
//
// Errors name the file and say why, in words a user can act on, and never quote the
// file's content.
package userfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// NoLimit, as a limit, reads a regular file of any size.
const NoLimit = -1

// ErrNotRegular is matched (errors.Is) by the error of a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is matched (errors.Is) by the error of a file larger than the cap.
var ErrTooLarge = errors.New("file too large")

// Error is the error of a file that exists but is refused.
type Error struct {
	// Path is the file as the caller named it.
	Path string
	// Reason says why, completing "<path> ...": "is a named pipe (FIFO), not a
	// regular file", "is 3.0 GiB; the limit is 16 MiB".
	Reason string
	// Size is the file's size when it is too large, else 0.
	Size int64
	// Limit is the cap the file was held to.
	Limit int64
	kind  error
}

func (e *Error) Error() string { return e.Path + " " + e.Reason }

// Is reports whether target is ErrNotRegular or ErrTooLarge, as fits e.
func (e *Error) Is(target error) bool { return target == e.kind }

// Read returns the content of the regular file at path, refusing it when it is not a
// regular file or is larger than limit bytes (NoLimit means no cap, which callers
// reading project files should not use). A missing file gives an error that matches
// fs.ErrNotExist, as os.ReadFile's does.
func Read(path string, limit int64) ([]byte, error) {
	if _, err := Check(path, limit); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The file may have been replaced between Check and OpenFile: judge what was
	// opened.
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := judge(path, path, info, limit); err != nil {
		return nil, err
	}
	size := info.Size()
	r := io.Reader(f)
	if limit >= 0 {
		r = io.LimitReader(f, limit+1)
	}
	want := size
	if limit >= 0 {
		want = min(size, limit)
	}
	buf := make([]byte, 0, max(0, want)+1)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow: the file grew while being read
		}
	}
	if limit >= 0 && int64(len(buf)) > limit {
		return nil, tooLarge(path, int64(len(buf)), limit, "grew past")
	}
	return buf, nil
}

// Check reports whether path may be read with Read: it exists, is a regular file
// (through symbolic links) and holds at most limit bytes. It reads nothing. Callers
// that hand the path to another program (go list reads go.mod) check it first.
func Check(path string, limit int64) (fs.FileInfo, error) {
	lst, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if lst.Mode()&fs.ModeSymlink == 0 {
		return lst, judge(path, "", lst, limit)
	}
	st, err := os.Stat(path)
	if err != nil {
		target, _ := os.Readlink(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("it is a symbolic link to %s, which does not exist: %w", target, fs.ErrNotExist)}
		}
		return nil, err
	}
	return st, judge(path, linkDescription(path), st, limit)
}

// linkDescription returns "a symbolic link to <target>" for messages.
func linkDescription(path string) string {
	target, err := os.Readlink(path)
	if err != nil {
		return "a symbolic link"
	}
	return "a symbolic link to " + target
}

// judge refuses info when it is not a regular file or is larger than limit. via,
// when set, says how path reached the file ("a symbolic link to /dev/zero").
func judge(path, via string, info fs.FileInfo, limit int64) error {
	if !info.Mode().IsRegular() {
		what := Kind(info.Mode())
		reason := "is " + what + ", not a regular file: pelato reads only regular files"
		if via != "" && via != path {
			reason = "is " + via + ", " + what + ", not a regular file: pelato reads only regular files"
		}
		return &Error{Path: path, Reason: reason, Limit: limit, kind: ErrNotRegular}
	}
	if limit >= 0 && info.Size() > limit {
		return tooLarge(path, info.Size(), limit, "is")
	}
	return nil
}

func tooLarge(path string, size, limit int64, verb string) error {
	reason := fmt.Sprintf("%s %s; pelato reads at most %s from it", verb, Size(size), Size(limit))
	if verb != "is" {
		reason = fmt.Sprintf("%s the limit of %s while being read", verb, Size(limit))
	}
	return &Error{Path: path, Reason: reason, Size: size, Limit: limit, kind: ErrTooLarge}
}

// Kind names the type of file mode m for messages: "a named pipe (FIFO)",
// "a character device", "a folder", ...
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "not a regular file"
}

// Size formats n bytes for people: "512 bytes", "64 KiB", "2.5 MiB", "24.0 GiB".
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	suffix := "KMGTPE"[exp : exp+1]
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %siB", int64(v), suffix)
	}
	return fmt.Sprintf("%.1f %siB", v, suffix)
}
