package reconciler

import (
	"os"
	"path/filepath"
	"testing"

	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"gitfleet.dev/gitfleet/schema"
)

// TestRESTConfigHasNoClientSideLimit: by default the clients of member clusters carry no
// rate limiter (the API server's Priority and Fairness limits), and --kube-qps gives one.
func TestRESTConfigHasNoClientSideLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kubeconfig := `apiVersion: v1
kind: Config
clusters:
- name: alpha
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: alpha
  user: {token: x}
contexts:
- name: alpha
  context: {cluster: alpha, user: alpha}
`
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	conn, err := NewKubeconfigConnector(path)
	if err != nil {
		t.Fatal(err)
	}
	cluster := &schema.Cluster{}
	cluster.Metadata.Name = "alpha"
	cluster.Spec.Credentials.KubeconfigContext = "alpha"
	limiter := func() (float32, bool) {
		t.Helper()
		cfg, err := conn.RESTConfig(cluster)
		if err != nil {
			t.Fatal(err)
		}
		cfg.GroupVersion = &k8sschema.GroupVersion{Version: "v1"}
		cfg.APIPath = "/api"
		cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
		rc, err := rest.RESTClientFor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if rl := rc.GetRateLimiter(); rl != nil {
			return rl.QPS(), true
		}
		return 0, false
	}
	if qps, limited := limiter(); limited {
		t.Errorf("by default a member cluster's client is limited to %v requests/s; want no client-side limit", qps)
	}
	conn.QPS, conn.Burst = 50, 10
	if qps, limited := limiter(); !limited || qps != 50 {
		t.Errorf("with QPS 50 the client's limit is %v (limited %v), want 50", qps, limited)
	}
}
