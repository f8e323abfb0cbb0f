// This go.mod holds no Go code: it makes editors/vscode a module of its own so
// that `go test ./...`, `go vet ./...` and staticcheck of the repository skip
// the Go packages some npm packages ship inside node_modules.
module github.com/pelato-dev/pelato/editors/vscode

go 1.26
