// Package tinygotest is test support for tests that build real components with
// TinyGo: it finds the TinyGo 0.42.0 toolchain that .ci/tinygo.sh assembles (tinygo
// and wasm-tools, plus the jco it carries for running components under Node.js)
// and skips the test when there is none — or fails it when CI=true, where
// .ci/run assembles it. Its own tests build every template's generated project
// with `pelato build --builder local` and run each component against test doubles
// of the host interfaces.
package tinygotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pelato-dev/pelato/internal/testenv"
)

// Version is the TinyGo version .ci/tinygo.sh assembles.
const Version = "0.42.0"

// EnvToolchain names the toolchain's bin folder; .ci/tinygo.sh --env exports it.
// Without it the default place of .ci/tinygo.sh is used:
// ${PELATO_TOOLCHAIN_CACHE:-$HOME/.cache/pelato-toolchain}/tinygo-0.42.0/bin.
const EnvToolchain = "PELATO_TOOLCHAIN"

// Toolchain is a TinyGo toolchain found for a test.
type Toolchain struct {
	// Bin holds tinygo and wasm-tools.
	Bin string
	// JCO is jco's command-line script (run with node), under the toolchain's
	// jco/ folder; its node_modules hold @bytecodealliance/preview2-shim.
	JCO string
	// NodeModules is the node_modules folder of JCO.
	NodeModules string
	// Node is the node command.
	Node string
}

// BinDir returns where the toolchain's bin folder is expected.
func BinDir() string {
	if d := os.Getenv(EnvToolchain); d != "" {
		return d
	}
	cache := os.Getenv("PELATO_TOOLCHAIN_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(home, ".cache", "pelato-toolchain")
	}
	return filepath.Join(cache, "tinygo-"+Version, "bin")
}

// Require finds the toolchain and puts its bin folder first on PATH for the rest
// of the test (so the test must not be parallel); without it the test stops
// through testenv.Missing.
func Require(t testing.TB) *Toolchain {
	t.Helper()
	bin := BinDir()
	for _, name := range []string{"tinygo", "wasm-tools"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			testenv.Missing(t, "no TinyGo toolchain in "+bin+" (run `bash .ci/tinygo.sh`, or set "+EnvToolchain+" to a folder holding tinygo and wasm-tools)")
		}
	}
	tc := &Toolchain{Bin: bin, NodeModules: filepath.Join(bin, "..", "jco", "node_modules")}
	tc.JCO = filepath.Join(tc.NodeModules, "@bytecodealliance", "jco", "dist", "jco.js")
	if _, err := os.Stat(tc.JCO); err != nil {
		testenv.Missing(t, "the toolchain in "+bin+" has no jco ("+tc.JCO+"): run `bash .ci/tinygo.sh` again")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node (Node.js 20 or later) is not on PATH")
	}
	tc.Node = node
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return tc
}
