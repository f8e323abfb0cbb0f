package devrun

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pelato-dev/pelato/internal/config"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/pelato-dev/pelato/internal/userfile"
)

// DefaultNATSPort is the port the embedded NATS server takes when it is free.
const DefaultNATSPort = 4222

// The JetStream bounds of the embedded server (Options.JetStreamMaxMemory and
// JetStreamMaxStore when zero): what key-value tasks store in dev cannot fill the
// disk or the memory.
const (
	DefaultJetStreamMaxMemory = 256 << 20
	DefaultJetStreamMaxStore  = 1 << 30
)

// newToken returns a fresh random token for the embedded server.
func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make a token for the embedded NATS server: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// startServer starts the embedded NATS server with JetStream (for key-value tasks),
// its store under storeDir (bounded to maxMem and maxStore bytes); clients must give
// token.
func startServer(host string, port int, storeDir, token string, maxMem, maxStore int64) (*server.Server, error) {
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the JetStream store %s: %w", storeDir, err)
	}
	ns, err := server.NewServer(&server.Options{
		ServerName:         "pelato-dev",
		Host:               host,
		Port:               port,
		Authorization:      token,
		JetStream:          true,
		StoreDir:           storeDir,
		JetStreamMaxMemory: maxMem,
		JetStreamMaxStore:  maxStore,
		NoLog:              true,
		NoSigs:             true,
		// Messages up to the HTTP producers' body cap, and some.
		MaxPayload: 32 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("configure the embedded NATS server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("the embedded NATS server did not start on %s", net.JoinHostPort(host, strconv.Itoa(port)))
	}
	return ns, nil
}

// choosePort returns the port for the embedded server: want when it is set (an
// error if it is taken), else DefaultNATSPort when free, else any free port.
func choosePort(host string, want int) (int, error) {
	if want > 0 {
		if err := portFree(host, want); err != nil {
			return 0, fmt.Errorf("the NATS port %d is already in use (another NATS server or pelato dev?); choose another with --port, or use that server with --nats: %w", want, err)
		}
		return want, nil
	}
	if want == 0 && portFree(host, DefaultNATSPort) == nil {
		return DefaultNATSPort, nil
	}
	return server.RANDOM_PORT, nil
}

// portFree reports whether host:port can be listened on.
func portFree(host string, port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return ln.Close()
}

// isAddrInUse reports whether err is "address already in use".
func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

// projectKey names a project in the user cache: a short hash of its path.
func projectKey(root string) string {
	sum := sha256.Sum256([]byte(root))
	return filepath.Base(root) + "-" + hex.EncodeToString(sum[:6])
}

// DefaultStoreDir is where the embedded server of the project at root keeps its
// JetStream data: under the user cache, never in the project.
func DefaultStoreDir(root string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locate the user cache directory: %w", err)
	}
	return filepath.Join(dir, "pelato", "dev", projectKey(root), "jetstream"), nil
}

// state is what a running `pelato dev` records so `pelato publish` can find it.
type state struct {
	URL  string `json:"url"`
	PID  int    `json:"pid"`
	Root string `json:"root"`
}

// statePath is the file recording the running dev server.
func statePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "pelato", "dev", "running.json"), nil
}

// writeState records url as the running dev server's.
func writeState(url, root string) {
	p, err := statePath()
	if err != nil {
		return
	}
	b, _ := json.Marshal(state{URL: url, PID: os.Getpid(), Root: root})
	if os.MkdirAll(filepath.Dir(p), 0o700) == nil {
		// The URL carries the server's token: for this user only.
		tmp := p + ".tmp" + strconv.Itoa(os.Getpid())
		if os.WriteFile(tmp, b, 0o600) == nil {
			_ = os.Rename(tmp, p)
		}
	}
}

// maxStateSize bounds the state record read back (it is read only when a regular file).
const maxStateSize = 1 << 20

// clearState removes the record if it is this process's.
func clearState() {
	p, err := statePath()
	if err != nil {
		return
	}
	var s state
	if b, err := userfile.Read(p, maxStateSize); err == nil && json.Unmarshal(b, &s) == nil && s.PID == os.Getpid() {
		_ = os.Remove(p)
	}
}

// RunningURL returns the NATS URL of a `pelato dev` running on this machine, if its
// process is alive.
func RunningURL() (string, bool) {
	p, err := statePath()
	if err != nil {
		return "", false
	}
	b, err := userfile.Read(p, maxStateSize)
	if err != nil {
		return "", false
	}
	var s state
	if json.Unmarshal(b, &s) != nil || s.URL == "" || s.PID <= 0 {
		return "", false
	}
	if proc, err := os.FindProcess(s.PID); err != nil || proc.Signal(syscall.Signal(0)) != nil {
		return "", false
	}
	return s.URL, true
}

// Publish sends data to subject on the NATS server at url and waits until the server
// has it.
func Publish(url, subject string, data []byte) error {
	nc, err := nats.Connect(url, nats.Name("pelato publish"), nats.Timeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s (is pelato dev running? give its URL, with its token, with --nats): %w", config.RedactURL(url), err)
	}
	defer nc.Close()
	if err := nc.Publish(subject, data); err != nil {
		return fmt.Errorf("publish to %s: %w", subject, err)
	}
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		return fmt.Errorf("publish to %s: %w", subject, err)
	}
	return nil
}

// withToken returns the client URL of the embedded server carrying token.
func withToken(clientURL, token string) string {
	scheme, rest, ok := strings.Cut(clientURL, "://")
	if !ok {
		return clientURL
	}
	return scheme + "://" + token + "@" + rest
}

// exposed reports whether host makes the servers reachable from other machines: any
// address but a loopback one (and "localhost").
func exposed(host string) bool {
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
