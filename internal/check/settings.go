package check

import (
	"fmt"
	"strings"

	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/span"
)

// DotEnvFile is the name of a project's settings file.
const DotEnvFile = ".env"

// Settings checks the setting names and values of a project's .env (content), so a
// misspelled name is not silently ignored: an unknown name is a warning with a
// did-you-mean when a setting is close to it (a hint otherwise: the file may hold
// variables for other tools), an invalid value of a setting pelato reads is an error,
// a setting given twice a warning, and a setting only flags and the environment may
// set (config.Setting.NotFromDotEnv) a warning that it is ignored. `# pelato:ignore
// CODE` comments apply. Lines that are not `NAME=value` are left to the reader of
// .env, which reports them.
func Settings(content []byte) []Diagnostic {
	names := config.Names()
	var out []Diagnostic
	first := map[string]config.Entry{}
	for _, e := range config.DotEnvEntries(content) {
		r := span.Range{Start: e.NameStart, End: e.NameEnd}
		if _, known := config.Lookup(e.Name); !known {
			out = append(out, unknownSetting(e, r, names))
			continue
		}
		if prev, twice := first[e.Name]; twice {
			out = append(out, Diagnostic{File: DotEnvFile, Range: r, Severity: Warning, Code: CodeSettingTwice,
				Message: fmt.Sprintf("%s is set again (first on line %d): the last line wins", e.Name, prev.Line),
				Related: []Related{{File: DotEnvFile, Range: span.Range{Start: prev.NameStart, End: prev.NameEnd}, Message: "first set here"}}})
		} else {
			first[e.Name] = e
		}
		if st, _ := config.Lookup(e.Name); st.NotFromDotEnv {
			out = append(out, Diagnostic{File: DotEnvFile, Range: r, Severity: Warning, Code: CodeNotFromDotEnv, Message: config.IgnoredMessage(e.Name)})
			continue
		}
		if e.ValueOK {
			if err := config.CheckValue(e.Name, e.Value); err != nil {
				out = append(out, Diagnostic{File: DotEnvFile, Range: r, Severity: Error, Code: CodeBadSetting, Message: err.Error()})
			}
		}
	}
	out = Suppress(out, DotEnvFile, content, "#")
	Sort(out)
	return out
}

// unknownSetting reports a name pelato does not read.
func unknownSetting(e config.Entry, r span.Range, names []string) Diagnostic {
	d := Diagnostic{File: DotEnvFile, Range: r, Severity: Hint, Code: CodeUnknownSetting,
		Message: fmt.Sprintf("%s is not a pelato setting; pelato ignores it", e.Name)}
	best, ok := closest(e.Name, names)
	if !ok {
		if up := strings.ToUpper(e.Name); up != e.Name {
			if _, known := config.Lookup(up); known {
				best, ok = up, true
			}
		}
	}
	if ok {
		d.Severity = Warning
		d.Message = fmt.Sprintf("%s is not a pelato setting, so it is ignored; did you mean %s?", e.Name, best)
		d.Fixes = []Fix{{Title: "Rename to " + best, Edits: []TextEdit{{File: DotEnvFile, Range: r, NewText: best}}}}
	}
	return d
}
