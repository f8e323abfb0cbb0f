// Package check computes pelato's diagnostics: the rules of workflow.yaml and the
// type checks of task files. It knows nothing of LSP or of terminals; front ends
// convert its byte-offset ranges with internal/span.
package check

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/pelato-dev/pelato/internal/span"
)

// Severity orders diagnostics from the most to the least serious.
type Severity int

// The severities, in LSP's order.
const (
	Error Severity = iota + 1
	Warning
	Info
	Hint
)

var severityNames = [...]string{Error: "error", Warning: "warning", Info: "info", Hint: "hint"}

// String returns the lowercase name used in CLI output and JSON.
func (s Severity) String() string {
	if s < Error || s > Hint {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalJSON encodes a Severity as its name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON decodes a Severity from its name.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	for i, n := range severityNames {
		if n == name && i != 0 {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q", name)
}

// Diagnostic is one finding about one file.
type Diagnostic struct {
	// File is the path of the file, relative to the project root, with forward slashes.
	File string `json:"file"`
	// Range is the byte range the finding is about.
	Range span.Range `json:"range"`
	// Severity says how serious it is.
	Severity Severity `json:"severity"`
	// Code is the stable code, documented in docs/diagnostics.md.
	Code Code `json:"code"`
	// Message says what is wrong and what is expected.
	Message string `json:"message"`
	// Related points at other places that explain the finding (the first duplicate, say).
	Related []Related `json:"related,omitempty"`
	// Fixes are machine-applicable repairs, best first.
	Fixes []Fix `json:"fixes,omitempty"`
	// Unnecessary marks code that is unused (editors may fade it).
	Unnecessary bool `json:"unnecessary,omitempty"`
	// Deprecated marks deprecated spellings (editors may strike them through).
	Deprecated bool `json:"deprecated,omitempty"`
	// Derived marks a diagnostic that restates problems reported elsewhere (PL410 on a
	// task's `code:` sums up the errors in its files): it is shown, but Count leaves it
	// out, so every problem is counted once.
	Derived bool `json:"derived,omitempty"`
}

// Related is a secondary location of a Diagnostic.
type Related struct {
	File    string     `json:"file"`
	Range   span.Range `json:"range"`
	Message string     `json:"message"`
}

// Fix is a repair a user can apply: text edits, a file to create, or both.
type Fix struct {
	Title  string      `json:"title"`
	Edits  []TextEdit  `json:"edits,omitempty"`
	Create *CreateFile `json:"create,omitempty"`
}

// TextEdit replaces the bytes of Range in File with NewText.
type TextEdit struct {
	File    string     `json:"file"`
	Range   span.Range `json:"range"`
	NewText string     `json:"new_text"`
}

// CreateFile creates a new file (it must not exist) with Content.
type CreateFile struct {
	File    string `json:"file"`
	Content string `json:"content"`
}

// Sort orders diagnostics by file, position, severity and code, so output is stable.
func Sort(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Range.Start != b.Range.Start {
			return a.Range.Start < b.Range.Start
		}
		if a.Range.End != b.Range.End {
			return a.Range.End < b.Range.End
		}
		if a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Message < b.Message
	})
}

// Count returns how many problems of each severity ds reports: derived diagnostics,
// which restate others, are not counted.
func Count(ds []Diagnostic) map[Severity]int {
	n := map[Severity]int{}
	for _, d := range ds {
		if !d.Derived {
			n[d.Severity]++
		}
	}
	return n
}

// HasErrors reports whether any diagnostic is an error.
func HasErrors(ds []Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}
