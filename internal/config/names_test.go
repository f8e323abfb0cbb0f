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
