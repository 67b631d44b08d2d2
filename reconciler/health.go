package reconciler

import (
	"time"

	"context"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// waitHealthy waits, up to the health timeout, for the applied objects to reach their
// desired state, and classifies what it saw.
func (a *clusterApplier) waitHealthy(ctx context.Context, cs *ssa.ChangeSet) Health {
	set := cs.ToObjMetadataSet()
	err := a.manager.WaitForSetWithContext(ctx, set, ssa.WaitOptions{
		Interval: healthPollInterval,
		Timeout:  a.opts.HealthTimeout,
		FailFast: true,
	})
	if err == nil {
		return Healthy
	}
	a.opts.Log.Info("objects not healthy yet", "cluster", a.cluster, "reason", err.Error())
	// The wait's error is text; decide between failed and still progressing from the
	// objects' own status instead of parsing it.
	worst := Healthy
	for _, e := range cs.Entries {
		u := &unstructured.Unstructured{}
		gv, _ := schema.ParseGroupVersion(e.GroupVersion) // built by the apply engine from a valid object
		u.SetGroupVersionKind(e.ObjMetadata.GroupKind.WithVersion(gv.Version))
		if err := a.client.Get(ctx, client.ObjectKey{Namespace: e.ObjMetadata.Namespace, Name: e.ObjMetadata.Name}, u); err != nil {
			worst = Unknown
			continue
		}
		res, err := status.Compute(u)
		switch {
		case err != nil:
			worst = Unknown
		case res.Status == status.FailedStatus:
			return Failed
		case res.Status != status.CurrentStatus && worst == Healthy:
			worst = Progressing
		}
	}
	if worst == Healthy {
		// Everything is fine now; the wait ended just before the last object got there.
		return Healthy
	}
	return worst
}

// healthPollInterval is short because the CLI waits on it; kstatus reads are cheap GETs.
const healthPollInterval = time.Second
