package workflow

import (
	"errors"
	"strings"
	"testing"
)

func TestResolvePlatform(t *testing.T) {
	wf := func(src string) *Workflow { return New(Parse(FileName, []byte(src))) }
	for _, tc := range []struct {
		name, flag string
		w          *Workflow
		want, err  string
	}{
		{name: "no workflow", want: PlatformWasmCloud1},
		{name: "default", w: wf("project_name: p\n"), want: PlatformWasmCloud1},
		{name: "key", w: wf("project_name: p\nplatform: wasmcloud2\n"), want: PlatformWasmCloud2},
		{name: "flag overrides key", flag: "wasmcloud1", w: wf("platform: wasmcloud2\n"), want: PlatformWasmCloud1},
		{name: "flag overrides bad key", flag: "wasmcloud2", w: wf("platform: k8s\n"), want: PlatformWasmCloud2},
		{name: "bad flag", flag: "wasmcloud3", w: wf("platform: wasmcloud2\n"), err: `--platform: unknown platform "wasmcloud3"; expected one of wasmcloud1, wasmcloud2`},
		{name: "bad key", w: wf("platform: WasmCloud2\n"), err: `workflow.yaml: unknown platform "WasmCloud2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolvePlatform(tc.flag, tc.w)
			if tc.err != "" {
				var pe *UnknownPlatformError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &pe) {
					t.Fatalf("ResolvePlatform = %q, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ResolvePlatform = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestSpecHTTPHost(t *testing.T) {
	w := New(Parse(FileName, []byte("tasks:\n  - component_name: conv\n  - component_name: b\n    http_host: api.example.com\n")))
	if got := w.Tasks[0].Spec().HTTPHost; got != "conv.localhost" {
		t.Errorf("default http_host = %q, want conv.localhost", got)
	}
	if got := w.Tasks[1].Spec().HTTPHost; got != "api.example.com" {
		t.Errorf("http_host = %q, want api.example.com", got)
	}
}
