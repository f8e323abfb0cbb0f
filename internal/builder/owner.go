package builder

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// LabelOwner, on every build container, names the pelato process that made it:
// "<host name>/<pid>/<process start time>" (start time in clock ticks since boot on
// Linux, 0 where it cannot be read). A container whose owner is gone was left by a
// pelato that was killed before it could remove it; CleanOrphans removes those.
const LabelOwner = "dev.pelato.owner"

// ownerID is this process's LabelOwner value.
func ownerID() string {
	host, _ := os.Hostname()
	pid := os.Getpid()
	return fmt.Sprintf("%s/%d/%d", host, pid, processStart(pid))
}

// parseOwner reads a LabelOwner value.
func parseOwner(s string) (host string, pid int, start uint64, ok bool) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return "", 0, 0, false
	}
	j := strings.LastIndexByte(s[:i], '/')
	if j < 0 {
		return "", 0, 0, false
	}
	pid, err1 := strconv.Atoi(s[j+1 : i])
	start, err2 := strconv.ParseUint(s[i+1:], 10, 64)
	if err1 != nil || err2 != nil || pid < 1 {
		return "", 0, 0, false
	}
	return s[:j], pid, start, true
}

// ownerGone reports whether the process named by a LabelOwner value is known to
// have ended: it ran on this host (by name) and no process with its pid and start
// time runs now. A container of another host, or of an owner that cannot be
// checked, is never taken for an orphan.
func (c *Client) ownerGone(owner string) bool {
	host, pid, start, ok := parseOwner(owner)
	if !ok {
		return false
	}
	me, _ := os.Hostname()
	if host != me || owner == c.owner {
		return false
	}
	return processGone(pid, start)
}

// CleanOrphans removes the build containers (labelled LabelManaged and LabelOwner)
// whose owning pelato process has ended — left behind when it was killed — and
// returns how many it removed. Containers of running pelato processes, of other
// hosts sharing the daemon, and without an owner label are left alone.
func (c *Client) CleanOrphans(ctx context.Context) (int, error) {
	list, err := c.containersWithLabels(ctx, map[string]string{LabelManaged: "true", LabelOwner: ""})
	if err != nil {
		return 0, err
	}
	var ids []string
	for id, labels := range list {
		if c.ownerGone(labels[LabelOwner]) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := c.RemoveContainers(ctx, ids); err != nil {
		return 0, c.wrap("remove containers left by a killed pelato", err)
	}
	return len(ids), nil
}
