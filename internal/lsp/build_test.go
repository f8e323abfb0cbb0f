package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/builder"
	"github.com/pelato-dev/pelato/internal/buildertest"
	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/lattice/latticetest"
)

// buildProject opens the example project set up to build with the test builder
// image (PELATO_BUILDER_IMAGE in the environment) and push to registry.
func buildProject(t *testing.T, registryURL string) (*client, string, *builder.Client) {
	t.Helper()
	dc := buildertest.Connect(t)
	src := buildertest.Source(t, "internal/lsp")
	img, err := dc.EnsureImage(context.Background(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	lspImage := img.Ref
	t.Cleanup(func() { dc.RemoveImage(context.Background(), lspImage) })
	var created []string
	for _, v := range []string{"pelato-cache-go-mod", "pelato-cache-go-build", "pelato-cache-xdg"} {
		if ok, err := dc.VolumeExists(context.Background(), v); err == nil && !ok {
			created = append(created, v)
		}
	}
	// The builder image comes from the environment only (a project's .env cannot
	// choose what runs on the machine).
	root := copyProject(t, "temperature")
	c := newClient(t, clientOptions{server: Options{Getenv: func(k string) (string, bool) {
		if k == "PELATO_BUILDER_IMAGE" {
			return lspImage, true
		}
		return "", false
	}}})
	c.initialize(fullCaps(), "", root)
	wf := workflowPath(root)
	c.open(wf, read(t, wf), 1)
	c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 1 })
	write(t, filepath.Join(root, ".env"), "REGISTRY_URL="+registryURL+"\n")
	buildertest.Cleanup(t, dc, map[string]string{builder.LabelProject: root}, created...)
	return c, root, dc
}

func TestCommandBuildAndPush(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	reg := strings.TrimPrefix(srv.URL, "http://")
	c, root, _ := buildProject(t, reg)
	wf := string(fileURI(workflowPath(root)))

	res, err := c.command(CmdBuild, CommandArgs{URI: wf, Task: "temp_filter"})
	if err != nil {
		t.Fatal(err)
	}
	var br struct {
		Components []struct {
			ComponentName string   `json:"component_name"`
			Status        string   `json:"status"`
			Exports       []string `json:"exports"`
		} `json:"components"`
	}
	if json.Unmarshal(res, &br) != nil || len(br.Components) != 1 || br.Components[0].Status != "built" || len(br.Components[0].Exports) == 0 {
		t.Fatalf("build result: %s", res)
	}
	if _, err := os.Stat(filepath.Join(root, "gen", "temp_filter", "build", "temp_filter_s.wasm")); err != nil {
		t.Fatal(err)
	}
	c.waitFor("build message", func(m message) bool {
		return m.method == protocol.MethodWindowShowMessage && contains(m.params, "pelato: Build: 1 built, 0 unchanged")
	})
	c.waitFor("build log", func(m message) bool {
		return m.method == protocol.MethodWindowLogMessage && contains(m.params, "temp_filter: fakewash: building")
	})
	if _, err := c.command(CmdPush, CommandArgs{URI: wf, Task: "temp_filter"}); err != nil {
		t.Fatal(err)
	}
	c.waitFor("push message", func(m message) bool {
		return m.method == protocol.MethodWindowShowMessage && contains(m.params, "pelato: Push: 1 pushed")
	})
	// The other task was never built: push says so.
	if _, err := c.command(CmdPush, CommandArgs{URI: wf, Task: "celsius_to_kelvin_conversion"}); err == nil || !strings.Contains(err.Error(), "not built yet") {
		t.Errorf("push of an unbuilt task: %v", err)
	}
}

// TestCommandBuildCancel cancels a build through its progress token: its containers
// are removed within 5 s and the command ends as cancelled.
func TestCommandBuildCancel(t *testing.T) {
	c, root, dc := buildProject(t, "localhost:5000")
	write(t, filepath.Join(root, "tasks", "filter.go"), read(t, filepath.Join(root, "tasks", "filter.go"))+"\n//fakewash:sleep 120s\n")
	wf := string(fileURI(workflowPath(root)))
	done := make(chan error, 1)
	go func() {
		_, err := c.command(CmdBuild, CommandArgs{URI: wf, Task: "temp_filter"})
		done <- err
	}()
	labels := map[string]string{builder.LabelProject: root}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if ids, _ := dc.Containers(context.Background(), labels); len(ids) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no build container started")
		}
		time.Sleep(100 * time.Millisecond)
	}
	begin := c.waitFor("progress begin", func(m message) bool {
		return m.method == protocol.MethodProgress && contains(m.params, `"title":"pelato: Build"`)
	})
	var p struct {
		Token json.RawMessage `json:"token"`
	}
	json.Unmarshal(begin.params, &p)
	t0 := time.Now()
	c.notify(protocol.MethodWindowWorkDoneProgressCancel, json.RawMessage(`{"token":`+string(p.Token)+`}`))
	select {
	case err := <-done:
		if err == nil {
			t.Error("cancelled build succeeded")
		}
	case <-time.After(builder.RemoveTimeout + time.Second):
		t.Fatal("build did not end after cancel")
	}
	if d := time.Since(t0); d > builder.RemoveTimeout {
		t.Errorf("cancel took %s", d)
	}
	if ids, _ := dc.Containers(context.Background(), labels); len(ids) != 0 {
		t.Errorf("%d containers left after cancel", len(ids))
	}
}

// TestCommandBrush runs pelato.brush for one task through the server: built with the
// test builder image, pushed to an in-process registry, deployed through a real NATS
// server to the wadm double, with one progress report and one outcome message.
func TestCommandBrush(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	c, root, _ := buildProject(t, strings.TrimPrefix(reg.URL, "http://"))
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
	w := latticetest.NewWadm(t, srv.URL(), latticetest.WadmOptions{PlaceAfter: 20 * time.Millisecond})
	w.AddHost("default", lattice.Host{ID: "NCLOUD1", FriendlyName: "cloud-1", Labels: map[string]string{"host-type": "cloud"}, Version: "1.9.0"})
	c.notify(protocol.MethodWorkspaceDidChangeConfiguration, &protocol.DidChangeConfigurationParams{Settings: protocol.LSPAny(fmt.Sprintf(`{"pelato":{"natsUrl":%q}}`, srv.URL()))})
	wf := string(fileURI(workflowPath(root)))

	res, err := c.command(CmdBrush, CommandArgs{URI: wf, Task: "temp_filter"})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Build  struct{ Components []struct{ Status string } } `json:"build"`
		Push   struct{ Components []struct{ Status string } } `json:"push"`
		Deploy struct {
			Components []struct{ Status string } `json:"components"`
		} `json:"deploy"`
	}
	if json.Unmarshal(res, &out) != nil || len(out.Build.Components) != 1 || out.Build.Components[0].Status != "built" ||
		len(out.Push.Components) != 1 || out.Push.Components[0].Status != "pushed" ||
		len(out.Deploy.Components) != 1 || out.Deploy.Components[0].Status != "deployed" {
		t.Fatalf("brush result: %s", res)
	}
	c.waitFor("brush message", func(m message) bool {
		return m.method == protocol.MethodWindowShowMessage && contains(m.params, "pelato: Brush: 1 built") && contains(m.params, "1 pushed")
	})
}

// TestBuildErrorsAsDiagnostics: after pelato.build, a compiler error in a task file
// reaches the editor as a diagnostic of that file (source "pelato build", at the
// mapped line and column), beside the check's; an edit of the file clears it, and so
// does the next successful build (issue 19).
func TestBuildErrorsAsDiagnostics(t *testing.T) {
	c, root, _ := buildProject(t, "localhost:5000")
	task := filepath.Join(root, "tasks", "filter.go")
	src := read(t, task)
	broken := src + "\n//fakewash:error undefined: frobnicate\n"
	write(t, task, broken)
	wantLine := uint32(strings.Count(broken[:strings.Index(broken, "//fakewash:error")], "\n"))
	wf := string(fileURI(workflowPath(root)))
	if _, err := c.command(CmdBuild, CommandArgs{URI: wf, Task: "temp_filter"}); err == nil || !strings.Contains(err.Error(), "undefined: frobnicate") {
		t.Fatalf("build of a broken task: %v", err)
	}
	isBuild := func(d protocol.Diagnostic) bool { src, _ := d.Source.Get(); return src == buildSource }
	d := c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return slices.ContainsFunc(p.Diagnostics, isBuild) })
	i := slices.IndexFunc(d.Diagnostics, isBuild)
	got := d.Diagnostics[i]
	if got.Range.Start.Line != wantLine || got.Range.Start.Character != 0 || got.Severity != protocol.DiagnosticSeverityError ||
		!strings.Contains(string(got.Message.(protocol.String)), "undefined: frobnicate") {
		t.Errorf("build diagnostic %+v, want line %d", got, wantLine)
	}
	// An edit of the file clears it.
	c.open(task, broken, 1)
	c.replace(task, broken+"\n", 2)
	c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return !slices.ContainsFunc(p.Diagnostics, isBuild) })
	// Built again, broken: back; fixed and built: gone.
	if _, err := c.command(CmdBuild, CommandArgs{URI: wf, Task: "temp_filter"}); err == nil {
		t.Fatal("build of a broken task succeeded")
	}
	c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return slices.ContainsFunc(p.Diagnostics, isBuild) })
	write(t, task, src)
	c.replace(task, src, 3)
	c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return !slices.ContainsFunc(p.Diagnostics, isBuild) })
	if _, err := c.command(CmdBuild, CommandArgs{URI: wf, Task: "temp_filter"}); err != nil {
		t.Fatal(err)
	}
	c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return !slices.ContainsFunc(p.Diagnostics, isBuild) })
}
