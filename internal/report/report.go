// Package report renders diagnostics for people and machines: one line per finding,
// a stable JSON document, and SARIF 2.1.0 for code-scanning tools.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/plural"
	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/termsafe"
)

// Formats lists the output formats.
var Formats = []string{"text", "json", "sarif"}

// Input is what a report renders.
type Input struct {
	// Root is the project folder; paths in the output are relative to the current
	// directory when Base is set, else relative to Root.
	Root string
	// Base, when set, is the folder paths are printed relative to.
	Base string
	// Diagnostics to render, sorted.
	Diagnostics []check.Diagnostic
	// Files are the contents of the files diagnostics name.
	Files map[string][]byte
	// Tool names the producing tool's version for SARIF.
	Version string
	// NoSummary leaves out the text format's last line (the count of problems), for a
	// command that says the count itself with what to do.
	NoSummary bool
}

// Write renders in with format to w.
func Write(w io.Writer, format string, in Input) error {
	switch format {
	case "text", "":
		return writeText(w, in)
	case "json":
		return writeJSON(w, in)
	case "sarif":
		return writeSARIF(w, in)
	}
	return fmt.Errorf("unknown format %q; use one of %s", format, strings.Join(Formats, ", "))
}

// Location is a diagnostic range as people count: 1-based lines and character columns.
type Location struct {
	Start span.Point `json:"start"`
	End   span.Point `json:"end"`
}

func (in Input) locate(file string, r span.Range) Location {
	m := span.NewMapper(in.Files[file])
	return Location{Start: m.Point(r.Start), End: m.Point(r.End)}
}

func (in Input) mappers() func(file string) *span.Mapper {
	cache := map[string]*span.Mapper{}
	return func(file string) *span.Mapper {
		if m, ok := cache[file]; ok {
			return m
		}
		m := span.NewMapper(in.Files[file])
		cache[file] = m
		return m
	}
}

func (in Input) display(file string) string {
	full := filepath.Join(in.Root, filepath.FromSlash(file))
	if in.Base != "" {
		if rel, err := filepath.Rel(in.Base, full); err == nil {
			return rel
		}
	}
	return full
}

func writeText(w io.Writer, in Input) error {
	mapper := in.mappers()
	for _, d := range in.Diagnostics {
		p := mapper(d.File).Point(d.Range.Start)
		// Messages quote the project's text: control characters in it are escaped
		// so that a workflow.yaml cannot drive the terminal.
		if _, err := fmt.Fprintf(w, "%s:%d:%d: %s %s: %s\n", termsafe.Line(in.display(d.File)), p.Line, p.Col, d.Severity, d.Code, termsafe.Line(d.Message)); err != nil {
			return err
		}
	}
	if in.NoSummary {
		return nil
	}
	_, err := fmt.Fprintln(w, Summary(in.Diagnostics))
	return err
}

// Summary says how many problems of each severity there are ("1 error, 2 hints").
// A derived diagnostic (PL410, which restates the errors of a task's files) is not
// counted again.
func Summary(ds []check.Diagnostic) string {
	n := check.Count(ds)
	var parts []string
	for _, s := range []check.Severity{check.Error, check.Warning, check.Info, check.Hint} {
		if n[s] > 0 {
			parts = append(parts, plural.Count(n[s], s.String()))
		}
	}
	if len(parts) == 0 {
		return "no problems found"
	}
	return strings.Join(parts, ", ")
}

// JSONVersion is the version of JSONDocument's shape; it changes when a key is renamed
// or removed (2: snake_case everywhere, fixes' "new_text").
const JSONVersion = 2

// JSONDocument is the stable shape of `--format json`.
type JSONDocument struct {
	Version     int              `json:"version"`
	Root        string           `json:"root"`
	Summary     map[string]int   `json:"summary"`
	Diagnostics []JSONDiagnostic `json:"diagnostics"`
}

// JSONDiagnostic is one diagnostic of a JSONDocument.
type JSONDiagnostic struct {
	check.Diagnostic
	Location Location `json:"location"`
}

func writeJSON(w io.Writer, in Input) error {
	doc := JSONDocument{Version: JSONVersion, Root: in.Root, Summary: map[string]int{}, Diagnostics: []JSONDiagnostic{}}
	for _, s := range []check.Severity{check.Error, check.Warning, check.Info, check.Hint} {
		doc.Summary[s.String()] = 0
	}
	for s, n := range check.Count(in.Diagnostics) {
		doc.Summary[s.String()] = n
	}
	for _, d := range in.Diagnostics {
		if d.Related == nil {
			d.Related = nil
		}
		doc.Diagnostics = append(doc.Diagnostics, JSONDiagnostic{Diagnostic: d, Location: in.locate(d.File, d.Range)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func writeSARIF(w io.Writer, in Input) error {
	type msg struct {
		Text string `json:"text"`
	}
	type region struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn"`
		EndLine     int `json:"endLine"`
		EndColumn   int `json:"endColumn"`
		CharOffset  int `json:"charOffset"`
		CharLength  int `json:"charLength"`
	}
	type artifact struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId"`
	}
	type physical struct {
		ArtifactLocation artifact `json:"artifactLocation"`
		Region           region   `json:"region"`
	}
	type location struct {
		PhysicalLocation physical `json:"physicalLocation"`
	}
	type result struct {
		RuleID    string     `json:"ruleId"`
		Level     string     `json:"level"`
		Message   msg        `json:"message"`
		Locations []location `json:"locations"`
	}
	type rule struct {
		ID               string `json:"id"`
		Name             string `json:"name"`
		ShortDescription msg    `json:"shortDescription"`
		Help             msg    `json:"help"`
		HelpURI          string `json:"helpUri"`
	}
	levels := map[check.Severity]string{check.Error: "error", check.Warning: "warning", check.Info: "note", check.Hint: "note"}
	used := map[check.Code]bool{}
	var results []result
	for _, d := range in.Diagnostics {
		used[d.Code] = true
		l := in.locate(d.File, d.Range)
		results = append(results, result{RuleID: string(d.Code), Level: levels[d.Severity], Message: msg{d.Message},
			Locations: []location{{physical{artifact{d.File, "PROJECTROOT"}, region{l.Start.Line, l.Start.Col, l.End.Line, l.End.Col, d.Range.Start, d.Range.End - d.Range.Start}}}}})
	}
	var rules []rule
	var codes []string
	for c := range used {
		codes = append(codes, string(c))
	}
	sort.Strings(codes)
	for _, c := range codes {
		info, _ := check.Lookup(check.Code(c))
		rules = append(rules, rule{ID: c, Name: info.Title, ShortDescription: msg{info.Title}, Help: msg{info.Fix}, HelpURI: DocURL(check.Code(c))})
	}
	if results == nil {
		results = []result{}
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool":               map[string]any{"driver": map[string]any{"name": "pelato", "version": in.Version, "informationUri": "https://github.com/pelato-dev/pelato", "rules": rules}},
			"originalUriBaseIds": map[string]any{"PROJECTROOT": map[string]string{"uri": "file://" + filepath.ToSlash(in.Root) + "/"}},
			"columnKind":         "unicodeCodePoints",
			"results":            results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// DocURL links a code to its explanation in docs/diagnostics.md.
func DocURL(c check.Code) string {
	return "https://github.com/pelato-dev/pelato/blob/main/docs/diagnostics.md#" + strings.ToLower(string(c))
}
