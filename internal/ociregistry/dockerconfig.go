package ociregistry

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"

	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/pelato-dev/pelato/internal/userfile"
)

// dockerConfig is the part of Docker's config.json that says where a host's
// credential comes from (to name the source in messages, never the credential).
type dockerConfig struct {
	path        string
	CredsStore  string                     `json:"credsStore"`
	CredHelpers map[string]string          `json:"credHelpers"`
	Auths       map[string]json.RawMessage `json:"auths"`
}

func readDockerConfig(path string) (dockerConfig, error) {
	c := dockerConfig{path: path}
	b, err := userfile.Read(path, 16<<20) // only a regular file: a FIFO would block

	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	err = json.Unmarshal(b, &c)
	c.path = path
	return c, err
}

// describe names where the Docker configuration takes host's credential from.
func (c dockerConfig) describe(host string) string {
	addr := credentials.ServerAddressFromHostname(host)
	if h := c.CredHelpers[addr]; h != "" {
		return "credential helper docker-credential-" + h + " (credHelpers in " + c.path + ")"
	}
	if c.CredsStore != "" {
		return "credential store docker-credential-" + c.CredsStore + " (credsStore in " + c.path + ")"
	}
	for k := range c.Auths {
		if k == addr || strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://") == addr {
			return "auths entry for " + k + " in " + c.path
		}
	}
	return "Docker config " + c.path
}
