package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gitfleet.dev/gitfleet/reconciler/status"
)

// TestServeClusterStoppedMidApply stops a member cluster's API server while an apply to it
// is under way: the other cluster converges, the stopped one's status says why, nothing is
// pruned by the half-done apply, and it converges once it is back.
func TestServeClusterStoppedMidApply(t *testing.T) {
	r := newRemoteFleet(t, "midapply")
	files := map[string]string{
		"apps/big/app.yaml": appYAML("big"),
		"apps/big/ns.yaml":  namespace("midapply"),
	}
	res := []string{"ns.yaml"}
	for i := range 400 {
		name := fmt.Sprintf("cm-%03d.yaml", i)
		res = append(res, name)
		files["apps/big/"+name] = configMap("midapply", fmt.Sprintf("cm-%03d", i), "v1")
	}
	files["apps/big/kustomization.yaml"] = kustomization(res...)
	r.push(files)
	loop, _ := r.loop(time.Hour)

	down := env.Cluster(beta)
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = down.StartAPIServer(context.Background())
		}
	})
	done := make(chan error, 1)
	go func() { _, err := loop.ReconcileOnce(t.Context()); done <- err }()
	// Stop beta once its apply has begun: a few of its objects exist.
	eventually(t, 20*time.Second, "beta's apply to begin", func() bool { return configMapValue(t, beta, "midapply", "cm-000") == "v1" })
	if err := down.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v := configMapValue(t, alpha, "midapply", "cm-399"); v != "v1" {
		t.Errorf("alpha's last object is %q while beta went down mid-apply, want v1", v)
	}
	st, _ := r.remoteStatus(beta)
	if st.Phase == status.Synced || len(st.Errors) == 0 {
		t.Fatalf("beta's status after going down mid-apply: %+v; want a failure with its reason", st)
	}
	t.Logf("beta's status: %s: %s", st.Phase, strings.SplitN(st.Errors[0], "\n", 2)[0])

	if err := down.StartAPIServer(t.Context()); err != nil {
		t.Fatal(err)
	}
	restarted = true
	eventually(t, 30*time.Second, "beta to converge after it came back", func() bool {
		if _, err := loop.ReconcileOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		return configMapValue(t, beta, "midapply", "cm-399") == "v1" && configMapValue(t, beta, "midapply", "cm-000") == "v1"
	})
	if st, _ := r.remoteStatus(beta); st.Phase != status.Synced {
		t.Errorf("beta's status after it came back: %s, want Synced", st.Phase)
	}
}
