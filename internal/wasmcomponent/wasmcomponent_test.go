package wasmcomponent_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pelato-dev/pelato/internal/wasmcomponent"
	"github.com/pelato-dev/pelato/internal/wasmcomponent/wasmcomponenttest"
)

func TestParseComponent(t *testing.T) {
	spec := wasmcomponenttest.Spec{
		Imports: []string{"wasmcloud:messaging/consumer@0.2.0", "wasi:cli/environment@0.2.0"},
		Exports: []string{"wasmcloud:messaging/handler@0.2.0"},
		Custom:  []wasmcomponenttest.Custom{{Name: "producers", Data: []byte("x")}},
		Nested:  true,
	}
	b := wasmcomponenttest.Encode(spec)
	info, err := wasmcomponent.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.ImportNames(), spec.Imports) || !slices.Equal(info.ExportNames(), spec.Exports) {
		t.Errorf("imports %v exports %v", info.ImportNames(), info.ExportNames())
	}
	for _, e := range append(info.Imports, info.Exports...) {
		if e.Kind != "instance" {
			t.Errorf("%s: kind %q", e.Name, e.Kind)
		}
	}
	if d, ok := info.CustomSection("producers"); !ok || string(d) != "x" {
		t.Errorf("custom section: %q %v", d, ok)
	}
	if info.Version != 0x0d || info.Size != len(b) {
		t.Errorf("version %#x size %d", info.Version, info.Size)
	}
}

func TestParseErrors(t *testing.T) {
	valid := wasmcomponenttest.Encode(wasmcomponenttest.Spec{Imports: []string{"a:b/c"}, Exports: []string{"d:e/f"}})
	cases := map[string]struct {
		data []byte
		want error
	}{
		"empty":       {nil, wasmcomponent.ErrNotWasm},
		"text":        {[]byte("hello, world"), wasmcomponent.ErrNotWasm},
		"core module": {wasmcomponenttest.CoreModule(), wasmcomponent.ErrCoreModule},
	}
	for name, c := range cases {
		if _, err := wasmcomponent.Parse(c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// A truncation inside a section is refused with a FormatError, never a panic (one at
	// a section boundary is a shorter valid component).
	refused := 0
	for n := 9; n < len(valid); n++ {
		_, err := wasmcomponent.Parse(valid[:n])
		var fe *wasmcomponent.FormatError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("truncated at %d: %v", n, err)
		}
		if err != nil {
			refused++
		}
	}
	if refused < len(valid)-9-4 {
		t.Errorf("only %d of %d truncations refused", refused, len(valid)-9)
	}
	bad := slices.Clone(valid)
	bad[6] = 7
	if _, err := wasmcomponent.Parse(bad); err == nil {
		t.Error("unknown layer accepted")
	}
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.wasm")
	os.WriteFile(p, wasmcomponenttest.Encode(wasmcomponenttest.Spec{Exports: []string{"wasi:http/incoming-handler@0.2.0"}}), 0o644)
	info, err := wasmcomponent.ParseFile(p)
	if err != nil || len(info.Exports) != 1 {
		t.Fatalf("%v %+v", err, info)
	}
	if _, err := wasmcomponent.ParseFile(dir); err == nil {
		t.Error("a folder was read")
	}
	os.WriteFile(p, wasmcomponenttest.CoreModule(), 0o644)
	if _, err := wasmcomponent.ParseFile(p); !errors.Is(err, wasmcomponent.ErrCoreModule) {
		t.Errorf("core module: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(wasmcomponenttest.Encode(wasmcomponenttest.Spec{Imports: []string{"a:b/c@1.0.0"}, Exports: []string{"x:y/z"}, Nested: true}))
	f.Add(wasmcomponenttest.CoreModule())
	f.Add([]byte("\x00asm\x0d\x00\x01\x00\x0b\x05\x01\x00\x01a\x05"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := wasmcomponent.Parse(b)
		if err == nil && info.Size != len(b) {
			t.Fatalf("size %d of %d", info.Size, len(b))
		}
	})
}
