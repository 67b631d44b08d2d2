package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"gitfleet.dev/gitfleet/render/remotechart"
	"gitfleet.dev/gitfleet/render/yamlbound"
	"gitfleet.dev/gitfleet/schema"
)

// Check renders every App for every cluster it targets and applies the workload rules
// of the seed's platform to the result (GPU and floating-IP resources only where the
// cluster's addons provide them, vcuda units, cron schedules, TApp references, tenancy
// of business Apps). Every problem is reported at the App's file, naming the cluster and
// the object, so that `gitfleet validate` catches in review what would fail on a cluster.
func (r *Renderer) Check(ctx context.Context) schema.ErrorList {
	var errs schema.ErrorList
	for _, c := range r.repo.Clusters {
		facts := schema.ClusterFacts{
			Name:               c.Metadata.Name,
			GPUManager:         r.repo.HasAddon(c, schema.AddonGPUManager),
			NvidiaDevicePlugin: r.repo.HasAddon(c, schema.AddonNvidiaDevicePlugin),
			GalaxyIPAM:         r.repo.HasAddon(c, schema.AddonGalaxyIPAM),
		}
		for _, app := range r.Cluster(ctx, c).Apps {
			o := app.App.Origin
			var needsKey *NeedsKeyError
			if errors.As(app.Err, &needsKey) && r.opts.Decrypt == nil {
				// Without the key only the sops files' structure is checked (while the
				// repository is copied into memory); validate notes SealedFiles.
				continue
			}
			var notCached *remotechart.NotCachedError
			if errors.As(app.Err, &notCached) {
				// validate works offline; it notes UnfetchedCharts.
				continue
			}
			var notLocked *remotechart.NotLockedError
			var stale *remotechart.StaleLockError
			if errors.As(app.Err, &notLocked) || errors.As(app.Err, &stale) {
				// The same for every cluster: reported once, at the App's chart.
				var rerr *Error
				msg := app.Err.Error()
				if errors.As(app.Err, &rerr) {
					msg = rerr.Err.Error()
				}
				errs = appendNew(errs, o.Errorf("spec.source.helm", "%s", msg))
				continue
			}
			if app.Err != nil {
				// A problem in a fleet file (an addon's or alert policy's) is reported at
				// its own file and field, once, not once per cluster.
				if list := schema.AsErrorList(app.Err); list != nil {
					errs = appendNew(errs, list...)
					continue
				}
				// A file over a YAML bound is reported at that file, once, whichever Apps
				// read it.
				var be *yamlbound.Error
				if errors.As(app.Err, &be) {
					errs = appendNew(errs, schema.BoundError(be))
					continue
				}
				var rerr *Error
				msg := app.Err.Error()
				if errors.As(app.Err, &rerr) {
					msg = rerr.Err.Error()
				}
				errs = append(errs, o.Errorf("spec.source", "cannot be rendered for cluster %s: %s", c.Metadata.Name, msg))
				continue
			}
			problems := schema.CheckWorkloads(app.Objects, facts)
			if b := app.App.Spec.Business; b != "" {
				var owned []string
				for _, ns := range r.repo.NamespacesOf(b) {
					if ns.Spec.Cluster == c.Metadata.Name {
						owned = append(owned, ns.Metadata.Name)
					}
				}
				problems = append(problems, schema.CheckTenancy(app.Objects, b, owned)...)
			}
			for _, p := range problems {
				errs = append(errs, r.problemAt(app.App, c.Metadata.Name, p))
			}
		}
	}
	// An App's own chart must be locked whether or not it targets a cluster today: the lock
	// belongs in the pull request that adds the App, not in the one that first targets it.
	for _, app := range r.repo.Apps {
		if h := app.Spec.Source.Helm; h != nil && h.IsRemote() {
			if _, err := lockedChart(r.repo, remoteChart{ref: remotechart.AppRef(h)}); err != nil {
				errs = appendNew(errs, app.Origin.Errorf("spec.source.helm", "loading chart %s: %s", h.Chart, err.Error()))
			}
		}
	}
	errs.Sort()
	return errs
}

// problemAt reports a workload problem at the line of the manifest that wrote the object,
// when the App's kustomize sources have it, and at the App otherwise (a Helm template's
// output has no line in the repository).
func (r *Renderer) problemAt(app *schema.App, cluster string, p schema.WorkloadProblem) *schema.FieldError {
	if k := app.Spec.Source.Kustomize; k != nil {
		dirs := []string{path.Clean(k.Path)}
		for _, o := range k.Overlays {
			dirs = append(dirs, path.Clean(o.Path))
		}
		kind, _, _ := strings.Cut(p.Object, "/")
		name := p.Object[strings.LastIndex(p.Object, "/")+1:]
		if pos, ok := r.manifests.locate(kind, name, p.Field, dirs); ok {
			return &schema.FieldError{Position: pos, Field: p.Field, Message: fmt.Sprintf("app %s on cluster %s, %s: %s", app.Metadata.Name, cluster, p.Object, p.Message)}
		}
	}
	return app.Origin.Errorf("spec.source", "on cluster %s, %s", cluster, p)
}

// appendNew appends the errors not already in the list.
func appendNew(list schema.ErrorList, errs ...*schema.FieldError) schema.ErrorList {
	for _, e := range errs {
		dup := false
		for _, have := range list {
			dup = dup || *have == *e
		}
		if !dup {
			list = append(list, e)
		}
	}
	return list
}
