#!/usr/bin/env bash
# install-editors.sh — install the editors that editors/editors_test.go drives
# headless against pelato-lsp, on a Debian 12 (bookworm) machine:
#
#   neovim      0.7.2   built-in LSP client (editors/nvim/pelato.lua)
#   emacs-nox   28.2    + elpa-eglot 1.9 (editors/emacs/pelato.el)
#   vim         9.0     + vim-ale 3.3 (editors/vim/pelato.vim)
#
# Idempotent: does nothing when every package is already installed, and runs
# `apt-get update` only when a package is missing and apt's lists are empty or
# do not know it. Needs root (or sudo).
set -euo pipefail

packages=(neovim emacs-nox elpa-eglot vim vim-ale)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-editors: already installed: ${packages[*]}"
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	sudo=(sudo)
fi

# Update the package lists only when apt cannot find a missing package.
need_update=0
for p in "${missing[@]}"; do
	cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
	if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
		need_update=1
		break
	fi
done
if [ $need_update -eq 1 ]; then
	echo "install-editors: apt-get update"
	"${sudo[@]}" apt-get update -qq
fi

echo "install-editors: installing ${missing[*]}"
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

nvim --version | head -1
emacs --version | head -1
vim --version | head -1
