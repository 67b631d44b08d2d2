package reconciler

import (
	"time"

	"context"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
		u.SetGroupVersionKind(e.ObjMetadata.GroupKind.WithVersion(groupVersionVersion(e.GroupVersion)))
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

func groupVersionVersion(gv string) string {
	for i := len(gv) - 1; i >= 0; i-- {
		if gv[i] == '/' {
			return gv[i+1:]
		}
	}
	return gv
}

// healthPollInterval is short because the CLI waits on it; kstatus reads are cheap GETs.
const healthPollInterval = time.Second
