package lattice

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeReply feeds arbitrary reply bodies to the decoder of every reply type:
// never a panic, and an error or a decoded value with a result.
func FuzzDecodeReply(f *testing.F) {
	for _, s := range []string{
		`{"result":"created","message":"ok","current_version":"1.0.0","total_versions":1}`,
		`{"result":"error","message":"Manifest version 1.0.0 already exists"}`,
		`{"result":"ok","message":"","status":{"status":{"type":"failed","message":"x"},"scalers":[{"id":"a","kind":"SpreadScaler","name":"n","status":{"type":"failed"}}]}}`,
		`{"result":"success","models":[{"name":"a","version":"1","deployed_version":"1","detailed_status":{"status":{"type":"deployed"}},"status":"deployed"}]}`,
		`{"result":"success","manifest":{"apiVersion":"core.oam.dev/v1beta1"}}`,
		`{"result":"success","versions":[{"version":"1","deployed":true}]}`,
		`null`, `[]`, `{"result":5}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		outs := []any{&PutReply{}, &DeployReply{}, &DeleteReply{}, &StatusReply{}, &GetReply{}, &VersionsReply{}, &ListReply{}}
		for _, out := range outs {
			err := decodeReply("op", "default", data, out)
			if err != nil {
				if len(err.Error()) > 1000 {
					t.Fatalf("error of %d bytes", len(err.Error()))
				}
				continue
			}
			b, _ := json.Marshal(out)
			if !strings.Contains(string(b), `"result":`) {
				t.Fatalf("decoded without a result: %s", b)
			}
		}
		if l, ok := outs[6].(*ListReply); ok {
			for _, m := range l.Models {
				m.Info()
			}
		}
	})
}

// FuzzParseUnsatisfied checks that every failure found is made of parts of the input.
func FuzzParseUnsatisfied(f *testing.F) {
	f.Add("Could not satisfy spread edge for reg/a:1, 0/1 eligible hosts found.")
	f.Add("Could not satisfy daemonscaler edge for ghcr.io/x:1, 0 eligible hosts found., Could not satisfy spread gpu for r/b:2, 0/1 eligible hosts found.")
	f.Fuzz(func(t *testing.T, msg string) {
		for _, u := range ParseUnsatisfied(msg) {
			if !strings.Contains(msg, u.Spread) || !strings.Contains(msg, u.Image) || (u.Kind != "spread" && u.Kind != "daemonscaler") {
				t.Fatalf("%+v from %q", u, msg)
			}
		}
	})
}
