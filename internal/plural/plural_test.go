package plural

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		noun string
		want string
	}{
		{0, "error", "0 errors"},
		{1, "error", "1 error"},
		{2, "error", "2 errors"},
		{1, "component", "1 component"},
		{7, "component", "7 components"},
		{2, "entry", "2 entries"},
		{2, "key", "2 keys"},
		{2, "dependency", "2 dependencies"},
		{3, "diagnostic", "3 diagnostics"},
		{2, "process", "2 processes"},
		{2, "box", "2 boxes"},
		{-1, "error", "-1 errors"},
	} {
		if got := Count(c.n, c.noun); got != c.want {
			t.Errorf("Count(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
	if got := CountOrNo(0, "problem"); got != "no problems" {
		t.Errorf("CountOrNo(0) = %q", got)
	}
	if got := CountOrNo(1, "problem"); got != "1 problem" {
		t.Errorf("CountOrNo(1) = %q", got)
	}
}
