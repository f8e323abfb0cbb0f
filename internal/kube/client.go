package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// The API group and version of wasmCloud 2's resources, and the labels pelato sets.
const (
	Group      = "runtime.wasmcloud.dev"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
	// KindWorkloadDeployment is the kind pelato deploys.
	KindWorkloadDeployment = "WorkloadDeployment"
	// FieldManager is the server-side apply field manager.
	FieldManager = "pelato"
	// LabelManagedBy marks what pelato deployed (value "pelato").
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelProject, LabelTask and LabelTarget name the project, task and target.
	LabelProject = "pelato.dev/project"
	LabelTask    = "pelato.dev/task"
	LabelTarget  = "pelato.dev/target"
	// LabelHostGroup is the Host label wasmCloud 2 places by in practice.
	LabelHostGroup = "hostgroup"
	// labelDeploymentName is the label the runtime-operator stamps on a
	// WorkloadDeployment's ReplicaSets.
	labelDeploymentName = Group + "/workload-deployment"
)

// The resources pelato reads and writes.
var (
	// WorkloadDeployments is the resource of WorkloadDeployment.
	WorkloadDeployments = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "workloaddeployments"}
	// WorkloadReplicaSets is the resource of WorkloadReplicaSet.
	WorkloadReplicaSets = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "workloadreplicasets"}
	// Workloads is the resource of Workload.
	Workloads = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "workloads"}
	// HostsResource is the resource of Host.
	HostsResource = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "hosts"}
)

// Client talks to one cluster, in one namespace.
type Client struct {
	dyn       dynamic.Interface
	namespace string
	context   string
	server    string
}

// Connect resolves cfg (Resolve) and returns a client; it does not contact the
// server (Check does).
func Connect(cfg Config) (*Client, error) {
	r, err := Resolve(cfg)
	if err != nil {
		return nil, err
	}
	c, err := NewForConfig(r.REST, r.Namespace)
	if err != nil {
		return nil, err
	}
	c.context = r.Context
	return c, nil
}

// NewForConfig returns a client of the cluster rc reaches, in namespace.
func NewForConfig(rc *rest.Config, namespace string) (*Client, error) {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	rc = rest.CopyConfig(rc)
	if rc.UserAgent == "" {
		rc.UserAgent = "pelato"
	}
	// client-go's default (5 requests/s, bursts of 10) makes an unchanged redeploy
	// of a few tasks wait on the client side; kubectl's limits instead.
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = 50, 300
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", rc.Host, err)
	}
	return &Client{dyn: dyn, namespace: namespace, server: rc.Host}, nil
}

// Namespace is the namespace the client deploys to.
func (c *Client) Namespace() string { return c.namespace }

// Server is the API server's URL.
func (c *Client) Server() string { return c.server }

// Context is the kubeconfig context used ("" when built from a REST config).
func (c *Client) Context() string { return c.context }

// Where says in a few words where the client deploys: "namespace x at https://…
// (context y)".
func (c *Client) Where() string {
	s := fmt.Sprintf("namespace %s at %s", c.namespace, c.server)
	if c.context != "" {
		s += " (context " + c.context + ")"
	}
	return s
}

// UnreachableError says the API server could not be reached or refused pelato.
type UnreachableError struct {
	Server string
	Err    error
}

// Error implements error.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Kubernetes API server at %s: %v (check --kubeconfig / --context, and that the cluster is up)", e.Server, e.Err)
}

// Unwrap returns the cause.
func (e *UnreachableError) Unwrap() error { return e.Err }

// ErrCRDsMissing says the runtime.wasmcloud.dev resources are not served.
var ErrCRDsMissing = errors.New("runtime.wasmcloud.dev CRDs not installed: install the wasmCloud runtime-operator (its Helm chart installs them)")

// Check reports whether the API server can be reached and serves the
// runtime.wasmcloud.dev/v1alpha1 resources pelato needs.
func (c *Client) Check(ctx context.Context) error {
	var missing []string
	for _, r := range []schema.GroupVersionResource{WorkloadDeployments, HostsResource} {
		_, err := c.dyn.Resource(r).Namespace(c.namespace).List(ctx, metav1.ListOptions{Limit: 1})
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, r.Resource)
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return &UnreachableError{Server: c.server, Err: err}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w (the server does not serve %s)", ErrCRDsMissing, strings.Join(missing, ", "))
	}
	return nil
}

func sortStrings(s []string) { sort.Strings(s) }
