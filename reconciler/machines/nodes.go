package machines

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"gitfleet.dev/gitfleet/schema"
)

// NodeOptions configure ApplyNodes.
type NodeOptions struct {
	// FieldManager owns the labels and taints gitfleet sets; the reconciler's own
	// ("gitfleet"), so that `kubectl get node --show-managed-fields` names gitfleet.
	FieldManager string
	// Hostnames are the machines' hostname facts (IP -> hostname), used to find a Node
	// registered under its hostname; may be nil.
	Hostnames map[string]string
}

// NodeAction is what ApplyNodes did to a Node.
type NodeAction string

const (
	// NodeApplied: the machine's labels and taints were applied to its Node.
	NodeApplied NodeAction = "applied"
	// NodeReleased: a Node no declared machine matches any more had gitfleet's labels and
	// taints removed.
	NodeReleased NodeAction = "released"
	// NodeNotFound: no Node matches the machine (not joined yet); nothing was done.
	NodeNotFound NodeAction = "not found"
)

// NodeResult is one machine's (or released Node's) outcome.
type NodeResult struct {
	// Machine is the machine's IP; empty for a released Node.
	Machine string
	Node    string
	Action  NodeAction
	Err     error
}

// TaintsAnnotation records on a Node the taints gitfleet put there ("key=value:Effect"
// entries, comma-separated). Kubernetes keeps a Node's taints as one atomic list, so
// server-side apply cannot own single taints the way it owns single labels: gitfleet
// applies the whole list, built from the live taints less those it put there before
// (this annotation) plus those now declared. Taints others set (the node controller's
// not-ready, an operator's maintenance taint) are carried over untouched.
const TaintsAnnotation = "gitfleet.dev/taints"

// ApplyNodes keeps the labels and taints declared on a cluster's machines on their
// Nodes, with server-side apply of only those fields under opts.FieldManager. Taking
// part in server-side apply is what makes removal work: a label that gitfleet applied
// before and the repository no longer declares is dropped by the next apply, and a Node
// whose machine left the repository gets an apply without labels that drops them all
// (its taints: see TaintsAnnotation). Labels that others set (the kubelet, kubectl) are
// left alone.
//
// A machine's Node is the one named by the machine's IP (TKEStack names nodes by IP), else
// the one whose InternalIP is the machine's IP, else the one named by its hostname (a
// kubelet's default name). A Node is never created: each apply carries the resourceVersion
// the Node was read at, so a Node deleted in between fails the apply instead.
func ApplyNodes(ctx context.Context, cs kubernetes.Interface, c *schema.Cluster, opts NodeOptions) ([]NodeResult, error) {
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: listing nodes: %w", c.Metadata.Name, err)
	}
	claimed := map[string]bool{}
	var out []NodeResult
	for _, m := range c.Spec.Machines {
		node := findNode(list.Items, m.IP, opts.Hostnames[m.IP])
		if node == nil {
			out = append(out, NodeResult{Machine: m.IP, Action: NodeNotFound})
			continue
		}
		claimed[node.Name] = true
		err := applyNode(ctx, cs, node, m.Labels, m.Taints, opts.FieldManager)
		if err != nil {
			err = fmt.Errorf("cluster %s machine %s: applying labels and taints to node %s: %w", c.Metadata.Name, m.IP, node.Name, err)
		}
		out = append(out, NodeResult{Machine: m.IP, Node: node.Name, Action: NodeApplied, Err: err})
	}
	for i := range list.Items {
		n := &list.Items[i]
		if metadata, _ := owned(n, opts.FieldManager); claimed[n.Name] || (!metadata && n.Annotations[TaintsAnnotation] == "") {
			continue
		}
		err := applyNode(ctx, cs, n, nil, nil, opts.FieldManager)
		if err != nil {
			err = fmt.Errorf("cluster %s: removing gitfleet's labels and taints from node %s, whose machine left the repository: %w", c.Metadata.Name, n.Name, err)
		}
		out = append(out, NodeResult{Node: n.Name, Action: NodeReleased, Err: err})
	}
	return out, nil
}

func findNode(nodes []corev1.Node, ip, hostname string) *corev1.Node {
	for i := range nodes {
		if nodes[i].Name == ip {
			return &nodes[i]
		}
	}
	for i := range nodes {
		for _, a := range nodes[i].Status.Addresses {
			if a.Type == corev1.NodeInternalIP && a.Address == ip {
				return &nodes[i]
			}
		}
	}
	if hostname = strings.ToLower(hostname); hostname != "" {
		for i := range nodes {
			if nodes[i].Name == hostname {
				return &nodes[i]
			}
		}
	}
	return nil
}

// owned says which of a Node's fields manager applied: any label or annotation
// (something to release when the machine leaves the repository) and the taint list.
func owned(n *corev1.Node, manager string) (metadata, taints bool) {
	for _, f := range n.ManagedFields {
		if f.Manager != manager || f.Operation != metav1.ManagedFieldsOperationApply || f.FieldsV1 == nil {
			continue
		}
		var fields struct {
			Metadata struct {
				Labels      map[string]any `json:"f:labels"`
				Annotations map[string]any `json:"f:annotations"`
			} `json:"f:metadata"`
			Spec struct {
				Taints *json.RawMessage `json:"f:taints"`
			} `json:"f:spec"`
		}
		if json.Unmarshal(f.FieldsV1.Raw, &fields) != nil {
			continue
		}
		metadata = metadata || len(fields.Metadata.Labels) > 0 || len(fields.Metadata.Annotations) > 0
		taints = taints || fields.Spec.Taints != nil
	}
	return metadata, taints
}

// nodePatch is the apply patch of a Node: its name and resourceVersion, the declared
// labels, and, when gitfleet manages taints there (declared now or before), the taint
// list and the annotation that records gitfleet's part of it.
//
// Once gitfleet has applied a Node's taint list it keeps sending it, even with none of
// its own left: server-side apply deletes a field its only manager stops sending, and
// for an atomic list that would delete everyone's taints.
func nodePatch(node *corev1.Node, labels map[string]string, declared []schema.Taint, manager string) ([]byte, error) {
	meta := map[string]any{"name": node.Name, "resourceVersion": node.ResourceVersion}
	if len(labels) > 0 {
		meta["labels"] = labels
	}
	obj := map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": meta}
	previous := splitTaints(node.Annotations[TaintsAnnotation])
	if _, ownsTaints := owned(node, manager); len(declared) > 0 || len(previous) > 0 || ownsTaints {
		ours := map[string]bool{}
		var mine []string
		taints := []corev1.Taint{}
		for _, t := range declared {
			ours[t.Key+":"+t.Effect] = true
			taints = append(taints, corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
			mine = append(mine, taints[len(taints)-1].ToString())
		}
		for _, p := range previous {
			ours[p] = true
		}
		var kept []corev1.Taint
		for _, t := range node.Spec.Taints {
			if !ours[t.Key+":"+string(t.Effect)] {
				kept = append(kept, t)
			}
		}
		taints = append(append([]corev1.Taint{}, kept...), taints...)
		for i := range taints {
			taints[i].TimeAdded = nil // the API server sets it for NoExecute taints.
		}
		obj["spec"] = map[string]any{"taints": taints}
		if len(mine) > 0 {
			sort.Strings(mine)
			meta["annotations"] = map[string]string{TaintsAnnotation: strings.Join(mine, ",")}
		}
	}
	return json.Marshal(obj)
}

// splitTaints reads TaintsAnnotation into "key:Effect" identities (a taint is identified
// by key and effect; the value may change).
func splitTaints(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t == "" {
			continue
		}
		keyValue, effect, _ := strings.Cut(t, ":")
		key, _, _ := strings.Cut(keyValue, "=")
		out = append(out, key+":"+effect)
	}
	return out
}

// applyNode applies the Node's patch at the resourceVersion it was read at, reading the
// Node again when the kubelet updated it in between (a few times at most).
func applyNode(ctx context.Context, cs kubernetes.Interface, node *corev1.Node, labels map[string]string, taints []schema.Taint, manager string) error {
	var err error
	for range 3 {
		var patch []byte
		if patch, err = nodePatch(node, labels, taints, manager); err != nil {
			return err
		}
		_, err = cs.CoreV1().Nodes().Patch(ctx, node.Name, types.ApplyPatchType, patch, metav1.PatchOptions{FieldManager: manager, Force: ptr.To(true)})
		if !apierrors.IsConflict(err) {
			return err
		}
		if node, err = cs.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{}); err != nil {
			return err
		}
	}
	return err
}
