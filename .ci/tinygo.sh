#!/usr/bin/env bash
# Assembles a TinyGo 0.42.0 toolchain (tinygo + a wasm-tools command) into a cache
# folder, from the only sources this kind of machine reaches: Debian's packages
# (binary and source), the Go module proxy and npm. Nothing is committed and no
# prebuilt TinyGo or wasm-tools is downloaded.
#
#   bash .ci/tinygo.sh          # build it (once) and print where it is
#   eval "$(bash .ci/tinygo.sh --env)"   # ... and export PELATO_TOOLCHAIN, PATH
#
# The toolchain goes to $PELATO_TOOLCHAIN_CACHE (default
# $HOME/.cache/pelato-toolchain)/tinygo-0.42.0; its bin/ holds tinygo and
# wasm-tools, and is what the tests (internal/tinygotest) and `pelato build
# --builder local` need on PATH. A complete toolchain (marked by the file
# .complete) is kept: the script then only prints where it is.
#
# How each piece is made:
#   - LLVM 19, Clang 19, lld 19, binaryen (wasm-opt): Debian packages.
#   - tinygo: `go build -tags=llvm19` of github.com/tinygo-org/tinygo@v0.42.0 from
#     the module proxy, in a writable copy whose tinygo.org/x/espflasher (refused
#     by the proxy; only used to flash ESP boards) is replaced by a stub module
#     generated here, whose flasher says it is not available.
#   - TinyGo's lib/ (git submodules, absent from the module zip), as far as
#     wasip2 needs it: compiler-rt builtins from Debian's llvm-toolchain-19 source
#     package, wasi-libc from Debian's wasi-libc source package (headers and the
#     few musl files TinyGo compiles for wasm), the WASI CLI WIT (TinyGo's default
#     world) from the WIT pelato keeps in templates/wit/deps, and an empty src/net.
#   - wasm-tools: a shim over the npm package @bytecodealliance/jco (its
#     `componentEmbed` and `componentNew`), which TinyGo calls as
#     `wasm-tools component embed -w WORLD WITDIR IN -o OUT` and
#     `wasm-tools component new IN -o OUT`; the shim gives jco's copy of the
#     WASI preview2 shim the filesystem preopen "/" so those paths resolve.
#
# Measured on a shared 2-core machine (load ≈ 25): all cold ≈ 14 min (apt install
# 66 s, npm 87 s, the tinygo build 642 s, the rest under a minute); with the Go
# build cache warm (CI on the same machine) 321 s; complete: 0.06 s. It keeps
# ≈ 600 MB (the toolchain ≈ 390 MB, of which jco's node_modules 340 MB; the
# unpacked Debian sources and the tinygo binary under work/).
set -euo pipefail

TINYGO_VERSION=0.42.0
JCO_VERSION=1.35.0
LLVM_MAJOR=19
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${PELATO_TOOLCHAIN_CACHE:-$HOME/.cache/pelato-toolchain}"
root="$cache/tinygo-$TINYGO_VERSION"
work="$cache/work"

print_env() {
	echo "export PELATO_TOOLCHAIN='$root/bin'"
	echo "export PATH='$root/bin':\"\$PATH\""
}

log() { printf '[tinygo.sh] %s\n' "$*" >&2; }

if [ -f "$root/.complete" ]; then
	log "TinyGo $TINYGO_VERSION toolchain present in $root"
	[ "${1:-}" = "--env" ] && print_env
	exit 0
fi

start=$(date +%s)
export PATH="/usr/local/go/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive

# --- Debian packages -------------------------------------------------------------
need_pkgs=()
for p in llvm-$LLVM_MAJOR-dev libclang-$LLVM_MAJOR-dev clang-$LLVM_MAJOR lld-$LLVM_MAJOR binaryen dpkg-dev xz-utils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
# deb-src entries for `apt-get source`, for the suites of this Debian release.
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
srcfile=/etc/apt/sources.list.d/pelato-deb-src.sources
if [ ! -f "$srcfile" ]; then
	log "adding deb-src entries ($srcfile)"
	cat >"$srcfile" <<EOF
# Added by pelato's .ci/tinygo.sh: TinyGo's compiler-rt and wasi-libc come from Debian's source packages.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	apt-get update -qq
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
	if ! apt-cache policy "llvm-$LLVM_MAJOR-dev" | grep -q 'Candidate: [0-9]'; then
		apt-get update -qq
	fi
	if ! apt-cache policy "llvm-$LLVM_MAJOR-dev" | grep -q 'Candidate: [0-9]'; then
		# bookworm has LLVM 19 in main since 12.10; older snapshots had it in backports.
		log "llvm-$LLVM_MAJOR-dev is not in the sources: adding $codename-backports"
		cat >/etc/apt/sources.list.d/pelato-backports.sources <<EOF
# Added by pelato's .ci/tinygo.sh for LLVM $LLVM_MAJOR.
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: $codename-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
		apt-get update -qq
	fi
	log "apt-get install ${need_pkgs[*]}"
	apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
command -v npm >/dev/null || { log "npm is needed (Node.js 20 or later) for the wasm-tools shim"; exit 1; }

mkdir -p "$work"
rm -rf "$root.tmp"
mkdir -p "$root.tmp/bin" "$root.tmp/lib"

# --- tinygo itself ---------------------------------------------------------------
mod="github.com/tinygo-org/tinygo@v$TINYGO_VERSION"
moddir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$moddir" ] || { log "go mod download $mod failed"; exit 1; }
gosrc="$work/tinygo-src"
gopid=""
if [ ! -x "$work/tinygo.bin" ]; then
	rm -rf "$gosrc" "$work/espflasher-stub"
	cp -r "$moddir" "$gosrc"
	chmod -R u+w "$gosrc"
	mkdir -p "$work/espflasher-stub/pkg/espflasher"
	cat >"$work/espflasher-stub/go.mod" <<'EOF'
module tinygo.org/x/espflasher

go 1.22
EOF
	cat >"$work/espflasher-stub/pkg/espflasher/espflasher.go" <<'EOF'
// Package espflasher stands in for tinygo.org/x/espflasher, which the Go module
// proxy does not serve, in pelato's TinyGo build (.ci/tinygo.sh). It is only used
// to flash ESP32 boards, which this build cannot do: New says so.
package espflasher

import (
	"errors"
	"io"
)

// ResetMode selects how the board is reset.
type ResetMode int

// ResetUSBJTAG resets through the USB-JTAG bridge.
const ResetUSBJTAG ResetMode = 1

// StdoutLogger logs to W.
type StdoutLogger struct{ W io.Writer }

// Options configures a Flasher.
type Options struct {
	Compress  bool
	Logger    *StdoutLogger
	ResetMode ResetMode
}

// DefaultOptions returns the default options.
func DefaultOptions() *Options { return &Options{} }

// Flasher would flash a board.
type Flasher struct{}

// New always fails: this TinyGo build cannot flash ESP boards.
func New(port string, opts *Options) (*Flasher, error) {
	return nil, errors.New("flashing ESP boards is not available in this TinyGo build (pelato's .ci/tinygo.sh: tinygo.org/x/espflasher is stubbed)")
}

// Close does nothing.
func (f *Flasher) Close() error { return nil }

// ChipName returns "".
func (f *Flasher) ChipName() string { return "" }

// EraseFlash fails.
func (f *Flasher) EraseFlash(progress func(current, total int)) error { return errors.New("not available") }

// FlashImage fails.
func (f *Flasher) FlashImage(data []byte, offset uint32, progress func(current, total int)) error {
	return errors.New("not available")
}

// Reset does nothing.
func (f *Flasher) Reset() {}
EOF
	(
		cd "$gosrc"
		go mod edit -replace "tinygo.org/x/espflasher=$work/espflasher-stub"
		log "go build -tags=llvm$LLVM_MAJOR $mod (a few minutes)"
		t0=$(date +%s)
		GOFLAGS=-mod=mod CGO_ENABLED=1 go build -buildvcs=false -tags="llvm$LLVM_MAJOR" -o "$work/tinygo.bin" .
		log "tinygo built in $(($(date +%s) - t0)) s"
	) &
	gopid=$! # built while the Debian sources are unpacked
fi
# --- Debian source packages: compiler-rt builtins and wasi-libc ---------------
# apt_source PKG downloads PKG's source package into the current folder: the
# candidate version, else each other version the deb-src entries list, newest
# first. A mirror may list a version whose files it does not serve (2026-12-06:
# bookworm-backports' wasi-libc 0.0~git20240708 answered 404, bookworm's
# 0.0~git20220510 was there). TinyGo's wasip2 target only compiles a few musl files
# of wasi-libc (memcpy, memmove, memset, strlen, exp, exp2, log) with its headers,
# which every version of the package has.
apt_source() {
	rm -f "$1"_*
	apt-get source -qq --download-only "$1" >/dev/null 2>&1 && return 0
	local v
	for v in $(apt-cache showsrc "$1" | sed -n 's/^Version: //p' | sort -ruV); do
		log "apt-get source $1: the candidate failed, trying version $v"
		rm -f "$1"_*
		apt-get source -qq --download-only "$1=$v" >/dev/null 2>&1 && return 0
	done
	rm -f "$1"_*
	apt-get source --download-only "$1" # fails again, with apt's own message
}
srcdir="$work/debian-src"
mkdir -p "$srcdir"
if [ ! -d "$srcdir/compiler-rt-builtins" ] || [ ! -d "$srcdir/wasi-libc" ]; then
	(
		cd "$srcdir"
		if ! ls llvm-toolchain-${LLVM_MAJOR}_*.orig.tar.xz >/dev/null 2>&1 || ! ls wasi-libc_*.orig.tar.* >/dev/null 2>&1; then
			log "apt-get source llvm-toolchain-$LLVM_MAJOR wasi-libc (download only)"
			apt_source "llvm-toolchain-$LLVM_MAJOR"
			apt_source wasi-libc
		fi
		llvm_tar=$(ls llvm-toolchain-${LLVM_MAJOR}_*.orig.tar.xz | head -n 1)
		log "extracting compiler-rt/lib/builtins from $llvm_tar"
		rm -rf llvm-x compiler-rt-builtins
		mkdir llvm-x
		tar -xJf "$llvm_tar" -C llvm-x --wildcards '*/compiler-rt/lib/builtins/*'
		mv llvm-x/*/compiler-rt/lib/builtins compiler-rt-builtins
		rm -rf llvm-x
		wasi_tar=$(ls wasi-libc_*.orig.tar.* | head -n 1)
		log "extracting $wasi_tar"
		rm -rf wasi-x wasi-libc
		mkdir wasi-x
		tar -xf "$wasi_tar" -C wasi-x
		mv wasi-x/* wasi-libc
		rm -rf wasi-x
		rm -f ./*.orig.tar.* ./*.debian.tar.* ./*.dsc # only the two folders are kept
	)
fi
if [ -n "$gopid" ]; then wait "$gopid" || { log "building tinygo failed"; exit 1; }; fi
cp -r "$srcdir/compiler-rt-builtins" "$root.tmp/lib/compiler-rt-builtins"
cp -r "$srcdir/wasi-libc" "$root.tmp/lib/wasi-libc"

cp "$work/tinygo.bin" "$root.tmp/bin/tinygo"
# TINYGOROOT is the folder above bin/: it needs src/ and targets/ of the module.
cp -r "$moddir/src" "$moddir/targets" "$root.tmp/"
chmod -R u+w "$root.tmp/src" "$root.tmp/targets"
mkdir -p "$root.tmp/src/net" # the tinygo-org/net submodule: nothing here imports net
cp "$moddir/lib/picolibc-stdio.c" "$root.tmp/lib/" 2>/dev/null || true
# TinyGo's default wasip2 world (wasi:cli/command) with its dependencies.
mkdir -p "$root.tmp/lib/wasi-cli/wit/deps"
for d in "$repo"/templates/wit/deps/wasi-*-0.2.0; do
	cp -r "$d" "$root.tmp/lib/wasi-cli/wit/deps/"
done
cp "$root.tmp/lib/wasi-cli/wit/deps/wasi-cli-0.2.0/package.wit" "$root.tmp/lib/wasi-cli/wit/cli.wit"
rm -r "$root.tmp/lib/wasi-cli/wit/deps/wasi-cli-0.2.0"

# --- wasm-tools: a shim over jco -------------------------------------------------
jcodir="$root.tmp/jco"
mkdir -p "$jcodir"
log "npm install @bytecodealliance/jco@$JCO_VERSION"
echo '{"private": true}' >"$jcodir/package.json"
(cd "$jcodir" && npm install --no-audit --no-fund --loglevel=error "@bytecodealliance/jco@$JCO_VERSION" >/dev/null)
cp "$repo/.ci/wasm-tools-shim.mjs" "$jcodir/wasm-tools.mjs"
cat >"$root.tmp/bin/wasm-tools" <<EOF
#!/bin/sh
# wasm-tools for TinyGo: \`component embed\` and \`component new\` through jco (pelato's .ci/tinygo.sh).
exec node "\$(dirname "\$0")/../jco/wasm-tools.mjs" "\$@"
EOF
chmod 0755 "$root.tmp/bin/wasm-tools"

# --- check and publish -----------------------------------------------------------
"$root.tmp/bin/tinygo" version >&2
"$root.tmp/bin/wasm-tools" --version >&2
# A real wasip2 component (TinyGo's default world, wasi:cli/command) proves the
# assembly, and fills TinyGo's cache (compiler-rt, the runtime and the standard
# packages the harnesses use) so that the first project build does not pay for it.
check="$work/check"
rm -rf "$check" && mkdir -p "$check"
cat >"$check/main.go" <<'GO'
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

func main() {
	b, _ := json.Marshal(map[string]string{"hello": strings.ToUpper("wasip2")})
	fmt.Fprintln(os.Stdout, string(b), strconv.Quote("ok"), len(debug.Stack()))
}
GO
printf 'module check\n\ngo 1.22\n' >"$check/go.mod"
t0=$(date +%s)
(cd "$check" && PATH="$root.tmp/bin:$PATH" "$root.tmp/bin/tinygo" build -target wasip2 -scheduler asyncify -o check.wasm .) ||
	{ log "the assembled TinyGo could not build a wasip2 component (see above)"; exit 1; }
head -c 8 "$check/check.wasm" | od -An -tx1 | grep -q '00 61 73 6d 0d 00 01 00' ||
	{ log "check.wasm is not a WebAssembly component"; exit 1; }
log "built a wasip2 component with it in $(($(date +%s) - t0)) s"
rm -rf "$check"
touch "$root.tmp/.complete"
rm -rf "$root"
mv "$root.tmp" "$root"
log "TinyGo $TINYGO_VERSION toolchain assembled in $root in $(($(date +%s) - start)) s"
[ "${1:-}" = "--env" ] && print_env
exit 0
