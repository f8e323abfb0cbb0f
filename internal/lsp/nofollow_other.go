//go:build !unix

package lsp

// noFollow: O_CREATE|O_EXCL already fails on an existing link here.
const noFollow = 0
