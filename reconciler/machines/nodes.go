package machines

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

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

// ApplyNodes keeps the labels and taints declared on a cluster's machines on their
// Nodes, with server-side apply of only those fields under opts.FieldManager. Taking
// part in server-side apply is what makes removal work: a label or taint that gitfleet
// applied before and the repository no longer declares is dropped by the next apply,
// and a Node whose machine left the repository gets an empty apply that drops them all.
// Labels and taints that others set (the kubelet, kubectl, the node controller's
// not-ready taint) are left alone.
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
		err := applyNode(ctx, cs, node, nodeConfig(node.Name, m), opts.FieldManager)
		if err != nil {
			err = fmt.Errorf("cluster %s machine %s: applying labels and taints to node %s: %w", c.Metadata.Name, m.IP, node.Name, err)
		}
		out = append(out, NodeResult{Machine: m.IP, Node: node.Name, Action: NodeApplied, Err: err})
	}
	for i := range list.Items {
		n := &list.Items[i]
		if claimed[n.Name] || !managedBy(n, opts.FieldManager) {
			continue
		}
		err := applyNode(ctx, cs, n, corev1ac.Node(n.Name), opts.FieldManager)
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

// managedBy says whether manager applied any field of the Node: only then does a Node
// without a machine need releasing.
func managedBy(n *corev1.Node, manager string) bool {
	for _, f := range n.ManagedFields {
		if f.Manager == manager && f.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// nodeConfig is the apply configuration of a machine's Node: its name, labels and
// taints, nothing else.
func nodeConfig(name string, m schema.Machine) *corev1ac.NodeApplyConfiguration {
	ac := corev1ac.Node(name)
	if len(m.Labels) > 0 {
		ac.WithLabels(m.Labels)
	}
	if len(m.Taints) > 0 {
		taints := make([]*corev1ac.TaintApplyConfiguration, 0, len(m.Taints))
		for _, t := range m.Taints {
			tc := corev1ac.Taint().WithKey(t.Key).WithEffect(corev1.TaintEffect(t.Effect))
			if t.Value != "" {
				tc.WithValue(t.Value)
			}
			taints = append(taints, tc)
		}
		sort.Slice(taints, func(i, j int) bool {
			return *taints[i].Key+string(*taints[i].Effect) < *taints[j].Key+string(*taints[j].Effect)
		})
		ac.WithSpec(corev1ac.NodeSpec().WithTaints(taints...))
	}
	return ac
}

// applyNode applies ac at the Node's resourceVersion, reading the Node again when the
// kubelet updated it in between (a few times at most).
func applyNode(ctx context.Context, cs kubernetes.Interface, node *corev1.Node, ac *corev1ac.NodeApplyConfiguration, manager string) error {
	rv := node.ResourceVersion
	var err error
	for range 3 {
		ac.WithResourceVersion(rv)
		_, err = cs.CoreV1().Nodes().Apply(ctx, ac, metav1.ApplyOptions{FieldManager: manager, Force: true})
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh, getErr := cs.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		if getErr != nil {
			return getErr
		}
		rv = fresh.ResourceVersion
	}
	return err
}
