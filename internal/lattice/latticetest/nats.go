// Package latticetest runs, for tests only, what a lattice is made of on this machine:
// a real NATS server (nats-server/v2 embedded on a random loopback port, optionally
// with user/password authentication or TLS) and Wadm, a test double of wadm and of the
// wasmCloud hosts of a lattice, driven through that server. No production code imports
// it.
package latticetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerOptions configure a NATS server.
type ServerOptions struct {
	// User and Password, when set, are required of every client.
	User, Password string
	// TLS, when set, makes the server speak TLS only (see NewCerts).
	TLS *tls.Config
}

// Server is an embedded NATS server listening on 127.0.0.1.
type Server struct {
	t    testing.TB
	o    ServerOptions
	mu   sync.Mutex
	srv  *server.Server
	port int
}

// StartNATS starts a NATS server on a random port; it stops when the test ends.
func StartNATS(t testing.TB, o ServerOptions) *Server {
	t.Helper()
	s := &Server{t: t, o: o, port: -1}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server (again, on the port it had, after Stop).
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return
	}
	opts := &server.Options{Host: "127.0.0.1", Port: s.port, NoLog: true, NoSigs: true, Username: s.o.User, Password: s.o.Password}
	if s.o.TLS != nil {
		opts.TLS, opts.TLSConfig, opts.TLSTimeout = true, s.o.TLS, 2
		opts.TLSVerify = s.o.TLS.ClientAuth == tls.RequireAndVerifyClientCert
	}
	var srv *server.Server
	var err error
	// The port of a stopped server may take a moment to be free again.
	for i := 0; i < 50; i++ {
		if srv, err = server.NewServer(opts); err == nil {
			go srv.Start()
			if srv.ReadyForConnections(5 * time.Second) {
				break
			}
			srv.Shutdown()
			err = fmt.Errorf("NATS server not ready on port %d", s.port)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("start NATS: %v", err)
	}
	s.srv = srv
	s.port = srv.Addr().(*net.TCPAddr).Port
}

// Stop shuts the server down (clients see the connection drop).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// Restart stops the server and starts a new one on the same port.
func (s *Server) Restart() {
	s.Stop()
	s.Start()
}

// URL returns the client URL, without credentials.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	scheme := "nats"
	if s.o.TLS != nil {
		scheme = "tls"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, s.port)
}

// Port returns the listening port.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// Certs are test certificates: a CA, a server certificate for 127.0.0.1 and
// localhost, and a client certificate, written as PEM files.
type Certs struct {
	// CAFile verifies the server; ClientCert and ClientKey identify a client.
	CAFile, ClientCert, ClientKey string
	// Server is the server's TLS configuration; it requires and verifies a client
	// certificate signed by the CA.
	Server *tls.Config
}

// NewCerts generates certificates into a temporary folder.
func NewCerts(t testing.TB) *Certs {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	caTpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pelato test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, server bool) (tls.Certificate, []byte, []byte) {
		key := newKey(t)
		tpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if server {
			tpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
			tpl.DNSNames = []string{"localhost"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return pair, certPEM, keyPEM
	}
	serverPair, _, _ := issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, true)
	_, clientPEM, clientKeyPEM := issue(3, "pelato test client", x509.ExtKeyUsageClientAuth, false)
	c := &Certs{
		CAFile:     filepath.Join(dir, "ca.pem"),
		ClientCert: filepath.Join(dir, "client.pem"),
		ClientKey:  filepath.Join(dir, "client-key.pem"),
	}
	write := func(path string, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(c.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	write(c.ClientCert, clientPEM)
	write(c.ClientKey, clientKeyPEM)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	c.Server = &tls.Config{
		Certificates: []tls.Certificate{serverPair},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}
	return c
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
