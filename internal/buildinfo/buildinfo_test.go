package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/pelato-dev/pelato", Version: "v0.0.0-20261120153000-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-20T15:30:00Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	got := FromBuildInfo(bi, "")
	want := Info{Version: "v0.0.0-20261120153000-0123456789ab+dirty", Revision: "0123456789abcdef0123456789abcdef01234567", Time: "2026-11-20T15:30:00Z", Modified: true, GoVersion: "go1.26.8"}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if s := got.String(); s != "v0.0.0-20261120153000-0123456789ab+dirty (rev 0123456789ab, 2026-11-20T15:30:00Z, modified; go1.26.8)" {
		t.Errorf("String() = %q", s)
	}
	if got := FromBuildInfo(bi, "v1.2.3"); got.Version != "v1.2.3" || got.Revision == "" {
		t.Errorf("override: %+v", got)
	}
	devel := FromBuildInfo(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "")
	if devel.Version != "devel" || devel.String() != "devel (go1.26.8)" {
		t.Errorf("devel build: %+v %q", devel, devel.String())
	}
	if s := FromBuildInfo(nil, "").String(); s != "devel" {
		t.Errorf("no build info: %q", s)
	}
}
