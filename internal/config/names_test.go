package config

import (
	"strings"
	"testing"
)

func TestDotEnvEntries(t *testing.T) {
	src := "\xef\xbb\xbf# settings\r\nREGISTY_URL=reg:5000\r\n  export NATS_PORT = \"4333\"\r\n\r\nnot a setting line\r\nPARALLEL_BUILD=maybe # hm\r\nREGISTY_URL=again"
	got := DotEnvEntries([]byte(src))
	want := []Entry{
		{Name: "REGISTY_URL", Line: 2, Value: "reg:5000", ValueOK: true},
		{Name: "NATS_PORT", Line: 3, Value: "4333", ValueOK: true},
		{Name: "PARALLEL_BUILD", Line: 6, Value: "maybe", ValueOK: true},
		{Name: "REGISTY_URL", Line: 7, Value: "again", ValueOK: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.Name || g.Line != w.Line || g.Value != w.Value || g.ValueOK != w.ValueOK {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
		if src[g.NameStart:g.NameEnd] != w.Name {
			t.Errorf("entry %d: offsets %d-%d hold %q", i, g.NameStart, g.NameEnd, src[g.NameStart:g.NameEnd])
		}
	}
}

func TestCheckValue(t *testing.T) {
	for _, c := range []struct {
		name, value, err string
	}{
		{"PARALLEL_BUILD", "False", ""},
		{"PARALLEL_BUILD", "maybe", "not True or False"},
		{"NATS_PORT", "70000", "expected a port"},
		{"JOBS", "0", "at least 1"},
		{"REGISTRY_URL", "anything", ""},
		{"NATS_PORT", "", ""},
	} {
		err := CheckValue(c.name, c.value)
		if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("CheckValue(%s, %q) = %v, want %q", c.name, c.value, err, c.err)
		}
	}
	if _, ok := Lookup("REGISTRY_URL"); !ok || len(Names()) != len(All()) {
		t.Error("Lookup or Names disagree with the table")
	}
}

// FuzzDotEnvEntries: every entry's offsets lie in the content and hold its name, in
// order; and check values never panic.
func FuzzDotEnvEntries(f *testing.F) {
	f.Add([]byte("\xef\xbb\xbfA=1\r\n  export B = \"x\"\n# c\nbad line\nC='z' # k\n"))
	f.Add([]byte("PARALLEL_BUILD=maybe\nNATS_PORT=\"99999\"\nexport\n=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		last := -1
		for _, e := range DotEnvEntries(data) {
			if e.NameStart < 0 || e.NameEnd > len(data) || e.NameStart >= e.NameEnd || string(data[e.NameStart:e.NameEnd]) != e.Name || e.NameStart <= last {
				t.Fatalf("entry %+v does not match the content", e)
			}
			last = e.NameStart
			if _, known := Lookup(e.Name); known && e.ValueOK {
				_ = CheckValue(e.Name, e.Value)
			}
		}
	})
}
