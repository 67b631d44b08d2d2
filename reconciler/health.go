package reconciler

import (
	"time"

	"context"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// waitHealthy waits, up to the health timeout, for objs to reach their desired state, and
// classifies what it saw.
func (a *clusterApplier) waitHealthy(ctx context.Context, objs []*unstructured.Unstructured) Health {
	set := object.UnstructuredSetToObjMetadataSet(objs)
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
	for _, o := range objs {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(o.GroupVersionKind())
		if err := a.client.Get(ctx, client.ObjectKeyFromObject(o), u); err != nil {
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
	// Healthy: everything is fine now; the wait ended just before the last object got there.
	return worst
}

var healthRank = map[Health]int{Healthy: 0, Progressing: 1, Unknown: 2, Failed: 3}

// worse is the worse of two healths: Failed, then Unknown, then Progressing, then Healthy.
func worse(a, b Health) Health {
	if healthRank[b] > healthRank[a] {
		return b
	}
	return a
}

// healthPollInterval is short because the CLI waits on it; kstatus reads are cheap GETs.
const healthPollInterval = time.Second
