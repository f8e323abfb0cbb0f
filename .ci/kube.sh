#!/usr/bin/env bash
# Builds a real kube-apiserver and etcd from the Go module proxy into a cache
# folder, for the tests that deploy to wasmCloud 2 (internal/kube, and the
# pipeline's wasmcloud2 tests, started by controller-runtime's envtest). Nothing
# is committed and no prebuilt binary is downloaded: this kind of machine reaches
# only the Go module proxy, Debian's packages and npm.
#
#   bash .ci/kube.sh                    # build them (once) and print where they are
#   eval "$(bash .ci/kube.sh --env)"    # ... and export KUBEBUILDER_ASSETS
#
# The binaries go to $PELATO_KUBE_CACHE (default $HOME/.cache/pelato-kube)/
# k8s-$KUBE_VERSION/bin (kube-apiserver, etcd); envtest finds them through
# KUBEBUILDER_ASSETS. A complete build (marked by .complete) is kept: the script
# then only prints where it is.
#
# How: `go install k8s.io/kubernetes/cmd/kube-apiserver@v1.36.3` is refused
# because k8s.io/kubernetes's go.mod has replace directives (its 33 staging
# modules point at ./staging). So a wrapper module requires k8s.io/kubernetes
# and replaces each staging module k8s.io/X by its published k8s.io/X v0.36.3,
# and builds k8s.io/kubernetes/cmd/kube-apiserver and go.etcd.io/etcd/server/v3
# (at the version k8s.io/kubernetes requires) from there.
#
# Measured on a 2-core machine: cold (empty module and build caches) ≈ 30 min,
# warm Go build cache ≈ 20 s, complete: < 0.1 s. It keeps ≈ 150 MB of binaries
# (the Go build cache holds the rest).
set -euo pipefail

KUBE_VERSION=1.36.3
STAGING_VERSION=0.36.3
cache="${PELATO_KUBE_CACHE:-$HOME/.cache/pelato-kube}"
root="$cache/k8s-$KUBE_VERSION"

print_env() {
	echo "export KUBEBUILDER_ASSETS='$root/bin'"
}

log() { printf '[kube.sh] %s\n' "$*" >&2; }

if [ -f "$root/.complete" ]; then
	log "kube-apiserver $KUBE_VERSION and etcd present in $root/bin"
	[ "${1:-}" = "--env" ] && print_env
	exit 0
fi

export GOFLAGS=-mod=mod
export CGO_ENABLED=0
work="$root/work"
rm -rf "$work"
mkdir -p "$work" "$root/bin"
cd "$work"

start=$(date +%s)
log "fetching k8s.io/kubernetes@v$KUBE_VERSION's go.mod"
kmod=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[ -f "$kmod" ] || { log "could not download k8s.io/kubernetes@v$KUBE_VERSION"; exit 1; }
etcd_version=$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "$kmod")
[ -n "$etcd_version" ] || { log "k8s.io/kubernetes@v$KUBE_VERSION does not name go.etcd.io/etcd/server/v3"; exit 1; }

{
	echo "module pelato.invalid/kubebin"
	echo
	echo "go $(awk '$1 == "go" { print $2; exit }' "$kmod")"
	echo
	echo "require ("
	echo "	k8s.io/kubernetes v$KUBE_VERSION"
	echo "	go.etcd.io/etcd/server/v3 $etcd_version"
	echo ")"
	echo
	echo "replace ("
	# Each `k8s.io/X => ./staging/src/k8s.io/X` of k8s.io/kubernetes's go.mod.
	sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/.*#\t\1 => \1 v'"$STAGING_VERSION"'#p' "$kmod"
	echo ")"
} >go.mod
log "go.mod: $(grep -c ' => ' go.mod) staging modules replaced by v$STAGING_VERSION, etcd $etcd_version"

# A file that imports nothing lets `go mod tidy` keep the requirements; the
# builds below resolve the rest (GOFLAGS=-mod=mod).
printf 'package kubebin\n' >doc.go

log "building kube-apiserver (cold ≈ 25 min on 2 cores)"
go build -trimpath -o "$root/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
log "building etcd $etcd_version"
go build -trimpath -o "$root/bin/etcd" go.etcd.io/etcd/server/v3
"$root/bin/kube-apiserver" --version >&2
"$root/bin/etcd" --version | head -n 1 >&2
rm -rf "$work"
touch "$root/.complete"
log "built in $(($(date +%s) - start)) s into $root/bin"
[ "${1:-}" = "--env" ] && print_env
exit 0
