// Package lattice talks to a wasmCloud 1.x lattice over NATS: the wadm application API
// (put, deploy, undeploy, delete, status, get, versions, list; wadm 0.21) and the host
// ping of the control interface v1. It holds no manifest model (internal/wadm does) and
// no pipeline logic (internal/pipeline does): it sends requests, decodes replies, and
// turns transport failures into errors that say what to do.
//
// Every request carries the caller's context and a per-request time-out. A request cut
// by a lost connection is retried once the connection is back (nats.go reconnects on
// its own), within the caller's context; wadm's operations are safe to repeat, and a
// repeated put of a stored version is answered as such (see IsVersionExists).
package lattice

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/userfile"
)

// DefaultLattice is the lattice wasmCloud and wadm use unless told otherwise.
const DefaultLattice = "default"

// DefaultTimeout bounds one request unless Options.Timeout says otherwise.
const DefaultTimeout = 5 * time.Second

// maxAttempts bounds how often a request cut by a lost connection is sent.
const maxAttempts = 4

// Options are the connection settings of a lattice (see config.NATS).
type Options struct {
	// URL is one NATS URL or several, comma-separated; "" means nats://localhost:4222.
	URL string
	// Lattice is the lattice name; "" means DefaultLattice.
	Lattice string
	// Creds is a NATS credentials file (JWT and nkey seed).
	Creds string
	// User and Password authenticate with a user name.
	User, Password string
	// Token authenticates with a token.
	Token string
	// TLSCA is a PEM file of CA certificates that verify the server.
	TLSCA string
	// TLSCert and TLSKey are a PEM client certificate and its key.
	TLSCert, TLSKey string
	// Timeout bounds one request and the dial; 0 means DefaultTimeout.
	Timeout time.Duration
	// ReconnectWait is the pause between reconnect attempts; 0 means 250ms.
	ReconnectWait time.Duration
	// Name is the connection name shown by the server; "" means "pelato".
	Name string
	// tlsConfig, when set, is used as it is (tests).
	tlsConfig *tls.Config
}

// FromConfig returns the connection settings of cfg.
func FromConfig(cfg *config.Config) Options {
	n := cfg.NATS()
	return Options{URL: n.URL, Lattice: n.Lattice, Creds: n.Creds, User: n.User, Password: n.Password, Token: n.Token,
		TLSCA: n.TLSCA, TLSCert: n.TLSCert, TLSKey: n.TLSKey, Timeout: n.Timeout}
}

func (o Options) withDefaults() Options {
	if strings.TrimSpace(o.URL) == "" {
		o.URL = nats.DefaultURL
	}
	if o.Lattice == "" {
		o.Lattice = DefaultLattice
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = 250 * time.Millisecond
	}
	if o.Name == "" {
		o.Name = "pelato"
	}
	return o
}

// Client is a connection to one lattice. It is safe for concurrent use.
type Client struct {
	nc   *nats.Conn
	opts Options
	url  string // Options.URL without credentials, for messages

	mu         sync.Mutex
	inflight   map[*context.CancelCauseFunc]struct{}
	reconnects int
	lastUp     time.Time // when the connection last came back
}

// Connect dials the lattice's NATS server. Errors say which server and what to fix:
// unreachable, refused credentials, or a TLS problem.
func Connect(ctx context.Context, o Options) (*Client, error) {
	o = o.withDefaults()
	c := &Client{opts: o, url: config.RedactURL(o.URL), inflight: map[*context.CancelCauseFunc]struct{}{}}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.Timeout(o.Timeout),
		nats.ReconnectWait(o.ReconnectWait),
		nats.ReconnectJitter(50*time.Millisecond, 100*time.Millisecond),
		nats.MaxReconnects(-1),
		// Publishing while reconnecting fails at once instead of being buffered: the
		// request is then sent again after the reconnect, with a fresh time-out.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { c.disconnected() }),
		nats.ReconnectHandler(func(*nats.Conn) { c.reconnected() }),
		nats.NoCallbacksAfterClientClose(),
	}
	secrets, err := secretOptions(o)
	if err != nil {
		return nil, &ConnectError{URL: c.url, Err: err, Reason: "a credentials or certificate file cannot be used",
			Fix: "point NATS_CREDS, NATS_TLS_CA, NATS_TLS_CERT and NATS_TLS_KEY at regular files of the right kind"}
	}
	opts = append(opts, secrets...)
	switch {
	case o.Creds != "":
	case o.Token != "":
		opts = append(opts, nats.Token(o.Token))
	case o.User != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(o.URL, opts...)
		done <- result{nc, err}
	}()
	select {
	case <-ctx.Done():
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, ctx.Err()
	case r := <-done:
		if r.err != nil {
			return nil, connectError(c.url, o, r.err)
		}
		c.nc = r.nc
	}
	return c, nil
}

// Caps of the files the connection settings name: a credentials file is a JWT and a
// seed (about 1 KiB); a PEM bundle of CA certificates is rarely above 300 KiB.
const (
	maxCredsSize = 64 << 10
	maxPEMSize   = 4 << 20
)

// secretOptions reads the credentials file and the TLS files of o — with the bounded
// regular-file reader every file pelato is given goes through (a FIFO, a device such
// as /dev/zero or a huge file is refused before anything is read) — and hands their
// bytes to nats.go, which would otherwise read the paths itself, without bound, on
// every (re)connect.
func secretOptions(o Options) ([]nats.Option, error) {
	var opts []nats.Option
	if o.Creds != "" {
		creds, err := readSetting("NATS_CREDS", o.Creds, maxCredsSize)
		if err != nil {
			return nil, err
		}
		if _, err := nkeys.ParseDecoratedJWT(creds); err != nil {
			return nil, fmt.Errorf("NATS_CREDS: %s holds no user JWT (%v): expected a .creds file as `nsc generate creds` writes it", o.Creds, err)
		}
		kp, err := nkeys.ParseDecoratedNKey(creds)
		if err != nil {
			return nil, fmt.Errorf("NATS_CREDS: %s holds no nkey seed (%v): expected a .creds file as `nsc generate creds` writes it", o.Creds, err)
		}
		kp.Wipe()
		opts = append(opts, nats.UserCredentialBytes(creds))
	}
	if o.tlsConfig == nil && o.TLSCA == "" && o.TLSCert == "" && o.TLSKey == "" {
		return opts, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.tlsConfig != nil {
		cfg = o.tlsConfig.Clone()
	}
	if o.TLSCA != "" {
		pem, err := readSetting("NATS_TLS_CA", o.TLSCA, maxPEMSize)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("NATS_TLS_CA: %s holds no PEM certificate", o.TLSCA)
		}
		cfg.RootCAs = pool
	}
	if o.TLSCert != "" || o.TLSKey != "" {
		cert, err := readSetting("NATS_TLS_CERT", o.TLSCert, maxPEMSize)
		if err != nil {
			return nil, err
		}
		key, err := readSetting("NATS_TLS_KEY", o.TLSKey, maxPEMSize)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("NATS_TLS_CERT %s and NATS_TLS_KEY %s are not a PEM certificate and its key: %v", o.TLSCert, o.TLSKey, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return append(opts, nats.Secure(cfg)), nil
}

// readSetting reads the file a setting names (a leading ~ is the home folder, as
// nats.go reads it) with the bounded regular-file reader.
func readSetting(name, path string, limit int64) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("%s is not set", name)
	}
	full := path
	if rest, ok := strings.CutPrefix(path, "~"); ok && (rest == "" || rest[0] == '/') {
		if home, err := os.UserHomeDir(); err == nil {
			full = filepath.Join(home, rest)
		}
	}
	data, err := userfile.Read(full, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, nil
}

// connectError explains a failed dial.
func connectError(u string, o Options, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(msg), "authorization violation") ||
		strings.Contains(strings.ToLower(msg), "authentication"):
		how := "it needs credentials: set NATS_USER and NATS_PASSWORD, NATS_TOKEN or NATS_CREDS"
		switch {
		case o.Creds != "":
			how = "check the credentials file NATS_CREDS (" + o.Creds + ")"
		case o.Token != "":
			how = "check NATS_TOKEN"
		case o.User != "":
			how = "check NATS_USER (" + o.User + ") and NATS_PASSWORD"
		}
		return &ConnectError{URL: u, Err: err, Reason: "the server refused the credentials", Fix: how}
	case strings.Contains(msg, "tls") || strings.Contains(msg, "x509") || strings.Contains(msg, "certificate") ||
		errors.Is(err, nats.ErrSecureConnRequired) || errors.Is(err, nats.ErrSecureConnWanted):
		return &ConnectError{URL: u, Err: err, Reason: "TLS failed", Fix: "check the URL scheme (tls://), NATS_TLS_CA, NATS_TLS_CERT and NATS_TLS_KEY"}
	case strings.Contains(msg, "open ") || strings.Contains(msg, "no such file"):
		return &ConnectError{URL: u, Err: err, Reason: "a credentials or certificate file cannot be read", Fix: "check NATS_CREDS, NATS_TLS_CA, NATS_TLS_CERT and NATS_TLS_KEY"}
	}
	return &ConnectError{URL: u, Err: err, Reason: "cannot reach the server", Fix: "start it, or set NATS_URL (or NATS_HOST and NATS_PORT) to the lattice's NATS server"}
}

// Close closes the connection.
func (c *Client) Close() {
	if c != nil && c.nc != nil {
		c.nc.Close()
	}
}

// Lattice returns the lattice name.
func (c *Client) Lattice() string { return c.opts.Lattice }

// URL returns the server URL(s), without credentials.
func (c *Client) URL() string { return c.url }

// Timeout returns the per-request time-out.
func (c *Client) Timeout() time.Duration { return c.opts.Timeout }

// disconnected cuts every request in flight: its reply would be lost. The request is
// sent again once the connection is back.
func (c *Client) disconnected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cancel := range c.inflight {
		(*cancel)(errDisconnected)
	}
}

func (c *Client) reconnected() {
	c.mu.Lock()
	c.reconnects++
	c.lastUp = time.Now()
	c.mu.Unlock()
}

// recentlyReconnected reports whether the connection came back a moment ago, when
// subscribers of other clients (wadm) may not have resubscribed yet.
func (c *Client) recentlyReconnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reconnects > 0 && time.Since(c.lastUp) < 5*c.opts.ReconnectWait+2*time.Second
}

var errDisconnected = errors.New("the connection to NATS was lost")

// waitConnected waits until the connection is up (it may be reconnecting), for at
// most the request time-out.
func (c *Client) waitConnected(ctx context.Context, op string) error {
	deadline := time.Now().Add(c.opts.Timeout)
	for {
		switch c.nc.Status() {
		case nats.CONNECTED:
			return nil
		case nats.CLOSED:
			return &LostError{URL: c.url, Op: op, Err: nats.ErrConnectionClosed}
		}
		if time.Now().After(deadline) {
			return &LostError{URL: c.url, Op: op, Err: fmt.Errorf("the server did not come back within %s", c.opts.Timeout)}
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// request sends one request and returns the reply body. op names the operation in
// errors ("model.put temp_filter").
func (c *Client) request(ctx context.Context, op, subject string, hdr nats.Header, body []byte) ([]byte, error) {
	var last error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := c.waitConnected(ctx, op); err != nil {
			return nil, err
		}
		rctx, cancel := context.WithCancelCause(ctx)
		tctx, stop := context.WithTimeoutCause(rctx, c.opts.Timeout, errRequestTimeout)
		c.mu.Lock()
		c.inflight[&cancel] = struct{}{}
		c.mu.Unlock()
		msg, err := c.nc.RequestMsgWithContext(tctx, &nats.Msg{Subject: subject, Header: hdr, Data: body})
		cause := context.Cause(tctx)
		c.mu.Lock()
		delete(c.inflight, &cancel)
		c.mu.Unlock()
		stop()
		cancel(nil)
		switch {
		case err == nil:
			return msg.Data, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, nats.ErrNoResponders):
			if c.recentlyReconnected() && attempt < maxAttempts*3 {
				// wadm resubscribes after a server restart a moment after we do.
				if err := sleep(ctx, 100*time.Millisecond); err != nil {
					return nil, err
				}
				continue
			}
			return nil, &NoWadmError{Lattice: c.opts.Lattice, URL: c.url, Subject: subject}
		case errors.Is(cause, errDisconnected) || errors.Is(err, nats.ErrReconnectBufExceeded) ||
			errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrConnectionReconnecting):
			last = err
			if errors.Is(cause, errDisconnected) {
				last = errDisconnected
			}
			if attempt >= maxAttempts {
				return nil, &LostError{URL: c.url, Op: op, Err: last}
			}
			continue
		case errors.Is(cause, errRequestTimeout) || errors.Is(err, nats.ErrTimeout):
			return nil, &TimeoutError{Lattice: c.opts.Lattice, URL: c.url, Op: op, After: c.opts.Timeout}
		case errors.Is(err, nats.ErrConnectionClosed):
			return nil, &LostError{URL: c.url, Op: op, Err: err}
		default:
			return nil, fmt.Errorf("%s on lattice %q at %s: %w", op, c.opts.Lattice, c.url, err)
		}
	}
}

var errRequestTimeout = errors.New("request timed out")

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ConnectError is a failed dial of the NATS server.
type ConnectError struct {
	URL    string
	Reason string
	Fix    string
	Err    error
}

// Error implements error.
func (e *ConnectError) Error() string {
	// nats.go's errors may quote the URL it was given: redact the whole message.
	return config.RedactURL(fmt.Sprintf("NATS at %s: %s (%v); %s", e.URL, e.Reason, e.Err, e.Fix))
}

// Unwrap returns the underlying error.
func (e *ConnectError) Unwrap() error { return e.Err }

// NoWadmError means nobody answered a wadm API request: no wadm listens on the lattice.
type NoWadmError struct {
	Lattice string
	URL     string
	Subject string
}

// Error implements error.
func (e *NoWadmError) Error() string {
	return fmt.Sprintf("no wadm is listening on lattice %q at %s (no responders on %s): start wadm for this lattice (`wash up` starts one), or set WASMCLOUD_LATTICE and NATS_URL to the lattice you mean", e.Lattice, e.URL, e.Subject)
}

// TimeoutError means wadm (something listening on its subjects) did not answer in time.
type TimeoutError struct {
	Lattice string
	URL     string
	Op      string
	After   time.Duration
}

// Error implements error.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("wadm on lattice %q at %s did not answer %s within %s: it may be overloaded or stuck (see its log); raise NATS_TIMEOUT if it is only slow", e.Lattice, e.URL, e.Op, e.After)
}

// LostError means the connection to NATS went away during an operation and did not
// come back in time (or was closed).
type LostError struct {
	URL string
	Op  string
	Err error
}

// Error implements error.
func (e *LostError) Error() string {
	return fmt.Sprintf("lost the connection to NATS at %s during %s (%v); run the command again when the server is back: it picks up where it stopped", e.URL, e.Op, e.Err)
}

// Unwrap returns the underlying error.
func (e *LostError) Unwrap() error { return e.Err }

// IsUnavailable reports whether err means the lattice cannot be used at all (no
// server, refused credentials, no wadm, connection lost): every further request would
// fail the same way.
func IsUnavailable(err error) bool {
	var ce *ConnectError
	var nw *NoWadmError
	var le *LostError
	return errors.As(err, &ce) || errors.As(err, &nw) || errors.As(err, &le)
}
