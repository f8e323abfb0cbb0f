package latticetest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/wadm"
)

// Wadm is a test double of wadm 0.21 (wasmCloud 1.x) and of the hosts of its lattices,
// written from the facts in SPEC.md §7 and wadm's own sources (wadm-types api.rs,
// server/handlers.rs, the spread and daemon scalers). Tests reach it only through a
// real NATS server, as pelato reaches wadm.
//
// What it stands for:
//   - the application API on wadm.api.<lattice>.model.{put,get,versions,deploy,
//     undeploy,del,status} and the list form of model.get, with wadm's JSON bodies,
//     result strings and messages, and models kept per lattice;
//   - put: JSON when the Content-Type header says application/json (YAML otherwise),
//     decoded strictly (unknown keys are errors); the version annotation is required
//     to differ per put ("Manifest version X already exists"), "latest" is refused;
//     the first put answers "created", later ones "newversion";
//   - get returns the stored manifest re-encoded, as wadm's serde does: keys in
//     another order, empty maps and lists left out;
//   - deploy of a version (or the newest), refusing a component id that another
//     deployed application uses; undeploy; delete of one version or all ("noop" for
//     what is not there);
//   - status: "undeployed" for an unknown name (result "ok"), "reconciling" for
//     PlaceAfter after a deploy, then per scaler: a SpreadScaler per component spread
//     and a DaemonScaler per provider, "failed" with wadm's exact messages when no
//     host carries a spread's requirements ("Could not satisfy spread <s> for
//     <image>, 0/1 eligible hosts found."), else "deployed"; the application's status
//     is the scalers' sum by wadm's rules and its message their messages joined;
//     after a new version replaces a deployed one, the old status lingers for
//     StatusLag, as wadm's last published status does;
//   - the status stream, as wadm's StatusPublisher (workers/event_helpers.rs) sends
//     it: the application's status as wadm-types' Status serialises it
//     ({"status":{"type","message"},"scalers":[...],"version":"","components":[]})
//     published on wadm.status.<lattice>.<name> whenever it changes — on deploy,
//     when placement is decided, when a stale status ends, on undeploy and delete,
//     when a host joins — and not when it equals the last one published (wadm
//     compares with the stream's last message and skips a duplicate);
//   - hosts that answer wasmbus.ctl.v1.<lattice>.host.ping with their id, friendly
//     name, labels, version and uptime.
//
// What it leaves out: JetStream storage (models live in memory and survive a NATS
// restart, as wadm's KV bucket would; the status stream is a plain publish, which
// is what a core NATS subscriber of wadm.status.> sees),
// starting anything on a host (no components, providers, links, configs or secrets
// are created: placement is decided from labels alone), instance counts and weights,
// shared applications, policies, multitenant subject prefixes, the deprecated
// model.list subject, and the rest of the control interface.
type Wadm struct {
	nc   *nats.Conn
	opts WadmOptions

	mu       sync.Mutex
	lattices map[string]*latticeState
	requests []Request
	pings    int
	// published is the last status published per lattice and application.
	published map[string]string
}

// WadmOptions configure the double.
type WadmOptions struct {
	// PlaceAfter is how long a deployed application is "reconciling" before its
	// scalers are decided.
	PlaceAfter time.Duration
	// Silent makes the double receive every API request and never answer (a wadm that
	// hangs); host pings are still answered.
	Silent bool
	// StatusLag is how long, after a deploy replaces a deployed version, the status
	// still shows the old version's (wadm answers status from the last status message
	// its scalers published, until they have taken the new version up).
	StatusLag time.Duration
	// BeforeReply, when set, runs before each API request is answered, with the
	// operation ("model.put", ...) and the application name. Tests use it to hold a
	// reply or to restart the NATS server in the middle of an operation.
	BeforeReply func(op, name string)
	// NoStatusStream makes the double publish no status on wadm.status.<lattice>.<name>
	// (a wadm whose status publications do not reach the client): clients must poll.
	NoStatusStream bool
	// User and Password, or TLS, are how the double's connection authenticates.
	User, Password string
	TLSCA          string
	TLSCert        string
	TLSKey         string
}

// Request is one API request the double received, as it came over the wire.
type Request struct {
	Subject     string
	ContentType string
	Body        []byte
}

type latticeState struct {
	models map[string]*model
	hosts  []lattice.Host
}

type model struct {
	versions   []storedVersion
	deployed   string
	deployedAt time.Time
	undeployed bool // was deployed, then undeployed
	placeAfter time.Duration
	staleUntil time.Time         // until then status answers stale (StatusLag)
	stale      lattice.AppStatus // the status of the replaced version
}

type storedVersion struct {
	version  string
	manifest *wadm.Manifest
	raw      []byte // as wadm would send it back
}

// NewWadm connects the double to the NATS server at url; it stops when the test ends.
func NewWadm(t testing.TB, url string, o WadmOptions) *Wadm {
	t.Helper()
	w := &Wadm{opts: o, lattices: map[string]*latticeState{}, published: map[string]string{}}
	opts := []nats.Option{nats.Name("wadm double"), nats.ReconnectWait(50 * time.Millisecond), nats.MaxReconnects(-1)}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("wadm double: connect: %v", err)
	}
	w.nc = nc
	if _, err := nc.Subscribe("wadm.api.>", w.handleAPI); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Subscribe("wasmbus.ctl.v1.*.host.ping", w.handlePing); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return w
}

// WaitReady waits until the double is connected again (after a server restart) and
// its subscriptions are in place.
func (w *Wadm) WaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.nc.Status() != nats.CONNECTED || w.nc.FlushTimeout(time.Second) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("wadm double: not connected again after 10s (%v)", w.nc.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// AddHost adds a host to a lattice; it answers pings and satisfies spreads from now on.
func (w *Wadm) AddHost(latticeName string, h lattice.Host) {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.lattice(latticeName)
	if h.Lattice == "" {
		h.Lattice = latticeName
	}
	l.hosts = append(l.hosts, h)
	for name := range l.models {
		w.publishStatus(latticeName, name)
	}
}

// publishStatus publishes an application's status on the status stream when it
// differs from the last one published. The caller holds w.mu.
func (w *Wadm) publishStatus(latticeName, name string) {
	if w.opts.NoStatusStream {
		return
	}
	st := w.status(w.lattice(latticeName), name)
	body := map[string]any{"status": st.Info, "version": "", "components": []any{}}
	if len(st.Scalers) > 0 {
		body["scalers"] = st.Scalers
	}
	b, err := json.Marshal(body)
	if err != nil {
		return
	}
	key := latticeName + "\x00" + name
	if w.published[key] == string(b) {
		return
	}
	w.published[key] = string(b)
	_ = w.nc.Publish("wadm.status."+latticeName+"."+name, b)
}

// publishLater publishes an application's status again after d (when placement is
// decided or a stale status ends).
func (w *Wadm) publishLater(latticeName, name string, d time.Duration) {
	time.AfterFunc(d, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.publishStatus(latticeName, name)
	})
}

// Requests returns the API requests received so far, in order.
func (w *Wadm) Requests() []Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Request(nil), w.requests...)
}

// Pings returns how many host pings the hosts received.
func (w *Wadm) Pings() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pings
}

// ResetRequests forgets the recorded requests.
func (w *Wadm) ResetRequests() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests = nil
}

func (w *Wadm) lattice(name string) *latticeState {
	l := w.lattices[name]
	if l == nil {
		l = &latticeState{models: map[string]*model{}}
		w.lattices[name] = l
	}
	return l
}

// handlePing answers a host ping with one reply per host of the lattice.
func (w *Wadm) handlePing(m *nats.Msg) {
	parts := strings.Split(m.Subject, ".")
	w.mu.Lock()
	w.pings++
	hosts := append([]lattice.Host(nil), w.lattice(parts[3]).hosts...)
	w.mu.Unlock()
	for _, h := range hosts {
		b, _ := json.Marshal(map[string]any{"success": true, "message": "", "response": h})
		_ = m.Respond(b)
	}
}

// handleAPI answers one wadm API request.
func (w *Wadm) handleAPI(m *nats.Msg) {
	w.mu.Lock()
	w.requests = append(w.requests, Request{Subject: m.Subject, ContentType: m.Header.Get("Content-Type"), Body: append([]byte(nil), m.Data...)})
	w.mu.Unlock()
	if w.opts.Silent {
		return
	}
	// wadm.api.<lattice>.model.<op>[.<name>]
	parts := strings.Split(m.Subject, ".")
	if len(parts) < 5 || parts[3] != "model" || len(parts) > 6 {
		w.respond(m, errorReply(fmt.Sprintf("Unsupported subject: %s", m.Subject)))
		return
	}
	latticeName, op, name := parts[2], "model."+parts[4], ""
	if len(parts) == 6 {
		name = parts[5]
	}
	if w.opts.BeforeReply != nil {
		w.opts.BeforeReply(op, name)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.lattice(latticeName)
	var reply any
	switch {
	case op == "model.put" && name == "":
		reply = w.put(l, m)
	case op == "model.get" && name == "":
		reply = w.list(l)
	case op == "model.get":
		reply = w.get(l, name, m.Data)
	case op == "model.versions":
		reply = w.versions(l, name)
	case op == "model.deploy":
		reply = w.deploy(l, name, m.Data)
		if mod := l.models[name]; mod != nil && mod.deployed != "" {
			w.publishStatus(latticeName, name)
			if d := time.Until(mod.deployedAt.Add(mod.placeAfter)); d > 0 {
				w.publishLater(latticeName, name, d+time.Millisecond)
			}
			if d := time.Until(mod.staleUntil); d > 0 {
				w.publishLater(latticeName, name, d+time.Millisecond)
			}
		}
	case op == "model.undeploy":
		reply = w.undeploy(l, name)
		w.publishStatus(latticeName, name)
	case op == "model.del":
		reply = w.del(l, name, m.Data)
		w.publishStatus(latticeName, name)
	case op == "model.status":
		reply = map[string]any{"result": "ok", "message": "Successfully fetched status for application " + name, "status": w.status(l, name)}
	default:
		reply = errorReply(fmt.Sprintf("Unsupported subject: %s", m.Subject))
	}
	w.respond(m, reply)
}

func (w *Wadm) respond(m *nats.Msg, reply any) {
	b, err := json.Marshal(reply)
	if err != nil {
		b = []byte(`{"result":"error","message":"double: encode reply"}`)
	}
	_ = m.Respond(b)
}

func errorReply(msg string) map[string]any {
	return map[string]any{"result": "error", "message": msg}
}

var nameRE = regexp.MustCompile(`^[-\w]+$`)

func (w *Wadm) put(l *latticeState, m *nats.Msg) any {
	// wadm reads JSON when the Content-Type header says so, YAML otherwise (a JSON
	// body parses as YAML too).
	if strings.EqualFold(strings.TrimSpace(m.Header.Get("Content-Type")), "application/json") && !json.Valid(m.Data) {
		return errorReply("Unable to parse manifest: the body is not JSON")
	}
	man, err := wadm.Decode(m.Data)
	if err != nil {
		return errorReply(fmt.Sprintf("Unable to parse manifest: %v", err))
	}
	version := man.Metadata.Annotations[wadm.AnnotationVersion]
	if version == "latest" {
		return errorReply("invalid manifest version, errors: \"Version cannot be 'latest'\"")
	}
	for _, kind := range []struct {
		what string
		m    map[string]string
	}{{"label", man.Metadata.Labels}, {"annotation", man.Metadata.Annotations}} {
		for k, v := range kind.m {
			if !validOAMKey(k) {
				return errorReply(fmt.Sprintf("Invalid OAM %s: (%q, %q)", kind.what, k, v))
			}
		}
	}
	name := strings.TrimSpace(man.Metadata.Name)
	if !nameRE.MatchString(name) {
		return errorReply(fmt.Sprintf("Manifest name %s contains invalid characters. Manifest names can only contain alphanumeric characters, dashes, and underscores.", name))
	}
	mod := l.models[name]
	if mod == nil {
		mod = &model{}
	}
	if version == "" {
		version = "v" + strconv.Itoa(len(mod.versions)+1) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	for _, v := range mod.versions {
		if v.version == version {
			return errorReply(fmt.Sprintf("Manifest version %s already exists", version))
		}
	}
	raw, err := reencode(m.Data)
	if err != nil {
		return errorReply(fmt.Sprintf("Unable to parse manifest: %v", err))
	}
	mod.versions = append(mod.versions, storedVersion{version: version, manifest: man, raw: raw})
	l.models[name] = mod
	result := "created"
	if len(mod.versions) > 1 {
		result = "newversion"
	}
	return map[string]any{"result": result, "total_versions": len(mod.versions), "current_version": version,
		"message": fmt.Sprintf("Successfully put manifest %s %s", name, version), "name": name}
}

// validOAMKey applies wadm's valid_oam_label to a label or annotation key: an
// optional DNS-subdomain prefix and '/', then a name of at most 63 characters that
// starts and ends alphanumeric and holds only alphanumerics, '-', '_' and '.'.
func validOAMKey(key string) bool {
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	name := key
	if prefix, rest, ok := strings.Cut(key, "/"); ok {
		if prefix == "" || len(prefix) > 253 {
			return false
		}
		for _, part := range strings.Split(prefix, ".") {
			if part == "" || len(part) > 63 || !(part[0] >= 'a' && part[0] <= 'z' || part[0] >= 'A' && part[0] <= 'Z') || !alnum(part[len(part)-1]) {
				return false
			}
			for i := 0; i < len(part); i++ {
				if !alnum(part[i]) && part[i] != '-' {
					return false
				}
			}
		}
		name = rest
	}
	if name == "" || len(name) > 63 || !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !alnum(name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '.' {
			return false
		}
	}
	return true
}

// reencode writes a manifest the way wadm's serde would send it back: keys in Go's
// order (not the sender's), empty maps and lists dropped.
func reencode(data []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		// A YAML body: decode it as pelato's model, then encode.
		man, err := wadm.Decode(data)
		if err != nil {
			return nil, err
		}
		b, err := wadm.MarshalJSON(man)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, err
		}
	}
	return json.Marshal(dropEmpty(v))
}

func dropEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e = dropEmpty(e)
			switch y := e.(type) {
			case map[string]any:
				if len(y) == 0 {
					delete(x, k)
					continue
				}
			case []any:
				if len(y) == 0 {
					delete(x, k)
					continue
				}
			case nil:
				delete(x, k)
				continue
			}
			x[k] = e
		}
	case []any:
		for i := range x {
			x[i] = dropEmpty(x[i])
		}
	}
	return v
}

func versionOf(body []byte) (string, error) {
	if len(body) == 0 {
		return "", nil
	}
	var req struct {
		Version *string `json:"version"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return "", err
	}
	if req.Version == nil {
		return "", nil
	}
	return *req.Version, nil
}

func (mod *model) find(version string) *storedVersion {
	if version == "" || version == "latest" {
		return &mod.versions[len(mod.versions)-1]
	}
	for i := range mod.versions {
		if mod.versions[i].version == version {
			return &mod.versions[i]
		}
	}
	return nil
}

func (w *Wadm) get(l *latticeState, name string, body []byte) any {
	version, err := versionOf(body)
	if err != nil {
		return errorReply(fmt.Sprintf("Unable to parse get application request: %v", err))
	}
	mod := l.models[name]
	if mod == nil {
		return map[string]any{"result": "notfound", "message": fmt.Sprintf("Application with the name %s not found", name)}
	}
	v := mod.find(version)
	if v == nil {
		return map[string]any{"result": "notfound", "message": fmt.Sprintf("Application %s with version %s doesn't exist", name, version)}
	}
	return map[string]any{"result": "success", "message": "Successfully fetched application " + name, "manifest": json.RawMessage(v.raw)}
}

func (w *Wadm) versions(l *latticeState, name string) any {
	mod := l.models[name]
	if mod == nil {
		return map[string]any{"result": "notfound", "message": fmt.Sprintf("Application with the name %s not found", name), "versions": []any{}}
	}
	var out []lattice.VersionInfo
	for _, v := range mod.versions {
		out = append(out, lattice.VersionInfo{Version: v.version, Deployed: v.version == mod.deployed})
	}
	return map[string]any{"result": "success", "message": "Successfully fetched versions for application " + name, "versions": out}
}

// explicitIDs returns the component ids a manifest sets itself.
func explicitIDs(m *wadm.Manifest) []string {
	var ids []string
	for _, c := range m.Spec.Components {
		if c.Properties.ID != "" {
			ids = append(ids, c.Properties.ID)
		}
	}
	return ids
}

func (w *Wadm) deploy(l *latticeState, name string, body []byte) any {
	version, err := versionOf(body)
	if err != nil {
		return errorReply(fmt.Sprintf("Unable to parse deploy application request: %v", err))
	}
	mod := l.models[name]
	if mod == nil {
		return map[string]any{"result": "notfound", "message": fmt.Sprintf("Application with the name %s not found", name), "name": name}
	}
	v := mod.find(version)
	if v == nil {
		return map[string]any{"result": "error", "message": fmt.Sprintf("Application with the name '%s' does not have a version '%s' to deploy", name, version), "name": name, "version": version}
	}
	taken := map[string]string{}
	for other, om := range l.models {
		if other == name || om.deployed == "" {
			continue
		}
		for _, id := range explicitIDs(om.find(om.deployed).manifest) {
			taken[id] = other
		}
	}
	for _, id := range explicitIDs(v.manifest) {
		if app, ok := taken[id]; ok {
			return errorReply(fmt.Sprintf("Component identifier '%s' is already deployed in a different application '%s'.", id, app))
		}
	}
	if mod.deployed != "" && mod.deployed != v.version && w.opts.StatusLag > 0 {
		mod.stale, mod.staleUntil = w.status(l, name), time.Now().Add(w.opts.StatusLag)
	}
	if mod.deployed != v.version || mod.deployedAt.IsZero() {
		mod.deployedAt = time.Now().Add(w.opts.StatusLag)
	}
	mod.deployed, mod.undeployed, mod.placeAfter = v.version, false, w.opts.PlaceAfter
	return map[string]any{"result": "acknowledged", "message": fmt.Sprintf("Successfully deployed application %s %s", name, v.version), "name": name, "version": v.version}
}

func (w *Wadm) undeploy(l *latticeState, name string) any {
	mod := l.models[name]
	if mod == nil {
		return map[string]any{"result": "notfound", "message": fmt.Sprintf("Application with the name %s not found", name), "name": name}
	}
	msg := "Successfully undeployed application " + name
	if mod.deployed == "" {
		msg = fmt.Sprintf("Application %s was already undeployed", name)
	} else {
		mod.undeployed = true
	}
	mod.deployed, mod.deployedAt = "", time.Time{}
	return map[string]any{"result": "acknowledged", "message": msg, "name": name}
}

func (w *Wadm) del(l *latticeState, name string, body []byte) any {
	version, err := versionOf(body)
	if err != nil {
		return errorReply(fmt.Sprintf("Unable to parse delete application request: %v", err))
	}
	mod := l.models[name]
	if mod == nil {
		return map[string]any{"result": "noop", "message": fmt.Sprintf("Application %s doesn't exist or was already deleted", name), "undeploy": false}
	}
	if version == "" {
		delete(l.models, name)
		return map[string]any{"result": "deleted", "message": "Successfully deleted application " + name, "undeploy": true}
	}
	for i, v := range mod.versions {
		if v.version != version {
			continue
		}
		mod.versions = append(mod.versions[:i], mod.versions[i+1:]...)
		undeploy := mod.deployed == version
		if undeploy {
			mod.deployed, mod.deployedAt = "", time.Time{}
		}
		if len(mod.versions) == 0 {
			delete(l.models, name)
			return map[string]any{"result": "deleted", "message": "Successfully deleted last version of application " + name, "undeploy": true}
		}
		return map[string]any{"result": "deleted", "message": fmt.Sprintf("Successfully deleted version %s of application %s", version, name), "undeploy": undeploy}
	}
	return map[string]any{"result": "noop", "message": fmt.Sprintf("Application version %s doesn't exist", version), "undeploy": false}
}

// status computes an application's status as wadm's scalers would report it.
func (w *Wadm) status(l *latticeState, name string) lattice.AppStatus {
	mod := l.models[name]
	if mod == nil || mod.deployed == "" {
		if mod != nil && mod.undeployed {
			return lattice.AppStatus{Info: lattice.StatusInfo{Type: lattice.StatusUndeployed, Message: "Manifest has been undeployed"}}
		}
		return lattice.AppStatus{Info: lattice.StatusInfo{Type: lattice.StatusUndeployed}}
	}
	if time.Now().Before(mod.staleUntil) {
		return mod.stale
	}
	man := mod.find(mod.deployed).manifest
	placing := time.Since(mod.deployedAt) < mod.placeAfter
	var scalers []lattice.ScalerStatus
	for _, c := range man.Spec.Components {
		id := c.Properties.ID
		if id == "" {
			id = componentID(man.Metadata.Name, c.Name)
		}
		for _, t := range c.Traits {
			var s lattice.ScalerStatus
			switch {
			case t.Scaler != nil && t.Type == wadm.TraitSpreadScaler:
				s = lattice.ScalerStatus{ID: "spreadscaler-" + id, Kind: "SpreadScaler", Name: id,
					Status: placement(l.hosts, t.Scaler.Spread, "Could not satisfy spread %s for %s, 0/1 eligible hosts found.", c.Properties.Image)}
			case t.Scaler != nil && t.Type == wadm.TraitDaemonScaler:
				s = lattice.ScalerStatus{ID: "daemonscaler-" + id, Kind: "DaemonScaler", Name: id,
					Status: placement(l.hosts, t.Scaler.Spread, "Could not satisfy daemonscaler %s for %s, 0 eligible hosts found.", c.Properties.Image)}
			case t.Link != nil:
				s = lattice.ScalerStatus{ID: "linkscaler-" + id + "-" + t.Link.Target.Name, Kind: "LinkScaler",
					Name: fmt.Sprintf("%s -(%s:%s)-> %s", id, t.Link.Namespace, t.Link.Package, t.Link.Target.Name), Status: lattice.StatusInfo{Type: lattice.StatusDeployed}}
			default:
				continue
			}
			if placing {
				s.Status = lattice.StatusInfo{Type: lattice.StatusReconciling}
				if t.Scaler != nil {
					s.Status.Message = "Scaling component on 1 host(s)"
				}
			}
			scalers = append(scalers, s)
		}
	}
	var types []string
	var msgs []string
	for _, s := range scalers {
		types = append(types, s.Status.Type)
		if m := strings.TrimSpace(s.Status.Message); m != "" {
			msgs = append(msgs, m)
		}
	}
	return lattice.AppStatus{Info: lattice.StatusInfo{Type: sum(types), Message: strings.Join(msgs, ", ")}, Scalers: scalers}
}

// placement decides a scaler's status: failed for every spread no host satisfies.
func placement(hosts []lattice.Host, spreads []wadm.Spread, format, image string) lattice.StatusInfo {
	var failed []string
	for _, sp := range spreads {
		eligible := 0
		for _, h := range hosts {
			ok := true
			for k, v := range sp.Requirements {
				if h.Labels[k] != v {
					ok = false
				}
			}
			if ok {
				eligible++
			}
		}
		if eligible == 0 {
			failed = append(failed, fmt.Sprintf(format, sp.Name, image))
		}
	}
	if len(spreads) == 0 && len(hosts) == 0 {
		failed = append(failed, fmt.Sprintf(format, "default", image))
	}
	if len(failed) > 0 {
		return lattice.StatusInfo{Type: lattice.StatusFailed, Message: strings.Join(failed, " ")}
	}
	return lattice.StatusInfo{Type: lattice.StatusDeployed}
}

// sum aggregates status types by wadm's rules (StatusType's Add in wadm-types).
func sum(types []string) string {
	if len(types) == 0 {
		return lattice.StatusUndeployed
	}
	has := map[string]bool{}
	for _, t := range types {
		has[t] = true
	}
	for _, t := range []string{lattice.StatusFailed, lattice.StatusUndeployed, lattice.StatusWaiting, lattice.StatusReconciling, lattice.StatusUnhealthy} {
		if has[t] {
			return t
		}
	}
	return lattice.StatusDeployed
}

// componentID is wadm's default component id (scaler/convert.rs): the manifest and
// component names lowercased, every character but ASCII letters and digits replaced
// by '_', joined by '-'.
func componentID(app, component string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, strings.ToLower(s))
	}
	return clean(app) + "-" + clean(component)
}

func (w *Wadm) list(l *latticeState) any {
	names := make([]string, 0, len(l.models))
	for n := range l.models {
		names = append(names, n)
	}
	sort.Strings(names)
	models := []map[string]any{}
	for _, n := range names {
		mod := l.models[n]
		cur := mod.versions[len(mod.versions)-1]
		st := w.status(l, n)
		if mod.deployed == "" && !mod.undeployed {
			st = lattice.AppStatus{Info: lattice.StatusInfo{Type: lattice.StatusWaiting, Message: "Waiting for status: Lattice contains no hosts, deployment not started."}}
		}
		legacy := st.Info.Type
		if legacy == lattice.StatusWaiting {
			legacy = lattice.StatusUndeployed
		}
		entry := map[string]any{"name": n, "version": cur.version, "description": cur.manifest.Metadata.Annotations[wadm.AnnotationDescription],
			"detailed_status": st, "status": legacy, "status_message": st.Info.Message}
		if mod.deployed != "" {
			entry["deployed_version"] = mod.deployed
		}
		models = append(models, entry)
	}
	return map[string]any{"result": "success", "message": "Successfully fetched list of applications", "models": models}
}
