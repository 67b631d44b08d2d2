package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gitfleet.dev/gitfleet/reconciler"
)

// TestServeThreeClusters: three member clusters converge on a push within 5 s of a signed
// webhook, and within one interval without one; status commits go to the Fleet's status
// branch; removing a Cluster from the repository prunes what gitfleet put there.
func TestServeThreeClusters(t *testing.T) {
	r := newRemoteFleet(t, "three")
	r.push(map[string]string{
		"fleet.yaml":                  "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: three\nspec:\n  statusBranch: fleet-status\n",
		"clusters/gamma.yaml":         clusterYAML(gamma),
		"apps/web/app.yaml":           appYAML("web"),
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":            namespace("three"),
		"apps/web/cm.yaml":            configMap("three", "web", "v1"),
	})
	loop, _ := r.loop(2 * time.Second)
	secret := []byte("push-secret")
	hooks := httptest.NewServer(reconciler.WebhookHandler(reconciler.WebhookOptions{Secret: secret, Trigger: loop.Trigger}))
	defer hooks.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = loop.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	all := func(v string) func() bool {
		return func() bool {
			for _, c := range []string{alpha, beta, gamma} {
				if configMapValue(t, c, "three", "web") != v {
					return false
				}
			}
			return true
		}
	}
	eventually(t, 20*time.Second, "first apply to three clusters", all("v1"))

	// A push and GitHub's webhook.
	r.push(map[string]string{"apps/web/cm.yaml": configMap("three", "web", "v2")})
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, hooks.URL+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook: %v %v", resp, err)
	}
	took := eventually(t, 5*time.Second, "three clusters to converge after the webhook", all("v2"))
	t.Logf("converged %s after the webhook", took)

	// A push without a webhook: within one interval (2 s here).
	r.push(map[string]string{"apps/web/cm.yaml": configMap("three", "web", "v3")})
	eventually(t, 4*time.Second, "three clusters to converge within an interval", all("v3"))

	// Status commits went to the Fleet's status branch, not to main.
	if out, err := exec.Command("git", "--git-dir", r.bare, "show", "fleet-status:status/clusters/gamma.yaml").CombinedOutput(); err != nil || !strings.Contains(string(out), "phase: Synced") {
		t.Errorf("status on the fleet-status branch: %v\n%s", err, out)
	}
	if out, err := exec.Command("git", "--git-dir", r.bare, "ls-tree", "-r", "--name-only", "main").Output(); err != nil || strings.Contains(string(out), "status/") {
		t.Errorf("main holds status files (err %v):\n%s", err, out)
	}

	// gamma leaves the fleet: what gitfleet put there is pruned.
	r.push(map[string]string{"clusters/gamma.yaml": ""})
	loop.Trigger()
	eventually(t, 10*time.Second, "gamma's objects to be pruned", func() bool { return configMapValue(t, gamma, "three", "web") == "" })
	if v := configMapValue(t, alpha, "three", "web"); v != "v3" {
		t.Errorf("alpha has %q after gamma left, want v3", v)
	}
}
