// Package kube deploys pelato's WorkloadDeployments (runtime.wasmcloud.dev/v1alpha1,
// wasmCloud 2) to a Kubernetes cluster and reads them back: kubeconfig resolution,
// server-side apply with field manager "pelato", watch-based waiting on the
// runtime-operator's status conditions explained in the user's terms, deletion,
// and the Host resources the operator keeps from the hosts' heartbeats. It uses
// client-go's dynamic client and unstructured objects: the manifests come from
// gen/<component>/workloaddeployment.yaml as YAML.
package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// DefaultNamespace is the namespace used when neither the flag nor the context names one.
const DefaultNamespace = "default"

// maxKubeconfigSize caps a kubeconfig file read.
const maxKubeconfigSize = 4 << 20

// Config says how to reach the cluster: each field, when empty, is resolved the
// usual way (kubectl's).
type Config struct {
	// Kubeconfig is the kubeconfig file (--kubeconfig); "" means $KUBECONFIG (a
	// list of files, merged), else ~/.kube/config.
	Kubeconfig string
	// Context is the kubeconfig context (--context); "" means its current-context.
	Context string
	// Namespace is where deployments go (--namespace); "" means the context's
	// namespace, else DefaultNamespace.
	Namespace string
}

// Resolved is a Config resolved against the kubeconfig files.
type Resolved struct {
	// REST is the client configuration.
	REST *rest.Config
	// Files are the kubeconfig files read.
	Files []string
	// Context is the context used; Server the API server's URL.
	Context, Server string
	// Namespace is the namespace to use.
	Namespace string
}

// kubeconfigFiles returns the files to read, in precedence order, and whether they
// were named explicitly (flag or $KUBECONFIG): then a missing file is an error.
func kubeconfigFiles(cfg Config, getenv func(string) string, home string) ([]string, bool) {
	if cfg.Kubeconfig != "" {
		return []string{cfg.Kubeconfig}, true
	}
	if env := getenv("KUBECONFIG"); env != "" {
		var files []string
		for _, f := range filepath.SplitList(env) {
			if f != "" {
				files = append(files, f)
			}
		}
		if len(files) > 0 {
			return files, true
		}
	}
	return []string{filepath.Join(home, ".kube", "config")}, false
}

// Resolve reads the kubeconfig files cfg names and picks the context and
// namespace. Errors name the file and what to do.
func Resolve(cfg Config) (*Resolved, error) {
	home, _ := os.UserHomeDir()
	files, explicit := kubeconfigFiles(cfg, os.Getenv, home)
	merged := clientcmdapi.NewConfig()
	var read []string
	// As kubectl: the first file that sets a value wins, so merge from the last.
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		data, err := readLimited(f)
		if errors.Is(err, os.ErrNotExist) {
			if explicit && cfg.Kubeconfig != "" {
				return nil, fmt.Errorf("kubeconfig %s does not exist: check --kubeconfig", f)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", f, err)
		}
		c, err := ParseKubeconfig(f, data)
		if err != nil {
			return nil, err
		}
		mergeInto(merged, c)
		read = append([]string{f}, read...)
	}
	if len(read) == 0 {
		return nil, fmt.Errorf("no kubeconfig: %s does not exist; set --kubeconfig or KUBECONFIG, or create it (e.g. `kind create cluster`, `kubectl config`)", strings.Join(files, ", "))
	}
	return resolveParsed(merged, cfg, read)
}

// mergeInto copies src's entries over dst's (src wins).
func mergeInto(dst, src *clientcmdapi.Config) {
	for k, v := range src.Clusters {
		dst.Clusters[k] = v
	}
	for k, v := range src.AuthInfos {
		dst.AuthInfos[k] = v
	}
	for k, v := range src.Contexts {
		dst.Contexts[k] = v
	}
	if src.CurrentContext != "" {
		dst.CurrentContext = src.CurrentContext
	}
}

// ParseKubeconfig parses one kubeconfig file's content; errors name the file.
func ParseKubeconfig(file string, data []byte) (*clientcmdapi.Config, error) {
	c, err := clientcmd.Load(data)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", file, err)
	}
	return c, nil
}

// resolveParsed picks the context of a parsed kubeconfig and builds the REST config.
func resolveParsed(c *clientcmdapi.Config, cfg Config, files []string) (*Resolved, error) {
	where := strings.Join(files, ", ")
	name := cfg.Context
	if name == "" {
		name = c.CurrentContext
	}
	if name == "" {
		return nil, fmt.Errorf("kubeconfig %s has no current-context: pass --context (contexts: %s)", where, contextNames(c))
	}
	kctx, ok := c.Contexts[name]
	if !ok || kctx == nil {
		return nil, fmt.Errorf("kubeconfig %s has no context %q (contexts: %s)", where, name, contextNames(c))
	}
	cluster, ok := c.Clusters[kctx.Cluster]
	if !ok || cluster == nil {
		return nil, fmt.Errorf("kubeconfig %s: context %q names cluster %q, which it does not define", where, name, kctx.Cluster)
	}
	if cluster.Server == "" {
		return nil, fmt.Errorf("kubeconfig %s: cluster %q has no server", where, kctx.Cluster)
	}
	cc := clientcmd.NewNonInteractiveClientConfig(*c, name, &clientcmd.ConfigOverrides{}, nil)
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s, context %q: %w", where, name, err)
	}
	rc.UserAgent = "pelato"
	ns := cfg.Namespace
	if ns == "" {
		ns = kctx.Namespace
	}
	if ns == "" {
		ns = DefaultNamespace
	}
	return &Resolved{REST: rc, Files: files, Context: name, Server: cluster.Server, Namespace: ns}, nil
}

func contextNames(c *clientcmdapi.Config) string {
	if len(c.Contexts) == 0 {
		return "none"
	}
	names := make([]string, 0, len(c.Contexts))
	for k := range c.Contexts {
		names = append(names, k)
	}
	sortStrings(names)
	return strings.Join(names, ", ")
}

func readLimited(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errors.New("is a folder, not a file")
	}
	if st.Size() > maxKubeconfigSize {
		return nil, fmt.Errorf("larger than %d MiB", maxKubeconfigSize>>20)
	}
	return os.ReadFile(file)
}
