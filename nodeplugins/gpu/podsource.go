package gpu

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// KubePods is the PodSource of a real cluster: the API server, through the DaemonSet's
// service account (the gpu-manager ClusterRole allows pods list and patch).
type KubePods struct {
	client kubernetes.Interface
}

var _ PodSource = (*KubePods)(nil)

// NewKubePods returns a PodSource over client.
func NewKubePods(client kubernetes.Interface) *KubePods {
	return &KubePods{client: client}
}

// List asks the API server for the node's pending pods only (a field selector it serves from
// its index), so a node with many running pods costs the same as an idle one.
func (k *KubePods) List(ctx context.Context, node string) ([]corev1.Pod, error) {
	sel := fields.AndSelectors(
		fields.OneTermEqualSelector("spec.nodeName", node),
		fields.OneTermEqualSelector("status.phase", string(corev1.PodPending)),
	)
	list, err := k.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list the pending pods of node %s: %w", node, err)
	}
	return list.Items, nil
}

// Patch merges annotations into the pod: a merge patch touches only those keys, so it cannot
// conflict with the kubelet updating the pod's status at the same time.
func (k *KubePods) Patch(ctx context.Context, namespace, name string, annotations map[string]string) error {
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return fmt.Errorf("annotations of pod %s/%s: %w", namespace, name, err)
	}
	if _, err := k.client.CoreV1().Pods(namespace).Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("annotate pod %s/%s: %w", namespace, name, err)
	}
	return nil
}
