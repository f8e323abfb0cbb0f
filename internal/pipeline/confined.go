package pipeline

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pelato-dev/pelato/internal/userfile"
)

// A component folder gen/<c>/ is mounted read-write into its build container, so
// after a build anything in it may be a symbolic link, a named pipe or a device node
// the container planted there (a link build/build.log → ~/.bashrc, a link
// build/<c>_s.wasm → ~/.ssh/id_ed25519). pelato reads and writes what a container
// could have touched only through these functions: every path is resolved inside the
// folder (os.Root: a link cannot lead out of it), a final link is refused rather than
// followed, and only regular files are read, up to a bound. Records pelato must trust
// later are kept outside the folder (see buildRecordPath).

// ErrPlantedLink reports a symbolic link where pelato expects a file of its own or of
// the build's: a build container may have left it to make pelato read or write
// elsewhere.
var ErrPlantedLink = errors.New("is a symbolic link (a build container may have left it); pelato does not follow it")

// readConfined reads the regular file rel (slash-separated) of the folder dir, at
// most limit bytes, refusing links out of dir, a final link and anything but a
// regular file. It returns the file's information as opened.
func readConfined(dir, rel string, limit int64) ([]byte, fs.FileInfo, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	name := filepath.FromSlash(rel)
	shown := filepath.Join(dir, name)
	lst, err := root.Lstat(name)
	if err != nil {
		return nil, nil, confinedErr(shown, err)
	}
	if lst.Mode()&fs.ModeSymlink != 0 {
		return nil, nil, fmt.Errorf("%s %w", shown, ErrPlantedLink)
	}
	if !lst.Mode().IsRegular() {
		return nil, nil, &userfile.Error{Path: shown, Reason: "is " + userfile.Kind(lst.Mode()) + ", not a regular file"}
	}
	f, err := root.OpenFile(name, os.O_RDONLY|syscallNonblock, 0)
	if err != nil {
		return nil, nil, confinedErr(shown, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	// Replaced between Lstat and OpenFile (by a link, a pipe): judge what was opened.
	if !os.SameFile(lst, st) || !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s changed while pelato opened it (a build container may still be writing to it)", shown)
	}
	if st.Size() > limit {
		return nil, nil, fmt.Errorf("%s is %s, more than the %s pelato reads", shown, userfile.Size(st.Size()), userfile.Size(limit))
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(b)) > limit {
		return nil, nil, fmt.Errorf("%s grew past the %s pelato reads", shown, userfile.Size(limit))
	}
	return b, st, nil
}

// confinedErr explains an error of os.Root: a path that leads out of the folder
// through a link.
func confinedErr(shown string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "path escapes from parent" {
		return fmt.Errorf("%s leads out of its folder through a symbolic link (a build container may have left it); pelato does not follow it", shown)
	}
	return err
}

// createConfined creates the file rel of dir afresh for writing: whatever is at rel
// (a link, a pipe, a file) is removed first, the folders on the way are made (inside
// dir), and the file is created exclusively, so nothing a container left is written
// through.
func createConfined(dir, rel string) (*os.File, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	name := filepath.FromSlash(rel)
	shown := filepath.Join(dir, name)
	if err := ensureDirConfined(root, filepath.Dir(name)); err != nil {
		return nil, confinedErr(shown, err)
	}
	if err := root.RemoveAll(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, confinedErr(shown, err)
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, confinedErr(shown, err)
	}
	return f, nil
}

// removeConfined removes rel of dir (a link itself, never its target).
func removeConfined(dir, rel string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	err = root.RemoveAll(filepath.FromSlash(rel))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return confinedErr(filepath.Join(dir, rel), err)
	}
	return nil
}

// ensureDirConfined makes the folder rel of root a real folder: a link or a file in
// its place (or on its way) is removed first.
func ensureDirConfined(root *os.Root, rel string) error {
	if rel == "." || rel == "" {
		return nil
	}
	if err := ensureDirConfined(root, filepath.Dir(rel)); err != nil {
		return err
	}
	st, err := root.Lstat(rel)
	if err == nil && st.IsDir() {
		return nil
	}
	if err == nil {
		if err := root.RemoveAll(rel); err != nil {
			return err
		}
	}
	if err := root.Mkdir(rel, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// writeFileAtomic writes path through a new temporary file beside it (created
// exclusively, so never through a link) renamed into place (a rename replaces a
// link, never its target).
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
