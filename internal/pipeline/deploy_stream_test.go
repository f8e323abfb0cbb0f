package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/lattice/latticetest"
)

// TestDeployTakesPublishedStatus: deploy ends as soon as wadm publishes the placed
// status on wadm.status.<lattice>.<name>, long before its fallback poll; it asks
// model.status once per application, not every interval (issue 21).
func TestDeployTakesPublishedStatus(t *testing.T) {
	const placeAfter = 300 * time.Millisecond
	e := newLatticeEnv(t, envOptions{wadm: latticetest.WadmOptions{PlaceAfter: placeAfter}})
	start := time.Now()
	res, err := Deploy(context.Background(), DeployOptions{Root: e.dir, Lattice: e.conn, PollInterval: time.Hour, Timeout: 10 * time.Second})
	took := time.Since(start)
	if err != nil || res.Failed() > 0 {
		t.Fatalf("%v %+v", err, res)
	}
	for _, c := range res.Components {
		if c.Status != lattice.StatusDeployed {
			t.Errorf("%s: %s", c.ComponentName, c.Status)
		}
	}
	if took > placeAfter+2*time.Second {
		t.Errorf("deploy took %v: it did not take the published status", took)
	}
	statusAsks := 0
	for _, r := range e.wadm.Requests() {
		if strings.Contains(r.Subject, ".model.status.") {
			statusAsks++
		}
	}
	if statusAsks != len(res.Components) {
		t.Errorf("%d status requests for %d applications: the status should be asked once each", statusAsks, len(res.Components))
	}
}

// TestDeployPollsWithoutStatusStream: when wadm publishes no status, deploy still
// ends, by its fallback poll.
func TestDeployPollsWithoutStatusStream(t *testing.T) {
	e := newLatticeEnv(t, envOptions{wadm: latticetest.WadmOptions{PlaceAfter: 100 * time.Millisecond, NoStatusStream: true}})
	res, err := Deploy(context.Background(), DeployOptions{Root: e.dir, Lattice: e.conn, PollInterval: 50 * time.Millisecond, Timeout: 10 * time.Second})
	if err != nil || res.Failed() > 0 {
		t.Fatalf("%v %+v", err, res)
	}
	for _, c := range res.Components {
		if c.Status != lattice.StatusDeployed {
			t.Errorf("%s: %s", c.ComponentName, c.Status)
		}
	}
}

// TestWadmDoublePublishesStatus: the double publishes an application's status as
// wadm's StatusPublisher does — the Status JSON on wadm.status.<lattice>.<name>, on
// each change and not again when it is unchanged.
func TestWadmDoublePublishesStatus(t *testing.T) {
	e := newLatticeEnv(t, envOptions{wadm: latticetest.WadmOptions{PlaceAfter: 50 * time.Millisecond}})
	c, err := lattice.Connect(context.Background(), e.conn.Options)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	watch, err := c.WatchStatus(context.Background(), []string{"temp_filter"})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop()
	if res, err := Deploy(context.Background(), DeployOptions{Root: e.dir, Tasks: []string{"temp_filter"}, Lattice: e.conn, NoWait: true}); err != nil || res.Failed() > 0 {
		t.Fatalf("%v %+v", err, res)
	}
	var seen []string
	deadline := time.After(5 * time.Second)
	for len(seen) == 0 || seen[len(seen)-1] != lattice.StatusDeployed {
		select {
		case <-watch.Ready():
			for _, st := range watch.Take() {
				seen = append(seen, st.Info.Type)
			}
		case <-deadline:
			t.Fatalf("statuses published: %v", seen)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if again := watch.Take(); len(again) != 0 {
		t.Errorf("an unchanged status was published again: %+v", again)
	}
}
