package addons

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitfleet.dev/gitfleet/render/order"
	"gitfleet.dev/gitfleet/schema"
)

// Labels that every object of an addon carries, beside the ones the renderer adds for
// every unit (managed-by, app, fleet).
const (
	LabelPartOf = "app.kubernetes.io/part-of"
	PartOfValue = "gitfleet-addons"
	LabelAddon  = "gitfleet.dev/addon"
)

// AnnotationPrune marks objects that must survive the removal of their addon: the CRDs
// (deleting a CRD deletes every object of its kind: removing the TApp addon would delete
// every TApp workload of the cluster) and the tke Namespace that Audit shares with the
// TKEStack platform on the Global cluster. The reconciler is to leave objects with the
// value PruneDisabled out of its deletions (ssa.DeleteOptions.Exclusions).
const (
	AnnotationPrune = "gitfleet.dev/prune"
	PruneDisabled   = "disabled"
)

// Release is the TKEStack release whose addon manifests the catalog holds
// (catalog/<Release>/<type>/). schema.AddonCatalog pins the images of the same release; a
// later release is a new directory beside it, chosen here.
const Release = "v1.5.0"

// Namespaces the addons run in.
const (
	// SystemNamespace holds every addon but Audit.
	SystemNamespace = "kube-system"
	// AuditNamespace is where TKEStack runs tke-audit-api: its platform namespace.
	AuditNamespace = "tke"
)

// Options are the inputs of a render that do not come from the fleet repository.
type Options struct {
	// PluginVersion is the tag of gitfleet's own node-plugin images (gitfleet-gpu for
	// GPUManager, gitfleet-cni for Galaxy): the gitfleet release that built them, so that
	// a gitfleet upgrade rolls its node plugins too. cmd/ sets it from the binary's version.
	PluginVersion string
	// PluginRegistry is where those images come from unless the Addon sets spec.registry
	// (a private mirror then holds them next to TKEStack's images).
	PluginRegistry string
	// PluginImages pin gitfleet's node-plugin images by name (gitfleet-gpu,
	// gitfleet-cni) to a reference by digest (REPO@sha256:...), the ones make image built
	// with this gitfleet: the install passes them to serve (--node-plugin-image) so that
	// the DaemonSets run exactly the bytes that were built and pushed with it. An Addon's
	// spec.registry (a mirror) keeps the digest and replaces the repository's registry.
	// A name without an entry takes PluginRegistry/NAME:PluginVersion.
	PluginImages map[string]string
}

// Defaults of Options.
const (
	DefaultPluginVersion  = "v0.1.0"
	DefaultPluginRegistry = "docker.io/gitfleet"
)

// DefaultOptions returns the options Render uses.
func DefaultOptions() Options {
	return Options{PluginVersion: DefaultPluginVersion, PluginRegistry: DefaultPluginRegistry}
}

// Render returns the objects addon a puts on cluster c, sorted deterministically. It uses
// DefaultOptions.
func Render(a *schema.Addon, c *schema.Cluster) ([]*unstructured.Unstructured, error) {
	return RenderWithOptions(a, c, DefaultOptions())
}

// RenderWithOptions is Render with explicit options; a zero field of opts takes its
// default. The addon is expected to be loaded (defaulted and validated) by schema.Load;
// the defaults the render depends on are applied again for an addon built in code. An
// error is an *Error.
func RenderWithOptions(a *schema.Addon, c *schema.Cluster, opts Options) ([]*unstructured.Unstructured, error) {
	fail := func(err error) ([]*unstructured.Unstructured, error) {
		return nil, &Error{Addon: a.Metadata.Name, Type: a.Spec.Type, Cluster: c.Metadata.Name, Err: err}
	}
	// A zero field takes its default, so that Options{PluginVersion: v} is enough.
	if opts.PluginVersion == "" {
		opts.PluginVersion = DefaultPluginVersion
	}
	if opts.PluginRegistry == "" {
		opts.PluginRegistry = DefaultPluginRegistry
	}
	b, ok := builders[a.Spec.Type]
	if !ok {
		return fail(fmt.Errorf("addon type %q has no manifests in catalog %s", a.Spec.Type, Release))
	}
	v := &values{
		Addon:     a,
		Cluster:   c,
		Namespace: SystemNamespace,
		opts:      opts,
		dir:       b.dir,
	}
	if b.namespace != "" {
		v.Namespace = b.namespace
	}
	if b.params != nil {
		p, err := b.params(v)
		if err != nil {
			return fail(err)
		}
		v.P = p
	}
	objs, err := execute(b.dir, v)
	if err != nil {
		return fail(err)
	}
	for _, u := range objs {
		markAddon(u, a.Metadata.Name)
	}
	order.Sort(objs)
	if dup := duplicate(objs); dup != "" {
		return fail(fmt.Errorf("catalog %s/%s renders %s twice", Release, b.dir, dup))
	}
	return objs, nil
}

// builder is how one addon type is rendered: the catalog directory of its templates,
// the namespace it runs in (SystemNamespace unless set) and the function that turns its
// parameters into template values (nil for types without parameters).
type builder struct {
	dir       string
	namespace string
	params    func(*values) (any, error)
}

// builders covers every type of schema.AddonCatalog (TestEveryCatalogTypeRenders).
var builders = map[schema.AddonType]builder{
	schema.AddonTApp:               {dir: "tapp"},
	schema.AddonCronHPA:            {dir: "cronhpa"},
	schema.AddonMonitoring:         {dir: "monitoring", params: monitoringParams},
	schema.AddonLogAgent:           {dir: "logagent"},
	schema.AddonGPUManager:         {dir: "gpumanager", params: gpuManagerParams},
	schema.AddonNvidiaDevicePlugin: {dir: "nvidiadeviceplugin"},
	schema.AddonCSIOperator:        {dir: "csioperator", params: csiOperatorParams},
	schema.AddonLBCF:               {dir: "lbcf", params: lbcfParams},
	schema.AddonGalaxy:             {dir: "galaxy", params: galaxyParams},
	schema.AddonGalaxyIPAM:         {dir: "galaxyipam", params: galaxyIPAMParams},
	schema.AddonPersistentEvent:    {dir: "persistentevent", params: persistentEventParams},
	schema.AddonAudit:              {dir: "audit", namespace: AuditNamespace, params: auditParams},
	schema.AddonMetricsServer:      {dir: "metricsserver"},
}

// markAddon labels an object, and the pods of a workload, with the addon it belongs to.
// Selectors are left alone: they are immutable, and the templates' own labels already
// tell the workloads apart.
func markAddon(u *unstructured.Unstructured, addon string) {
	add := func(labels map[string]string) map[string]string {
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelPartOf] = PartOfValue
		labels[LabelAddon] = addon
		return labels
	}
	u.SetLabels(add(u.GetLabels()))
	if !isWorkload(u.GetKind()) {
		return
	}
	labels, _, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "labels")
	// The template always has labels (its selector needs them), so the path exists.
	_ = unstructured.SetNestedStringMap(u.Object, add(labels), "spec", "template", "metadata", "labels")
}

func isWorkload(kind string) bool {
	return slices.Contains([]string{"Deployment", "DaemonSet", "StatefulSet"}, kind)
}

// duplicate returns the first object that appears twice in a sorted list, or "".
func duplicate(objs []*unstructured.Unstructured) string {
	for i := 1; i < len(objs); i++ {
		if id(objs[i-1]) == id(objs[i]) {
			return id(objs[i])
		}
	}
	return ""
}

// id names an object the way people read it: Kind namespace/name.
func id(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + " " + ns + "/" + u.GetName()
	}
	return u.GetKind() + " " + u.GetName()
}
