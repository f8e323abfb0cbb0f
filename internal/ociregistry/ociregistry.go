// Package ociregistry pushes WebAssembly components to OCI registries in the CNCF
// Wasm OCI artifact layout that `wash push` writes and wasmCloud 1.x hosts pull: an
// OCI image manifest whose config is application/vnd.wasm.config.v0+json (with the
// component's imports and exports) and whose one layer is the application/wasm
// component. It uses oras.land/oras-go/v2.
//
// Credentials come from the user's Docker configuration (credential helpers, the
// credential store, auths entries) first and from a user name and password given by
// the caller otherwise; they never appear in an error or a log line. Plain HTTP is
// used only for loopback registries or when asked (Insecure).
package ociregistry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// Media types of the CNCF Wasm OCI artifact layout.
const (
	MediaTypeConfig = "application/vnd.wasm.config.v0+json"
	MediaTypeWasm   = "application/wasm"
)

// Config is the artifact's config blob.
type Config struct {
	Created      string          `json:"created"`
	Architecture string          `json:"architecture"`
	OS           string          `json:"os"`
	LayerDigests []string        `json:"layerDigests"`
	Component    ComponentConfig `json:"component"`
}

// ComponentConfig lists a component's top-level exports and imports.
type ComponentConfig struct {
	Exports []string `json:"exports"`
	Imports []string `json:"imports"`
}

// Artifact is a component to push.
type Artifact struct {
	Wasm    []byte
	Imports []string
	Exports []string
	// Created is recorded in the config (the time the component was built).
	Created time.Time
}

// Options configure a Pusher.
type Options struct {
	// Insecure allows plain HTTP to any registry (loopback registries always use it).
	Insecure bool
	// Force replaces a tag that points at different content.
	Force bool
	// Username and Password are used when the Docker configuration has no credential
	// for the registry (REGISTRY_USER / REGISTRY_PASSWORD).
	Username, Password string
	// DockerConfig is the Docker config.json to read; "" means $DOCKER_CONFIG/config.json
	// or ~/.docker/config.json.
	DockerConfig string
	// HTTPClient is the HTTP client; nil means a retrying client with default TLS.
	HTTPClient *http.Client
}

// Result is the outcome of one push.
type Result struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
	// Unchanged is true when the tag already pointed at this component: nothing was
	// written.
	Unchanged bool `json:"unchanged"`
	// BlobsUploaded and BlobsSkipped count the blobs sent and those the registry had.
	BlobsUploaded int `json:"blobs_uploaded"`
	BlobsSkipped  int `json:"blobs_skipped"`
	// Credentials names where the credential came from (never the credential).
	Credentials string `json:"credentials"`
	Size        int64  `json:"size"`
}

// Pusher pushes components; it caches tokens between pushes and is safe for
// concurrent use.
type Pusher struct {
	opts   Options
	client *auth.Client
	store  credentials.Store
	cfg    dockerConfig
	cfgErr error

	mu      sync.Mutex
	sources map[string]string // host → credential source last used
}

// NewPusher returns a Pusher.
func NewPusher(opts Options) *Pusher {
	p := &Pusher{opts: opts, sources: map[string]string{}}
	path := opts.DockerConfig
	if path == "" {
		path = defaultDockerConfig()
	}
	if path != "" {
		if store, err := credentials.NewStore(path, credentials.StoreOptions{}); err == nil {
			p.store = store
			p.cfg, p.cfgErr = readDockerConfig(path)
		} else {
			p.cfgErr = fmt.Errorf("read Docker config %s: %w", path, err)
		}
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = retry.DefaultClient
	}
	p.client = &auth.Client{Client: hc, Cache: auth.NewCache(), Credential: p.credential,
		Header: http.Header{"User-Agent": {"pelato"}}}
	return p
}

func defaultDockerConfig() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".docker", "config.json")
}

// credential answers oras' request for a host's credential and remembers its source.
func (p *Pusher) credential(ctx context.Context, hostport string) (auth.Credential, error) {
	source := "no credentials (anonymous)"
	cred := auth.EmptyCredential
	var helperErr error
	if p.store != nil {
		c, err := p.store.Get(ctx, credentials.ServerAddressFromHostname(hostport))
		switch {
		case err != nil:
			helperErr = err
		case c != auth.EmptyCredential:
			cred, source = c, p.cfg.describe(hostport)
		}
	}
	if cred == auth.EmptyCredential && p.opts.Username != "" {
		cred = auth.Credential{Username: p.opts.Username, Password: p.opts.Password}
		source = "REGISTRY_USER/REGISTRY_PASSWORD"
	}
	if cred == auth.EmptyCredential && helperErr != nil {
		source = "no credentials (" + p.cfg.describe(hostport) + " failed: " + redact(helperErr.Error(), p.opts.Password) + ")"
	}
	p.mu.Lock()
	p.sources[hostport] = source
	p.mu.Unlock()
	return cred, nil
}

func (p *Pusher) source(host string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.sources[host]; ok {
		return s
	}
	return "no credentials (the registry asked for none)"
}

// Reference is where a component goes: <registry>/<repository>:<tag>.
type Reference struct {
	// Registry is host[:port] with an optional path prefix (REGISTRY_URL).
	Registry   string
	Repository string
	Tag        string
}

func (r Reference) String() string {
	return strings.TrimSuffix(r.Registry, "/") + "/" + r.Repository + ":" + r.Tag
}

// Host is the registry's host[:port].
func (r Reference) Host() string {
	h, _, _ := strings.Cut(strings.TrimSuffix(r.Registry, "/"), "/")
	return h
}

var tagRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// Validate checks the reference's parts.
func (r Reference) Validate() error {
	switch {
	case r.Registry == "":
		return errors.New("no registry: set REGISTRY_URL (host[:port][/path])")
	case strings.Contains(r.Registry, "://"):
		return fmt.Errorf("registry %q: give host[:port][/path] without a scheme (plain HTTP is used for loopback registries or with --insecure)", r.Registry)
	case r.Tag == "latest":
		return fmt.Errorf("%s: pelato never tags `latest`; give the task a version", r)
	case !tagRe.MatchString(r.Tag):
		return fmt.Errorf("%q is not a valid OCI tag", r.Tag)
	}
	return nil
}

// PlainHTTP reports whether host is spoken to over plain HTTP: loopback hosts
// (localhost, 127.0.0.0/8, ::1) always, others only when insecure.
func PlainHTTP(host string, insecure bool) bool {
	if insecure {
		return true
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// TagConflictError is returned when the tag already names different content.
type TagConflictError struct {
	Reference string
	Existing  string
}

func (e *TagConflictError) Error() string {
	return fmt.Sprintf("%s already exists with different content (%s); versions are immutable once deployed: raise the task's version, or push with --force to replace it", e.Reference, e.Existing)
}

// Push uploads art as ref. Blobs the registry has are not uploaded again; a tag
// already pointing at the same component is left alone (Result.Unchanged); a tag
// pointing at other content is refused with *TagConflictError unless Options.Force.
func (p *Pusher) Push(ctx context.Context, ref Reference, art Artifact) (*Result, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	res := &Result{Reference: ref.String()}
	repo, err := remote.NewRepository(strings.TrimSuffix(ref.Registry, "/") + "/" + ref.Repository)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	repo.PlainHTTP = PlainHTTP(ref.Host(), p.opts.Insecure)
	repo.Client = p.client
	fail := func(err error) (*Result, error) {
		res.Credentials = p.source(ref.Host())
		return nil, p.explain(ref, err)
	}

	layer := content.NewDescriptorFromBytes(MediaTypeWasm, art.Wasm)
	created := art.Created
	if created.IsZero() {
		created = time.Now()
	}
	cfg := Config{Created: created.UTC().Format(time.RFC3339), Architecture: "wasm", OS: "wasip2",
		LayerDigests: []string{layer.Digest.String()},
		Component:    ComponentConfig{Exports: nonNil(art.Exports), Imports: nonNil(art.Imports)}}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cfgDesc := content.NewDescriptorFromBytes(MediaTypeConfig, cfgJSON)
	man := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: cfgDesc, Layers: []ocispec.Descriptor{layer},
		Annotations: map[string]string{ocispec.AnnotationCreated: cfg.Created, ocispec.AnnotationVersion: ref.Tag}}
	manJSON, err := json.Marshal(man)
	if err != nil {
		return nil, err
	}
	manDesc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, manJSON)
	res.Digest = manDesc.Digest.String()
	res.Size = int64(len(art.Wasm))

	// What does the tag name now?
	if cur, err := repo.Resolve(ctx, ref.Tag); err == nil {
		same, err := p.sameComponent(ctx, repo, cur, layer.Digest)
		if err != nil {
			return fail(err)
		}
		if same {
			res.Unchanged, res.Digest = true, cur.Digest.String()
			res.Credentials = p.source(ref.Host())
			return res, nil
		}
		if !p.opts.Force {
			return nil, &TagConflictError{Reference: ref.String(), Existing: cur.Digest.String()}
		}
	} else if !errors.Is(err, errdef.ErrNotFound) {
		return fail(err)
	}
	for _, b := range []struct {
		desc ocispec.Descriptor
		data []byte
	}{{layer, art.Wasm}, {cfgDesc, cfgJSON}} {
		ok, err := repo.Exists(ctx, b.desc)
		if err != nil {
			return fail(err)
		}
		if ok {
			res.BlobsSkipped++
			continue
		}
		if err := repo.Push(ctx, b.desc, bytes.NewReader(b.data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return fail(err)
		}
		res.BlobsUploaded++
	}
	if err := repo.PushReference(ctx, manDesc, bytes.NewReader(manJSON), ref.Tag); err != nil {
		return fail(err)
	}
	res.Credentials = p.source(ref.Host())
	return res, nil
}

// sameComponent reports whether the manifest desc is a Wasm artifact whose one layer
// is the component with digest layer.
func (p *Pusher) sameComponent(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, layer digest.Digest) (bool, error) {
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return false, nil
	}
	rc, err := repo.Fetch(ctx, desc)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	var m ocispec.Manifest
	if err := json.NewDecoder(io.LimitReader(rc, 4<<20)).Decode(&m); err != nil {
		return false, nil
	}
	return len(m.Layers) == 1 && m.Layers[0].Digest == layer && m.Config.MediaType == MediaTypeConfig, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Fetch reads back the manifest and config of ref (tests and `pelato push` checks).
func (p *Pusher) Fetch(ctx context.Context, ref Reference) (ocispec.Manifest, Config, error) {
	var m ocispec.Manifest
	var cfg Config
	repo, err := remote.NewRepository(strings.TrimSuffix(ref.Registry, "/") + "/" + ref.Repository)
	if err != nil {
		return m, cfg, err
	}
	repo.PlainHTTP = PlainHTTP(ref.Host(), p.opts.Insecure)
	repo.Client = p.client
	_, rc, err := repo.FetchReference(ctx, ref.Tag)
	if err != nil {
		return m, cfg, p.explain(ref, err)
	}
	err = json.NewDecoder(rc).Decode(&m)
	rc.Close()
	if err != nil {
		return m, cfg, err
	}
	b, err := content.FetchAll(ctx, repo, m.Config)
	if err != nil {
		return m, cfg, p.explain(ref, err)
	}
	return m, cfg, json.Unmarshal(b, &cfg)
}

// AuthError reports a registry refusing access.
type AuthError struct {
	Reference string
	Status    int
	Source    string
	Err       error
}

func (e *AuthError) Error() string {
	host := Reference{Registry: e.Reference}.Host()
	if e.Status == http.StatusForbidden {
		return fmt.Sprintf("%s: the registry refused the push (403 Forbidden) with credentials from %s: that account may not push to this repository", e.Reference, e.Source)
	}
	if strings.HasPrefix(e.Source, "no credentials") {
		return fmt.Sprintf("%s: the registry requires credentials (401 Unauthorized) and none were found (tried: Docker config, REGISTRY_USER/REGISTRY_PASSWORD; %s): run `docker login %s` or set REGISTRY_USER and REGISTRY_PASSWORD", e.Reference, e.Source, host)
	}
	return fmt.Sprintf("%s: the registry rejected the credentials from %s (401 Unauthorized): check them (docker login %s, or REGISTRY_USER/REGISTRY_PASSWORD)", e.Reference, e.Source, host)
}

func (e *AuthError) Unwrap() error { return e.Err }

// UnreachableError reports a registry that cannot be reached.
type UnreachableError struct {
	Reference string
	Cause     string
	Err       error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%s: cannot reach the registry: %s (is it running, and is REGISTRY_URL right?)", e.Reference, e.Cause)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// TLSError reports a failed TLS connection to a registry.
type TLSError struct {
	Reference string
	Cause     string
	Err       error
}

func (e *TLSError) Error() string {
	return fmt.Sprintf("%s: TLS connection to the registry failed: %s (a registry with a private CA needs that CA in the system's trust store; one serving plain HTTP needs --insecure)", e.Reference, e.Cause)
}

func (e *TLSError) Unwrap() error { return e.Err }

// explain turns an oras or network error into one that says what to do, with no
// secret in it.
func (p *Pusher) explain(ref Reference, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	r := ref.String()
	var er *errcode.ErrorResponse
	if errors.As(err, &er) && (er.StatusCode == http.StatusUnauthorized || er.StatusCode == http.StatusForbidden) {
		return &AuthError{Reference: r, Status: er.StatusCode, Source: p.source(ref.Host()), Err: err}
	}
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return &AuthError{Reference: r, Status: http.StatusUnauthorized, Source: p.source(ref.Host()), Err: err}
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return &TLSError{Reference: r, Cause: redact(rootCause(err), p.opts.Password), Err: err}
	case errors.As(err, &recErr):
		return &TLSError{Reference: r, Cause: "the server did not answer in TLS (it may serve plain HTTP)", Err: err}
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &UnreachableError{Reference: r, Cause: "unknown host " + dnsErr.Name, Err: err}
	}
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return &UnreachableError{Reference: r, Cause: redact(rootCause(err), p.opts.Password), Err: err}
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return &TLSError{Reference: r, Cause: "the registry serves plain HTTP", Err: err}
	}
	return fmt.Errorf("%s: %s", r, redact(err.Error(), p.opts.Password))
}

// rootCause is the innermost error's message.
func rootCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// redact removes a secret from a message.
func redact(msg, secret string) string {
	if secret == "" {
		return msg
	}
	return strings.ReplaceAll(msg, secret, "********")
}
