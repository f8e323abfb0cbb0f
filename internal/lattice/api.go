package lattice

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
)

// Results of the wadm API (the `result` of a reply).
const (
	ResultError        = "error"
	ResultCreated      = "created"
	ResultNewVersion   = "newversion"
	ResultAcknowledged = "acknowledged"
	ResultNotFound     = "notfound"
	ResultDeleted      = "deleted"
	ResultNoop         = "noop"
	ResultSuccess      = "success"
	ResultOK           = "ok"
)

// Status types of an application and of its scalers.
const (
	StatusWaiting     = "waiting"
	StatusUndeployed  = "undeployed"
	StatusReconciling = "reconciling"
	StatusDeployed    = "deployed"
	StatusFailed      = "failed"
	StatusUnhealthy   = "unhealthy"
)

// PutReply answers model.put.
type PutReply struct {
	Result         string `json:"result"`
	Message        string `json:"message"`
	Name           string `json:"name,omitempty"`
	CurrentVersion string `json:"current_version,omitempty"`
	TotalVersions  int    `json:"total_versions,omitempty"`
}

// DeployReply answers model.deploy and model.undeploy.
type DeployReply struct {
	Result  string `json:"result"`
	Message string `json:"message"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// DeleteReply answers model.del.
type DeleteReply struct {
	Result   string `json:"result"`
	Message  string `json:"message"`
	Undeploy bool   `json:"undeploy,omitempty"`
}

// StatusInfo is a status type and its message.
type StatusInfo struct {
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
}

// ScalerStatus is the status of one scaler of an application.
type ScalerStatus struct {
	ID     string     `json:"id"`
	Kind   string     `json:"kind"`
	Name   string     `json:"name"`
	Status StatusInfo `json:"status"`
}

// AppStatus is the detailed status of an application.
type AppStatus struct {
	Info    StatusInfo     `json:"status"`
	Scalers []ScalerStatus `json:"scalers,omitempty"`
}

// StatusReply answers model.status.
type StatusReply struct {
	Result  string     `json:"result"`
	Message string     `json:"message"`
	Status  *AppStatus `json:"status,omitempty"`
}

// GetReply answers model.get of one application.
type GetReply struct {
	Result   string          `json:"result"`
	Message  string          `json:"message"`
	Manifest json.RawMessage `json:"manifest,omitempty"`
}

// VersionInfo is one stored version of an application.
type VersionInfo struct {
	Version  string `json:"version"`
	Deployed bool   `json:"deployed"`
}

// VersionsReply answers model.versions.
type VersionsReply struct {
	Result   string        `json:"result"`
	Message  string        `json:"message"`
	Versions []VersionInfo `json:"versions"`
}

// ModelSummary is one application of model.get's list form.
type ModelSummary struct {
	Name            string     `json:"name"`
	Version         string     `json:"version"`
	Description     string     `json:"description,omitempty"`
	DeployedVersion string     `json:"deployed_version,omitempty"`
	DetailedStatus  *AppStatus `json:"detailed_status,omitempty"`
	// Status is the older, summary status type (wadm < 0.14 clients); DetailedStatus
	// is preferred when present.
	Status        string `json:"status,omitempty"`
	StatusMessage string `json:"status_message,omitempty"`
}

// Info returns the summary's status, from the detailed status when wadm sent it.
func (m ModelSummary) Info() (StatusInfo, []ScalerStatus) {
	if m.DetailedStatus != nil && m.DetailedStatus.Info.Type != "" {
		return m.DetailedStatus.Info, m.DetailedStatus.Scalers
	}
	return StatusInfo{Type: m.Status, Message: m.StatusMessage}, nil
}

// ListReply answers model.get without a name: every application of the lattice.
type ListReply struct {
	Result  string         `json:"result"`
	Message string         `json:"message"`
	Models  []ModelSummary `json:"models"`
}

// APIError is a reply whose result is "error".
type APIError struct {
	Op      string
	Lattice string
	Message string
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("wadm on lattice %q refused %s: %s", e.Lattice, e.Op, e.Message)
}

// IsVersionExists reports whether err is wadm refusing a put because that version of
// the application is already stored.
func IsVersionExists(err error) bool {
	ae, ok := err.(*APIError)
	return ok && strings.Contains(ae.Message, "already exists")
}

// subject returns wadm's API subject for op (and an application name).
func (c *Client) subject(op string, name ...string) string {
	s := "wadm.api." + c.opts.Lattice + "." + op
	for _, n := range name {
		s += "." + n
	}
	return s
}

// call sends a request and decodes the reply into out (see decodeReply).
func (c *Client) call(ctx context.Context, op, subject string, hdr nats.Header, body []byte, out any) error {
	data, err := c.request(ctx, op, subject, hdr, body)
	if err != nil {
		return err
	}
	return decodeReply(op, c.opts.Lattice, data, out)
}

// decodeReply decodes a wadm reply into out, which must have Result and Message
// fields; a reply whose result is "error" becomes an *APIError, and a body that is not
// wadm's JSON an error quoting its start.
func decodeReply(op, lat string, data []byte, out any) error {
	var head struct {
		Result  string `json:"result"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("%s on lattice %q: the reply is not wadm's JSON (%v): %.200q", op, lat, err, data)
	}
	if head.Result == ResultError {
		return &APIError{Op: op, Lattice: lat, Message: head.Message}
	}
	if head.Result == "" {
		return fmt.Errorf("%s on lattice %q: the reply has no result: %.200q", op, lat, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s on lattice %q: cannot read the reply (%v): %.200q", op, lat, err, data)
	}
	return nil
}

// checkName refuses names that are not one subject token (wadm's ^[-\w]+$ is stricter).
func checkName(name string) error {
	if name == "" || strings.ContainsAny(name, ".*> \t\r\n") {
		return fmt.Errorf("%q is not an application name (letters, digits, '-' and '_' only)", name)
	}
	return nil
}

// Put stores a manifest (JSON, as wadm.MarshalJSON writes it) as a new version.
func (c *Client) Put(ctx context.Context, name string, manifestJSON []byte) (*PutReply, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	hdr := nats.Header{}
	hdr.Set("Content-Type", "application/json")
	var r PutReply
	if err := c.call(ctx, "model.put "+name, c.subject("model.put"), hdr, manifestJSON, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Deploy deploys version of the application name.
func (c *Client) Deploy(ctx context.Context, name, version string) (*DeployReply, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	body := versionBody(version)
	var r DeployReply
	if err := c.call(ctx, "model.deploy "+name, c.subject("model.deploy", name), nil, body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Undeploy undeploys the application name (its versions stay stored).
func (c *Client) Undeploy(ctx context.Context, name string) (*DeployReply, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var r DeployReply
	if err := c.call(ctx, "model.undeploy "+name, c.subject("model.undeploy", name), nil, []byte("{}"), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Delete deletes one version of the application name, or every version when version
// is "" (which also undeploys it).
func (c *Client) Delete(ctx context.Context, name, version string) (*DeleteReply, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	body := versionBody(version)
	var r DeleteReply
	if err := c.call(ctx, "model.del "+name, c.subject("model.del", name), nil, body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Status returns the status of the application name. wadm answers an unknown name
// with result "ok" and type "undeployed".
func (c *Client) Status(ctx context.Context, name string) (*StatusReply, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var r StatusReply
	if err := c.call(ctx, "model.status "+name, c.subject("model.status", name), nil, nil, &r); err != nil {
		return nil, err
	}
	if r.Status == nil {
		r.Status = &AppStatus{Info: StatusInfo{Type: StatusUndeployed}}
	}
	return &r, nil
}

// Get returns the stored manifest of version of the application name ("" means the
// newest). An unknown name or version is Result "notfound", not an error.
func (c *Client) Get(ctx context.Context, name, version string) (*GetReply, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	body := versionBody(version)
	var r GetReply
	if err := c.call(ctx, "model.get "+name, c.subject("model.get", name), nil, body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Versions lists the stored versions of the application name.
func (c *Client) Versions(ctx context.Context, name string) (*VersionsReply, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var r VersionsReply
	if err := c.call(ctx, "model.versions "+name, c.subject("model.versions", name), nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// List returns every application stored in the lattice.
func (c *Client) List(ctx context.Context) (*ListReply, error) {
	var r ListReply
	if err := c.call(ctx, "model.get (list)", c.subject("model.get"), nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// versionBody is the body of a request about one version: {"version":"<v>"}, or {}
// (every version, or the newest) when version is "".
func versionBody(version string) []byte {
	if version == "" {
		return []byte("{}")
	}
	b, _ := json.Marshal(struct {
		Version string `json:"version"`
	}{version}) // a struct of one string always marshals
	return b
}

// StatusWatch receives the statuses wadm publishes on wadm.status.<lattice>.<name>
// (wadm's StatusPublisher: the application's status as model.status carries it, sent
// each time it changes — not again when it did not). It keeps the latest status of
// each watched application until Take, so a burst of updates costs nothing and none
// is lost. It is safe for concurrent use.
type StatusWatch struct {
	sub    *nats.Subscription
	names  map[string]bool
	mu     sync.Mutex
	latest map[string]AppStatus
	ready  chan struct{}
}

// WatchStatus subscribes to the published status of the applications names; the
// subscription is in place on the server when it returns, so a status published
// after a later deploy request is not missed. Stop ends it.
func (c *Client) WatchStatus(ctx context.Context, names []string) (*StatusWatch, error) {
	w := &StatusWatch{names: map[string]bool{}, latest: map[string]AppStatus{}, ready: make(chan struct{}, 1)}
	for _, n := range names {
		w.names[n] = true
	}
	prefix := "wadm.status." + c.opts.Lattice + "."
	sub, err := c.nc.Subscribe(prefix+"*", func(m *nats.Msg) {
		name := strings.TrimPrefix(m.Subject, prefix)
		if !w.names[name] {
			return
		}
		var st AppStatus
		if json.Unmarshal(m.Data, &st) != nil || st.Info.Type == "" {
			return
		}
		w.mu.Lock()
		w.latest[name] = st
		w.mu.Unlock()
		select {
		case w.ready <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to wadm's status on lattice %q: %w", c.opts.Lattice, err)
	}
	fctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	if err := c.nc.FlushWithContext(fctx); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribe to wadm's status on lattice %q: %w", c.opts.Lattice, err)
	}
	w.sub = sub
	return w, nil
}

// Ready is signalled when a status arrived since the last Take.
func (w *StatusWatch) Ready() <-chan struct{} { return w.ready }

// Take returns the latest status of each application published since the last Take.
func (w *StatusWatch) Take() map[string]AppStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.latest
	w.latest = map[string]AppStatus{}
	return out
}

// Stop ends the subscription.
func (w *StatusWatch) Stop() {
	if w != nil && w.sub != nil {
		_ = w.sub.Unsubscribe()
	}
}
