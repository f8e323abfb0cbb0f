package check

import (
	"testing"

	"github.com/pelato-dev/pelato/internal/workflow"
)

// TestPlatformOverride shows that WorkflowOptions.Platform (a command's
// --platform) decides which platform rules run, over the project's key.
func TestPlatformOverride(t *testing.T) {
	const src = "project_name: p\nplatform: wasmcloud1\ntasks:\n  - name: a\n    type: http_producer_nats\n    code: a.go\n    targets: [Edge]\n    source_topic: in\n    dest_topic: out\n    component_name: a_b\n    version: 1.0.0\n    http_port: 8080\n"
	w := workflow.New(workflow.Parse(workflow.FileName, []byte(src)))
	for _, tc := range []struct {
		platform string
		want     map[Code]int
	}{
		{"", map[Code]int{}},
		{workflow.PlatformWasmCloud1, map[Code]int{}},
		{workflow.PlatformWasmCloud2, map[Code]int{CodeK8sComponent: 1, CodeK8sTarget: 1, CodePlatformKey: 1}},
	} {
		got := map[Code]int{}
		for _, d := range Workflow(w, WorkflowOptions{Root: t.TempDir(), Platform: tc.platform}) {
			switch d.Code {
			case CodeK8sComponent, CodeK8sTarget, CodePlatformKey, CodeUnknownPlatform, CodeBadHTTPHost, CodeDupHTTPHost:
				got[d.Code]++
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("platform %q: %v; want %v", tc.platform, got, tc.want)
			continue
		}
		for c, n := range tc.want {
			if got[c] != n {
				t.Errorf("platform %q: %v; want %v", tc.platform, got, tc.want)
			}
		}
	}
}
