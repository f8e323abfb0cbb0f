package workflow

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNoProject is wrapped by the error of FindProject when no folder holds a
// workflow.yaml.
var ErrNoProject = errors.New("no " + FileName + " found")

// NoProjectError says where FindProject looked.
type NoProjectError struct {
	// Start is the folder the search began in.
	Start string
}

// Error implements error.
func (e *NoProjectError) Error() string {
	return fmt.Sprintf("no %s in %s or any folder above it: give the project folder, or run `pelato init` to create a project", FileName, e.Start)
}

// Unwrap makes errors.Is(err, ErrNoProject) true.
func (e *NoProjectError) Unwrap() error { return ErrNoProject }

// FindProject returns the project folder for start: start itself when it holds a
// workflow.yaml, else the nearest folder above it that does — the way git finds .git
// and go finds go.mod, so that a command run in a project's tasks/ folder works on
// that project. start must be an existing folder (an absolute path, or relative to
// the working directory). The error wraps ErrNoProject when there is no project, or
// says why start cannot be used.
func FindProject(start string) (string, error) {
	abs, err := filepath.Abs(start)
	if err != nil {
		return "", fmt.Errorf("project folder %s: %w", start, err)
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("project folder %s does not exist", abs)
	case err != nil:
		return "", fmt.Errorf("project folder %s: %w", abs, err)
	case !st.IsDir():
		return "", fmt.Errorf("%s is not a folder: give the project folder, which holds %s", abs, FileName)
	}
	for dir := abs; ; {
		if st, err := os.Stat(filepath.Join(dir, FileName)); err == nil && !st.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", &NoProjectError{Start: abs}
		}
		dir = parent
	}
}
