package lsp

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/lattice/latticetest"
)

// latticeClient opens the example project in a server whose natsUrl setting points
// at a real NATS server with the wadm double (an edge and a cloud host).
func latticeClient(t *testing.T, wo latticetest.WadmOptions, extra string) (*client, string, *latticetest.Wadm) {
	t.Helper()
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
	w := latticetest.NewWadm(t, srv.URL(), wo)
	w.AddHost("default", lattice.Host{ID: "NEDGE1", FriendlyName: "edge-1", Labels: map[string]string{"host-type": "edge"}, Version: "1.9.0"})
	w.AddHost("default", lattice.Host{ID: "NCLOUD1", FriendlyName: "cloud-1", Labels: map[string]string{"host-type": "cloud"}, Version: "1.9.0"})
	c, root, _ := openProject(t, fullCaps(), fmt.Sprintf(`{"natsUrl": %q%s}`, srv.URL(), extra), "")
	return c, root, w
}

func TestCommandsDeployStatusRemove(t *testing.T) {
	c, root, _ := latticeClient(t, latticetest.WadmOptions{PlaceAfter: 50 * time.Millisecond}, "")
	wf := string(fileURI(workflowPath(root)))
	if _, err := c.command(CmdGen, CommandArgs{URI: wf}); err != nil {
		t.Fatal(err)
	}
	c.reset()
	res, err := c.command(CmdDeploy, CommandArgs{URI: wf, Task: "temp_filter"})
	if err != nil {
		t.Fatal(err)
	}
	var dep struct {
		Components []struct {
			Action string `json:"action"`
			Status string `json:"status"`
		} `json:"components"`
	}
	if json.Unmarshal(res, &dep) != nil || len(dep.Components) != 1 || dep.Components[0].Action != "created" || dep.Components[0].Status != "deployed" {
		t.Fatalf("deploy result %s", res)
	}
	c.waitFor("scaler progress", func(m message) bool {
		return m.method == protocol.MethodProgress && contains(m.params, "reconciling") && contains(m.params, "SpreadScaler temp_filter-temp_filter")
	})
	c.waitFor("deploy message", func(m message) bool {
		return m.method == protocol.MethodWindowShowMessage && contains(m.params, "pelato: Deploy: deployed 1 of 1 component to lattice default")
	})

	res, err = c.command(CmdStatus, CommandArgs{URI: wf})
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Apps []struct {
			App    string `json:"app"`
			Status string `json:"status"`
			Stored bool   `json:"stored"`
		} `json:"apps"`
		Hosts []struct {
			FriendlyName string `json:"friendly_name"`
		} `json:"hosts"`
	}
	if json.Unmarshal(res, &st) != nil || len(st.Apps) != 2 || st.Apps[1].Status != "deployed" || st.Apps[0].Stored || len(st.Hosts) != 2 {
		t.Fatalf("status result %s", res)
	}
	c.waitFor("status log", func(m message) bool {
		return m.method == protocol.MethodWindowLogMessage && contains(m.params, "host edge-1 (NEDGE1): host-type=edge")
	})

	res, err = c.command(CmdRemove, CommandArgs{URI: wf})
	if err != nil || !strings.Contains(string(res), `"action":"removed"`) || !strings.Contains(string(res), `"action":"absent"`) {
		t.Fatalf("remove: %s %v", res, err)
	}
}

func TestCommandDeployFailureIsShown(t *testing.T) {
	c, root, _ := openProject(t, fullCaps(), `{"natsUrl": "nats://127.0.0.1:1"}`, "")
	wf := string(fileURI(workflowPath(root)))
	if _, err := c.command(CmdGen, CommandArgs{URI: wf}); err != nil {
		t.Fatal(err)
	}
	_, err := c.command(CmdDeploy, CommandArgs{URI: wf})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the server") {
		t.Fatalf("got %v", err)
	}
	c.waitFor("error message", func(m message) bool {
		return m.method == protocol.MethodWindowShowMessage && contains(m.params, "pelato: Deploy failed") && contains(m.params, "nats://127.0.0.1:1")
	})
	// Without gen/ the components fail one by one, with the fix.
	c2, root2, _ := openProject(t, fullCaps(), `{"natsUrl": "nats://127.0.0.1:1"}`, "")
	_, err = c2.command(CmdDeploy, CommandArgs{URI: string(fileURI(workflowPath(root2)))})
	if err == nil || !strings.Contains(err.Error(), "run `pelato gen`") {
		t.Fatalf("no gen: %v", err)
	}
}

// Cancelling the progress stops waiting for placement.
func TestCommandDeployCancel(t *testing.T) {
	c, root, _ := latticeClient(t, latticetest.WadmOptions{PlaceAfter: time.Hour}, "")
	wf := string(fileURI(workflowPath(root)))
	if _, err := c.command(CmdGen, CommandArgs{URI: wf}); err != nil {
		t.Fatal(err)
	}
	c.reset()
	errc := make(chan error, 1)
	go func() {
		_, err := c.command(CmdDeploy, CommandArgs{URI: wf})
		errc <- err
	}()
	create := c.waitFor("progress create", func(m message) bool { return m.method == protocol.MethodWindowWorkDoneProgressCreate })
	var cp protocol.WorkDoneProgressCreateParams
	if err := protocol.Unmarshal(create.params, &cp); err != nil {
		t.Fatal(err)
	}
	c.waitFor("waiting for placement", func(m message) bool { return m.method == protocol.MethodProgress && contains(m.params, "reconciling") })
	c.notify(protocol.MethodWindowWorkDoneProgressCancel, &protocol.WorkDoneProgressCancelParams{Token: cp.Token})
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("a cancelled deploy succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancel did not stop the deploy")
	}
}

func TestLatticeHints(t *testing.T) {
	gpu := strings.Replace(read(t, "../../examples/temperature/workflow.yaml"), "targets: [cloud]", "targets: [cloud, gpu]", 1)
	t.Run("off by default: no ping", func(t *testing.T) {
		srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
		w := latticetest.NewWadm(t, srv.URL(), latticetest.WadmOptions{})
		c, root, d := openProject(t, fullCaps(), fmt.Sprintf(`{"natsUrl": %q}`, srv.URL()), gpu)
		for _, x := range d.Diagnostics {
			if x.Code == protocol.String(string(check.CodeNoHostForTarget)) {
				t.Errorf("a lattice hint without latticeChecks: %v", x.Message)
			}
		}
		c.replace(workflowPath(root), gpu+"\n", 2)
		c.diagnostics(workflowPath(root), func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 2 })
		time.Sleep(100 * time.Millisecond)
		if n := w.Pings(); n != 0 {
			t.Errorf("%d host ping(s) with lattice checks off", n)
		}
	})
	t.Run("on", func(t *testing.T) {
		srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
		w := latticetest.NewWadm(t, srv.URL(), latticetest.WadmOptions{})
		w.AddHost("default", lattice.Host{ID: "NEDGE1", FriendlyName: "edge-1", Labels: map[string]string{"host-type": "edge"}})
		w.AddHost("default", lattice.Host{ID: "NCLOUD1", FriendlyName: "cloud-1", Labels: map[string]string{"host-type": "cloud"}})
		c, root, _ := openProject(t, fullCaps(), fmt.Sprintf(`{"natsUrl": %q, "latticeChecks": true}`, srv.URL()), gpu)
		d := c.diagnostics(workflowPath(root), func(p *protocol.PublishDiagnosticsParams) bool {
			for _, x := range p.Diagnostics {
				if x.Code == protocol.String(string(check.CodeNoHostForTarget)) {
					return true
				}
			}
			return false
		})
		var hints []protocol.Diagnostic
		for _, x := range d.Diagnostics {
			if x.Code == protocol.String(string(check.CodeNoHostForTarget)) {
				hints = append(hints, x)
			}
		}
		if len(hints) != 1 || hints[0].Severity != protocol.DiagnosticSeverityHint || hints[0].Range.Start.Line != 14 ||
			!strings.Contains(string(hints[0].Message.(protocol.String)), `no host of lattice "default" has host-type=gpu`) {
			t.Fatalf("hints %+v", hints)
		}
		// Edits re-check from the cached ping: no new ping within its lifetime.
		n := w.Pings()
		c.replace(workflowPath(root), gpu+"\n", 2)
		c.diagnostics(workflowPath(root), func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 2 })
		if w.Pings() != n {
			t.Errorf("an edit pinged the lattice again (%d → %d)", n, w.Pings())
		}
	})
}
