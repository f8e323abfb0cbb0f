package lattice

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Host is a wasmCloud host as its ping reply describes it (control interface v1).
type Host struct {
	ID            string            `json:"id"`
	FriendlyName  string            `json:"friendly_name"`
	Labels        map[string]string `json:"labels"`
	Version       string            `json:"version,omitempty"`
	Lattice       string            `json:"lattice,omitempty"`
	UptimeSeconds uint64            `json:"uptime_seconds"`
	UptimeHuman   string            `json:"uptime_human,omitempty"`
}

// HostsOptions bound how long Hosts gathers replies.
type HostsOptions struct {
	// Window is the longest Hosts waits; 0 means Options.PingWindow (by default
	// DefaultPingWindow, wasmCloud's 5 s).
	Window time.Duration
	// Quiet ends the gathering early once no reply came for this long after the last
	// one; 0 waits for the whole window.
	Quiet time.Duration
}

// Hosts pings every host of the lattice (wasmbus.ctl.v1.<lattice>.host.ping) and
// gathers the replies, sorted by friendly name and id. No host answering is not an
// error: the lattice may have none.
func (c *Client) Hosts(ctx context.Context, o HostsOptions) ([]Host, error) {
	if o.Window <= 0 {
		o.Window = c.opts.PingWindow
	}
	op := "host ping"
	if err := c.waitConnected(ctx, op); err != nil {
		return nil, err
	}
	inbox := c.nc.NewInbox()
	ch := make(chan *nats.Msg, 256)
	sub, err := c.nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return nil, fmt.Errorf("%s on lattice %q at %s: %w", op, c.opts.Lattice, c.url, err)
	}
	defer sub.Unsubscribe()
	subject := "wasmbus.ctl.v1." + c.opts.Lattice + ".host.ping"
	if err := c.nc.PublishRequest(subject, inbox, nil); err != nil {
		return nil, &LostError{URL: c.url, Op: op, Err: err}
	}
	window := time.NewTimer(o.Window)
	defer window.Stop()
	var quiet <-chan time.Time
	seen := map[string]bool{}
	var hosts []Host
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-window.C:
			return sortHosts(hosts), nil
		case <-quiet:
			return sortHosts(hosts), nil
		case m := <-ch:
			var reply struct {
				Success  bool   `json:"success"`
				Message  string `json:"message"`
				Response *Host  `json:"response"`
			}
			if json.Unmarshal(m.Data, &reply) != nil || !reply.Success || reply.Response == nil {
				continue
			}
			h := *reply.Response
			if h.ID == "" || seen[h.ID] {
				continue
			}
			seen[h.ID] = true
			if h.Labels == nil {
				h.Labels = map[string]string{}
			}
			hosts = append(hosts, h)
			if o.Quiet > 0 {
				quiet = time.After(o.Quiet)
			}
		}
	}
}

func sortHosts(hosts []Host) []Host {
	sort.Slice(hosts, func(i, j int) bool {
		if hosts[i].FriendlyName != hosts[j].FriendlyName {
			return hosts[i].FriendlyName < hosts[j].FriendlyName
		}
		return hosts[i].ID < hosts[j].ID
	})
	return hosts
}

// Carries reports whether some host has label key=value.
func Carries(hosts []Host, key, value string) bool {
	for _, h := range hosts {
		if v, ok := h.Labels[key]; ok && v == value {
			return true
		}
	}
	return false
}

// DescribeHosts lists hosts for a message: "edge-1 (host-type=edge, zone=a), cloud-1
// (host-type=cloud)"; "none" when empty.
func DescribeHosts(hosts []Host) string {
	if len(hosts) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(hosts))
	for _, h := range hosts {
		name := h.FriendlyName
		if name == "" {
			name = ShortID(h.ID)
		}
		parts = append(parts, name+" ("+FormatLabels(h.Labels)+")")
	}
	return strings.Join(parts, ", ")
}

// FormatLabels writes labels as "k=v, k=v", sorted by key; "no labels" when empty.
func FormatLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return "no labels"
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ", ")
}

// ShortID shortens a host id (an nkey of 56 characters) for tables.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12] + "…"
	}
	return id
}

// Unsatisfied is one spread that wadm could not place: no host matched its
// requirements.
type Unsatisfied struct {
	// Kind is "spread" (a component's spreadscaler) or "daemonscaler" (a provider's).
	Kind string
	// Spread is the spread's name (pelato names spreads after the target label).
	Spread string
	// Image is the OCI reference of what could not be placed.
	Image string
}

// wadm's messages for a spread no host satisfies (scaler/spreadscaler and
// scaler/daemonscaler of wadm 0.21):
//
//	Could not satisfy spread <name> for <image>, 0/1 eligible hosts found.
//	Could not satisfy daemonscaler <name> for <image>, 0 eligible hosts found.
var unsatisfiedRE = regexp.MustCompile(`Could not satisfy (spread|daemonscaler) (\S+) for (\S+), 0(?:/\d+)? eligible hosts found\.`)

// ParseUnsatisfied finds wadm's placement failures in a status message (several may
// be joined in one).
func ParseUnsatisfied(message string) []Unsatisfied {
	var out []Unsatisfied
	for _, m := range unsatisfiedRE.FindAllStringSubmatch(message, -1) {
		out = append(out, Unsatisfied{Kind: m[1], Spread: m[2], Image: m[3]})
	}
	return out
}
