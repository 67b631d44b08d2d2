package render

import (
	"context"
	"errors"

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
			if app.Err != nil {
				// A problem in a fleet file (an addon's or alert policy's) is reported at
				// its own file and field, once, not once per cluster.
				if list := schema.AsErrorList(app.Err); list != nil {
					errs = appendNew(errs, list...)
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
				errs = append(errs, o.Errorf("spec.source", "on cluster %s, %s", c.Metadata.Name, p))
			}
		}
	}
	errs.Sort()
	return errs
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
