package builder

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

func TestOwnerGone(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	host, _ := os.Hostname()
	c := &Client{owner: ownerID()}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip(err)
	}
	self := os.Getpid()
	for owner, gone := range map[string]bool{
		c.owner: false, // this process
		fmt.Sprintf("%s/%d/%d", host, os.Getppid(), processStart(os.Getppid())): false, // a running process
		fmt.Sprintf("%s/%d/%d", host, dead.Process.Pid, 1):                      true,  // ended (its pid is not reused this soon)
		fmt.Sprintf("%s/%d/%d", host, self, processStart(self)+1):               true,  // pid reused by another process
		fmt.Sprintf("other-host/%d/%d", dead.Process.Pid, 1):                    false, // another machine's: cannot tell
		"garbage": false, host + "/x/1": false, host + "/0/1": false,
	} {
		if got := c.ownerGone(owner); got != gone {
			t.Errorf("ownerGone(%q) = %v, want %v", owner, got, gone)
		}
	}
	if h, pid, start, ok := parseOwner("a/b/12/34"); !ok || h != "a/b" || pid != 12 || start != 34 {
		t.Errorf("parseOwner: %q %d %d %v", h, pid, start, ok)
	}
}
