package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// The outcomes of Apply.
const (
	// Created: the deployment did not exist.
	Created = "created"
	// Updated: it existed and the apply changed it.
	Updated = "updated"
	// Unchanged: it existed with these fields already; the server changed nothing.
	Unchanged = "unchanged"
)

// Applied is the outcome of Apply.
type Applied struct {
	Name string
	// Action is Created, Updated or Unchanged.
	Action string
	// Deployment is the object as the server holds it after the apply.
	Deployment Deployment
}

// Conflict is one field another field manager owns.
type Conflict struct {
	// Manager is the field manager that owns Field ("kubectl-edit", "helm", ...).
	Manager string
	// Field is the field path (".spec.replicas").
	Field string
}

// ConflictError refuses an apply that would take fields another manager owns.
type ConflictError struct {
	Kind, Name, Namespace string
	Conflicts             []Conflict
	Err                   error
}

// Error implements error.
func (e *ConflictError) Error() string {
	var parts []string
	for _, c := range e.Conflicts {
		parts = append(parts, fmt.Sprintf("%s is owned by field manager %q", c.Field, c.Manager))
	}
	if len(parts) == 0 {
		parts = append(parts, e.Err.Error())
	}
	return fmt.Sprintf("%s %s in namespace %s was changed by someone else: %s; pelato does not overwrite it unless you pass --force-conflicts (then pelato owns those fields)",
		e.Kind, e.Name, e.Namespace, strings.Join(parts, "; "))
}

// Unwrap returns the API error.
func (e *ConflictError) Unwrap() error { return e.Err }

// Apply server-side applies one WorkloadDeployment (from DecodeManifest) in the
// client's namespace with field manager "pelato". An apply that changes nothing
// (same resourceVersion before and after) is reported Unchanged. Fields another
// manager owns make a *ConflictError unless force.
func (c *Client) Apply(ctx context.Context, obj *unstructured.Unstructured, force bool) (*Applied, error) {
	obj = obj.DeepCopy()
	obj.SetNamespace(c.namespace)
	name := obj.GetName()
	res := c.dyn.Resource(WorkloadDeployments).Namespace(c.namespace)
	before, err := res.Get(ctx, name, metav1.GetOptions{})
	existed := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, c.wrap(err, "get WorkloadDeployment "+name)
	}
	body, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, fmt.Errorf("WorkloadDeployment %s: %w", name, err)
	}
	after, err := res.Patch(ctx, name, types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
	if apierrors.IsConflict(err) {
		return nil, conflictError(KindWorkloadDeployment, name, c.namespace, err)
	}
	if err != nil {
		return nil, c.wrap(err, "apply WorkloadDeployment "+name)
	}
	out := &Applied{Name: name, Action: Created, Deployment: DecodeDeployment(after.Object)}
	if existed {
		out.Action = Updated
		if before.GetResourceVersion() == after.GetResourceVersion() {
			out.Action = Unchanged
		}
	}
	return out, nil
}

// conflictError reads the field-manager conflicts of an apply's 409 answer.
func conflictError(kind, name, ns string, err error) *ConflictError {
	e := &ConflictError{Kind: kind, Name: name, Namespace: ns, Err: err}
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Details != nil {
		for _, cause := range st.Status().Details.Causes {
			if cause.Type != metav1.CauseTypeFieldManagerConflict {
				continue
			}
			e.Conflicts = append(e.Conflicts, Conflict{Manager: managerOf(cause.Message), Field: cause.Field})
		}
	}
	return e
}

// managerOf reads the manager out of `conflict with "kubectl-edit" using v1: .spec.replicas`.
func managerOf(msg string) string {
	if _, rest, ok := strings.Cut(msg, `conflict with "`); ok {
		if m, _, ok := strings.Cut(rest, `"`); ok {
			return m
		}
	}
	return msg
}

// wrap adds what was being done and where to an API error; an error that is not
// the server's answer (no connection) becomes an *UnreachableError.
func (c *Client) wrap(err error, doing string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return &UnreachableError{Server: c.server, Err: err}
	}
	if apierrors.IsNotFound(err) && strings.Contains(err.Error(), "the server could not find the requested resource") {
		return ErrCRDsMissing
	}
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("%s in namespace %s: %w (your kubeconfig user lacks the permission: ask the cluster admin for a Role on runtime.wasmcloud.dev)", doing, c.namespace, err)
	}
	return fmt.Errorf("%s in namespace %s: %w", doing, c.namespace, err)
}
