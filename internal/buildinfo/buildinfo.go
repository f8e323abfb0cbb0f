// Package buildinfo says which pelato a binary is: the module version and the
// version-control revision the Go toolchain records in every binary it builds, so
// `pelato version` and `pelato-lsp --version` identify a build without any -ldflags.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Info identifies a build.
type Info struct {
	// Version is the module version: a release tag such as v1.2.0, a pseudo-version
	// the go command derives from the commit (v0.0.0-20261120153000-abcdef123456), or
	// "devel" when the binary was built without either (go run, go test).
	Version string `json:"version"`
	// Revision is the commit the binary was built from ("" when unknown).
	Revision string `json:"revision,omitempty"`
	// Time is the commit's time, RFC 3339 ("" when unknown).
	Time string `json:"time,omitempty"`
	// Modified reports that the working tree had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"go_version"`
}

// Read returns the running binary's Info. override, when not empty, is the version
// set at link time (-ldflags "-X main.version=v1.2.3") and wins over the module's.
func Read(override string) Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return FromBuildInfo(bi, override)
}

// FromBuildInfo extracts Info from bi (nil: nothing known).
func FromBuildInfo(bi *debug.BuildInfo, override string) Info {
	info := Info{Version: "devel"}
	if bi != nil {
		info.GoVersion = bi.GoVersion
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			info.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.Time = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if override != "" {
		info.Version = override
	}
	return info
}

// String is the one-line form: "v1.2.0 (rev 0123456789ab, 2026-11-20T15:30:00Z,
// modified; go1.26.8)". The version alone is Info.Version.
func (i Info) String() string {
	var detail []string
	if i.Revision != "" {
		rev := i.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		detail = append(detail, "rev "+rev)
	}
	if i.Time != "" {
		detail = append(detail, i.Time)
	}
	if i.Modified {
		detail = append(detail, "modified")
	}
	s := i.Version
	switch {
	case len(detail) > 0 && i.GoVersion != "":
		s += fmt.Sprintf(" (%s; %s)", strings.Join(detail, ", "), i.GoVersion)
	case len(detail) > 0:
		s += " (" + strings.Join(detail, ", ") + ")"
	case i.GoVersion != "":
		s += " (" + i.GoVersion + ")"
	}
	return s
}
