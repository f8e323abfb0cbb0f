//go:build unix

package userfile

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostile builds a file of each kind a hostile project may hold and returns its path.
func hostile(t *testing.T, kind string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "file")
	switch kind {
	case "fifo":
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Skipf("cannot make a FIFO here: %v", err)
		}
	case "dev-zero-link":
		if err := os.Symlink("/dev/zero", p); err != nil {
			t.Fatal(err)
		}
	case "dev-null":
		p = "/dev/null"
	case "folder":
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	case "socket":
		p = filepath.Join(dir, "s") // short: socket paths are limited
		l, err := net.Listen("unix", p)
		if err != nil {
			t.Skipf("cannot make a socket here: %v", err)
		}
		t.Cleanup(func() { l.Close() })
	case "huge-sparse":
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(8 << 30); err != nil { // 8 GiB, no blocks
			t.Fatal(err)
		}
		f.Close()
	case "dangling-link":
		if err := os.Symlink(filepath.Join(dir, "nowhere"), p); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestReadRefusesHostileFiles(t *testing.T) {
	for _, tc := range []struct {
		kind string
		want error
		says string
	}{
		{"fifo", ErrNotRegular, "named pipe (FIFO)"},
		{"dev-zero-link", ErrNotRegular, "symbolic link to /dev/zero, a character device"},
		{"dev-null", ErrNotRegular, "character device"},
		{"folder", ErrNotRegular, "a folder"},
		{"socket", ErrNotRegular, "a socket"},
		{"huge-sparse", ErrTooLarge, "is 8 GiB; pelato reads at most 1 MiB"},
		{"dangling-link", fs.ErrNotExist, "does not exist"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			p := hostile(t, tc.kind)
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			b, err := Read(p, 1<<20)
			took := time.Since(start)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("read %d bytes; want an error", len(b))
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v does not match %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q should name %s and say %q", err, p, tc.says)
			}
			if took > time.Second {
				t.Errorf("took %v; a refusal must be immediate", took)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Errorf("allocated %d bytes to refuse a file", grew)
			}
		})
	}
}

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a")
	if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{p, link} {
		b, err := Read(path, 5)
		if err != nil || string(b) != "hello" {
			t.Errorf("Read(%s) = %q, %v", path, b, err)
		}
	}
	if _, err := Read(p, 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a 5-byte file under a 4-byte cap: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := Read(empty, 10); err != nil || len(b) != 0 {
		t.Errorf("empty file: %q, %v", b, err)
	}
	if _, err := Read(filepath.Join(dir, "missing"), 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// A file that reports a small size but yields more (as /proc files do) is cut off.
func TestReadBoundsFilesThatGrow(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	_, err := Read("/proc/self/status", 16) // reported size 0, content far longer
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "grew past the limit of 16 bytes") {
		t.Errorf("got %v", err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1023: "1023 bytes", 1024: "1 KiB", 1536: "1.5 KiB", 64 << 20: "64 MiB", 24 << 30: "24 GiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
