// Command fakewash stands in for the builder image's toolchain (`wash build` driving
// Go, wit-bindgen-go and TinyGo) in pelato's tests, where neither TinyGo nor wash can
// be installed. It runs inside a real container of a FROM-scratch test image, in the
// bind-mounted generated project (/src), and does what the real build does as seen
// from outside: it reads every source file, prints compiler-like output, uses the Go
// build cache volume, and writes a real (minimal, valid) WebAssembly component to
// build/<name>_s.wasm — importing and exporting what wit/world.wit names, and
// recording in a custom section "pelato-fake-source-hash" the hash of the sources it
// read — or fails the way a compiler does.
//
// A project tells it how to behave with comment lines in its Go files:
//
//	//fakewash:sleep 2s         sleep before building
//	//fakewash:error MESSAGE    fail with a compile error at this comment's file:line:col
//	//fakewash:fail MESSAGE     fail with a plain error
//	//fakewash:disk-full        fail as a compiler does on a full disk
//	//fakewash:core-module      write a core module instead of a component
//	//fakewash:no-output        exit 0 without writing an artifact
//	//fakewash:size N           pad the component to at least N bytes
//	//fakewash:plant-links DIR  leave symbolic links to DIR (a folder outside the
//	                            project) where pelato writes and reads: build/build.log,
//	                            build/<name>_s.wasm, .pelato-build.json(.tmp) and
//	                            .pelato-gen.json, and exit 0
//	//fakewash:print-limits     print the container's memory and pids bounds (cgroup v1
//	                            or v2 files) as "limit NAME VALUE" lines
//	//fakewash:tamper-modcache  try to change a module in the module cache (GOMODCACHE)
//	                            and print whether it could
//
// Installed under the name pelato-modules it stands in for the builder image's
// script of that name: in each folder given (under /src) it runs the image's real
// go command, when the image has one (/usr/local/go/bin/go), as
// `go mod download` then `go mod verify`; without one it reports that it has no
// modules to fetch and succeeds.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelato-dev/pelato/internal/wasmcomponent/wasmcomponenttest"
)

func main() {
	if filepath.Base(os.Args[0]) == "pelato-modules" {
		os.Exit(modules(os.Args[1:]))
	}
	if len(os.Args) < 2 || os.Args[1] != "build" {
		fmt.Fprintln(os.Stderr, "fakewash: usage: wash build")
		os.Exit(2)
	}
	os.Exit(build())
}

type directive struct {
	file      string
	line, col int
	verb, arg string
}

var nameRe = regexp.MustCompile(`(?m)^name\s*=\s*"([^"]+)"`)

func build() int {
	fmt.Printf("fakewash: building in %s as uid=%d gid=%d\n", mustGetwd(), os.Getuid(), os.Getgid())
	toml, err := os.ReadFile("wasmcloud.toml")
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: no wasmcloud.toml:", err)
		return 1
	}
	m := nameRe.FindSubmatch(toml)
	if m == nil {
		fmt.Fprintln(os.Stderr, "error: wasmcloud.toml has no name")
		return 1
	}
	name := string(m[1])

	h := sha256.New()
	var dirs []directive
	var files []string
	err = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == "build" || p == "gen" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(filepath.Base(p), ".pelato-build") {
			return nil
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	sort.Strings(files)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			return 1
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		if strings.HasSuffix(p, ".go") {
			dirs = append(dirs, directives(p, b)...)
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))
	fmt.Printf("go: finding module for package go.bytecodealliance.org/cm\n")
	fmt.Printf("tinygo build -target wasip2 -o build/%s.wasm . (%d source files, sha256 %s)\n", name, len(files), sum[:12])

	// The Go build cache is a named volume shared by every build: leave a mark in it
	// and report how many builds have left theirs.
	if cache := os.Getenv("GOCACHE"); cache != "" {
		dir := filepath.Join(cache, "fakewash")
		if err := os.MkdirAll(dir, 0o777); err == nil {
			os.WriteFile(filepath.Join(dir, name), []byte(sum), 0o666)
			entries, _ := os.ReadDir(dir)
			fmt.Printf("fakewash: go build cache %s holds %d build(s)\n", cache, len(entries))
		}
	}

	core, noOutput, size := false, false, 0
	for _, d := range dirs {
		switch d.verb {
		case "plant-links":
			return plantLinks(name, d.arg)
		case "tamper-modcache":
			tamperModCache()
		case "print-limits":
			for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max"} {
				if b, err := os.ReadFile(f); err == nil {
					fmt.Printf("limit %s %s\n", filepath.Base(f), strings.TrimSpace(string(b)))
				}
			}
		case "sleep":
			dur, err := time.ParseDuration(d.arg)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s:%d: bad sleep %q\n", d.file, d.line, d.arg)
				return 2
			}
			time.Sleep(dur)
		case "error":
			fmt.Fprintf(os.Stderr, "# %s\n./%s:%d:%d: %s\n", name, d.file, d.line, d.col, d.arg)
			fmt.Fprintln(os.Stderr, "error: failed to build component: exit status 1")
			return 1
		case "fail":
			fmt.Fprintln(os.Stderr, "error:", d.arg)
			return 1
		case "disk-full":
			fmt.Fprintf(os.Stderr, "error: write build/%s.wasm: no space left on device\n", name)
			return 1
		case "core-module":
			core = true
		case "no-output":
			noOutput = true
		case "size":
			size, _ = strconv.Atoi(d.arg)
		}
	}
	if noOutput {
		fmt.Println("fakewash: done (no artifact)")
		return 0
	}
	imports, exports := world()
	var wasm []byte
	if core {
		wasm = wasmcomponenttest.CoreModule()
	} else {
		spec := wasmcomponenttest.Spec{Imports: imports, Exports: exports,
			Custom: []wasmcomponenttest.Custom{{Name: "pelato-fake-source-hash", Data: []byte(sum)}}}
		wasm = wasmcomponenttest.Encode(spec)
		if size > len(wasm) {
			spec.Padding = size - len(wasm)
			wasm = wasmcomponenttest.Encode(spec)
		}
	}
	if err := os.MkdirAll("build", 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	out := filepath.Join("build", name+"_s.wasm")
	if err := os.WriteFile(out, wasm, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	fmt.Printf("Component built and signed and can be found at \"%s/%s\"\n", mustGetwd(), out)
	return 0
}

// directives finds the //fakewash: comments of a Go file.
func directives(file string, b []byte) []directive {
	var out []directive
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		i := strings.Index(line, "//fakewash:")
		if i < 0 {
			continue
		}
		verb, arg, _ := strings.Cut(line[i+len("//fakewash:"):], " ")
		out = append(out, directive{file: file, line: n, col: i + 1, verb: strings.TrimSpace(verb), arg: strings.TrimSpace(arg)})
	}
	return out
}

// world reads the imports and exports of wit/world.wit; an include of
// wasi:cli/imports stands for the WASI interfaces it brings.
func world() (imports, exports []string) {
	b, _ := os.ReadFile(filepath.Join("wit", "world.wit"))
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";"))
		if len(f) != 2 {
			continue
		}
		switch f[0] {
		case "import":
			imports = append(imports, f[1])
		case "export":
			exports = append(exports, f[1])
		case "include":
			if strings.HasPrefix(f[1], "wasi:cli/imports@") {
				imports = append(imports, "wasi:cli/environment@0.2.0", "wasi:io/streams@0.2.0", "wasi:clocks/wall-clock@0.2.0")
			}
		}
	}
	return imports, exports
}

func mustGetwd() string {
	wd, _ := os.Getwd()
	return wd
}

// goBin is the go command of an image that has one.
const goBin = "/usr/local/go/bin/go"

// modules is the pelato-modules stand-in: go mod download and go mod verify in
// each folder.
func modules(dirs []string) int {
	if _, err := os.Stat(goBin); err != nil {
		fmt.Printf("pelato-modules: no go command in this image; %d project(s), nothing to download\n", len(dirs))
		return 0
	}
	for _, d := range dirs {
		for _, args := range [][]string{{"mod", "download"}, {"mod", "verify"}} {
			cmd := exec.Command(goBin, args...)
			cmd.Dir = filepath.Join("/src", d)
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			fmt.Printf("pelato-modules: %s: go %s\n", d, strings.Join(args, " "))
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "pelato-modules: %s: go %s: %v\n", d, strings.Join(args, " "), err)
				return 1
			}
		}
	}
	return 0
}

// plantLinks leaves links to target where pelato reads and writes.
func plantLinks(name, target string) int {
	os.MkdirAll("build", 0o755)
	for _, p := range []string{"build/build.log", "build/" + name + "_s.wasm", ".pelato-build.json", ".pelato-build.json.tmp", ".pelato-gen.json"} {
		os.Remove(p)
		if err := os.Symlink(filepath.Join(target, filepath.Base(p)), p); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			return 1
		}
	}
	fmt.Println("fakewash: planted links to", target)
	return 0
}

// tamperModCache tries to append to a file of the module cache.
func tamperModCache() {
	cache := os.Getenv("GOMODCACHE")
	target := ""
	filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") && target == "" {
			target = p
		}
		return nil
	})
	if target == "" {
		fmt.Println("fakewash: tamper: the module cache holds no Go file")
		return
	}
	os.Chmod(filepath.Dir(target), 0o755)
	os.Chmod(target, 0o644)
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = f.WriteString("\n// tampered\n")
		f.Close()
	}
	if err != nil {
		fmt.Printf("fakewash: tamper refused: %v\n", err)
		return
	}
	fmt.Printf("fakewash: tampered with %s\n", target)
}
