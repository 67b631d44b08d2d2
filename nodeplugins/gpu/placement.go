package gpu

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Annotations of TKEStack's scheduler extender (gpu-quota-admission), which chooses the card
// of every GPU container when it schedules a pod, and of the device plugin, which says that
// it followed the choice.
const (
	// AnnotationPredicateIndexPrefix + <container index> holds the NVML index of the card the
	// extender chose for that container, or comma-separated indexes for whole cards.
	AnnotationPredicateIndexPrefix = "tencent.com/predicate-gpu-idx-"
	// AnnotationPredicateTime is when the extender chose (nanoseconds since the epoch): the
	// oldest choice is admitted first, as the kubelet admits pods in the order they arrive.
	AnnotationPredicateTime = "tencent.com/predicate-time"
	// AnnotationPredicateNode is the node the extender chose the cards on.
	AnnotationPredicateNode = "tencent.com/predicate-node"
	// AnnotationAssigned is "true" once the device plugin has given every GPU container of the
	// pod its chosen cards; the extender then counts the pod as placed.
	AnnotationAssigned = "tencent.com/gpu-assigned"
)

// PodSource is the API server as Placements needs it: the pods bound to a node and not yet
// running, and a way to annotate one.
type PodSource interface {
	// List returns the pods bound to node (spec.nodeName) in phase Pending.
	List(ctx context.Context, node string) ([]corev1.Pod, error)
	// Patch merges annotations into the pod's metadata.annotations.
	Patch(ctx context.Context, namespace, name string, annotations map[string]string) error
}

// Placement is the extender's choice for the container the kubelet is admitting now.
type Placement struct {
	Pod            types.NamespacedName
	UID            types.UID
	Container      string
	ContainerIndex int
	// Cards are NVML indexes, in the annotation's order.
	Cards []int

	// needs lists, per GPU container index of the pod, the resources it asks for, so that
	// Placed knows when the whole pod is placed.
	needs map[int][]Resource
}

// String names the pod, container and annotation, for messages a platform engineer reads in
// the pod's events.
func (p Placement) String() string {
	idx := make([]string, len(p.Cards))
	for i, c := range p.Cards {
		idx[i] = strconv.Itoa(c)
	}
	return fmt.Sprintf("pod %s container %q (%s%d=%s)", p.Pod, p.Container, AnnotationPredicateIndexPrefix, p.ContainerIndex, strings.Join(idx, ","))
}

// PlacementOptions tune how the plugin reads the extender's choices.
type PlacementOptions struct {
	// NodeName is the node the plugin serves (the DaemonSet's NODE_NAME).
	NodeName string
	// Timeout bounds each List and Patch. The kubelet waits for Allocate while it admits the
	// pod, so a slow API server must not hold admission: past the timeout the plugin chooses
	// the card itself, as it does without an API server.
	Timeout time.Duration
	// Logger receives the choices followed and the API errors.
	Logger *slog.Logger
}

// DefaultPlacementOptions returns the options the gitfleet-gpu binary runs with.
func DefaultPlacementOptions() PlacementOptions {
	return PlacementOptions{Timeout: 5 * time.Second, Logger: slog.Default()}
}

// Placements finds the extender's choice for the container being admitted. The kubelet's
// Allocate says neither pod nor container, so, as TKEStack's gpu-manager does, the candidate
// is the pending pod on this node with predicate annotations and not yet assigned (the oldest
// predicate-time first) with an annotated container, not yet placed, that asks for as many
// units as the kubelet is allocating.
type Placements struct {
	pods PodSource
	opts PlacementOptions

	mu sync.Mutex
	// placed records, per pod, which resources of which container index this plugin has
	// allocated: the pod stays a candidate until all are, and a placed container must not be
	// matched again. Entries go once the pod is no longer pending.
	placed map[types.UID]map[int][]Resource
}

// NewPlacements returns a reader of the extender's choices for the pods of opts.NodeName.
func NewPlacements(pods PodSource, opts PlacementOptions) *Placements {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Placements{pods: pods, opts: opts, placed: map[types.UID]map[int][]Resource{}}
}

// Lookup returns the extender's choice for the container asking for units of r now, or nil
// when no pod on the node has one (no extender, or a pod it did not place): the plugin then
// chooses as it would without the extender. An API server that cannot be reached is logged
// and answered with nil for the same reason. An annotation that is not a card index is an
// error: the pod cannot be placed as the extender meant.
func (p *Placements) Lookup(ctx context.Context, r Resource, units int) (*Placement, error) {
	if p == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	pods, err := p.pods.List(ctx, p.opts.NodeName)
	if err != nil {
		p.opts.Logger.Warn("cannot read the scheduler extender's card choices, choosing the card without them",
			"node", p.opts.NodeName, "err", err)
		return nil, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forgetGone(pods)
	for _, pod := range p.candidates(pods) {
		for i, c := range pod.Spec.Containers {
			if containerUnits(c, r) != units || slices.Contains(p.placed[pod.UID][i], r) {
				continue
			}
			value, ok := pod.Annotations[AnnotationPredicateIndexPrefix+strconv.Itoa(i)]
			if !ok {
				continue
			}
			cards, err := parseCardIndexes(value)
			if err != nil {
				return nil, &AllocationError{Resource: r, Units: units, Reason: fmt.Sprintf(
					"pod %s/%s: annotation %s%d=%q: %v", pod.Namespace, pod.Name, AnnotationPredicateIndexPrefix, i, value, err)}
			}
			return &Placement{
				Pod: types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}, UID: pod.UID,
				Container: c.Name, ContainerIndex: i, Cards: cards, needs: gpuNeeds(pod),
			}, nil
		}
	}
	return nil, nil
}

// Placed records that resource r of pl's container was allocated on the extender's cards.
// Once every resource of every GPU container of the pod is, the pod is annotated
// gpu-assigned=true. A failed patch is logged, not returned: the container has its cards, and
// the extender only reads the annotation for its books.
func (p *Placements) Placed(ctx context.Context, pl Placement, r Resource) {
	if p == nil {
		return
	}
	p.mu.Lock()
	byContainer := p.placed[pl.UID]
	if byContainer == nil {
		byContainer = map[int][]Resource{}
		p.placed[pl.UID] = byContainer
	}
	if !slices.Contains(byContainer[pl.ContainerIndex], r) {
		byContainer[pl.ContainerIndex] = append(byContainer[pl.ContainerIndex], r)
	}
	complete := true
	for i, needs := range pl.needs {
		for _, need := range needs {
			if !slices.Contains(byContainer[i], need) {
				complete = false
			}
		}
	}
	p.mu.Unlock()
	p.opts.Logger.Info("followed the scheduler extender's card choice", "placement", pl.String(), "resource", r, "pod_placed", complete)
	if !complete {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	if err := p.pods.Patch(ctx, pl.Pod.Namespace, pl.Pod.Name, map[string]string{AnnotationAssigned: "true"}); err != nil {
		p.opts.Logger.Warn("cannot mark the pod as placed on its cards", "pod", pl.Pod.String(), "annotation", AnnotationAssigned, "err", err)
	}
}

// candidates are the pods the extender placed on this node and this plugin has not finished,
// the oldest choice first.
func (p *Placements) candidates(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, pod := range pods {
		a := pod.Annotations
		switch {
		case pod.Status.Phase != corev1.PodPending, pod.DeletionTimestamp != nil,
			pod.Spec.NodeName != p.opts.NodeName, a[AnnotationAssigned] == "true", len(gpuNeeds(pod)) == 0:
			continue
		case a[AnnotationPredicateNode] != "" && a[AnnotationPredicateNode] != p.opts.NodeName:
			continue // chosen on another node's cards; its indexes mean nothing here
		}
		if _, ok := a[AnnotationPredicateTime]; !ok {
			continue
		}
		out = append(out, pod)
	}
	slices.SortStableFunc(out, func(a, b corev1.Pod) int {
		return cmp.Or(cmp.Compare(predicateTime(a), predicateTime(b)),
			cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// forgetGone drops the records of pods that are no longer pending on the node.
func (p *Placements) forgetGone(pods []corev1.Pod) {
	live := map[types.UID]bool{}
	for _, pod := range pods {
		live[pod.UID] = true
	}
	for uid := range p.placed {
		if !live[uid] {
			delete(p.placed, uid)
		}
	}
}

// predicateTime orders candidates. The extender writes nanoseconds; a value that does not
// parse counts as the pod's creation, as gpu-manager does.
func predicateTime(pod corev1.Pod) int64 {
	if t, err := strconv.ParseInt(pod.Annotations[AnnotationPredicateTime], 10, 64); err == nil {
		return t
	}
	return pod.CreationTimestamp.UnixNano()
}

// gpuNeeds lists the vcuda resources of each container that has an extender annotation.
func gpuNeeds(pod corev1.Pod) map[int][]Resource {
	out := map[int][]Resource{}
	for i, c := range pod.Spec.Containers {
		if _, ok := pod.Annotations[AnnotationPredicateIndexPrefix+strconv.Itoa(i)]; !ok {
			continue
		}
		for _, r := range []Resource{ResourceCore, ResourceMemory} {
			if containerUnits(c, r) > 0 {
				out[i] = append(out[i], r)
			}
		}
	}
	return out
}

// containerUnits is what a container asks of r. Extended resources are set as limits (their
// requests, when given, must be equal), so the limit is read first.
func containerUnits(c corev1.Container, r Resource) int {
	name := corev1.ResourceName(r)
	if q, ok := c.Resources.Limits[name]; ok {
		return int(q.Value())
	}
	if q, ok := c.Resources.Requests[name]; ok {
		return int(q.Value())
	}
	return 0
}

func parseCardIndexes(value string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(value, ",") {
		i, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || i < 0 {
			return nil, fmt.Errorf("want a card index or comma-separated card indexes (0, 1, ...)")
		}
		if slices.Contains(out, i) {
			return nil, fmt.Errorf("card %d is named twice", i)
		}
		out = append(out, i)
	}
	return out, nil
}
