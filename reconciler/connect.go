package reconciler

import (
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"gitfleet.dev/gitfleet/schema"
)

// Connector finds the credentials of a member cluster. The fleet repo only names them
// (spec.credentials); where they live is the operator's choice.
type Connector interface {
	RESTConfig(c *schema.Cluster) (*rest.Config, error)
}

// KubeconfigConnector reads credentials from a kubeconfig file: one context per cluster.
type KubeconfigConnector struct {
	path   string
	config *clientcmdapi.Config
	// Timeout bounds each request, so an unreachable cluster fails fast instead of
	// holding its worker for the operating system's TCP timeout.
	Timeout time.Duration
	// QPS and Burst limit the requests sent to each member cluster. Zero QPS (the
	// default) is no client-side limit: every supported API server has API Priority and
	// Fairness, which queues or rejects (429, retried by client-go with the server's
	// Retry-After) what it cannot take, so a limit here would only cap gitfleet below
	// what the server can serve. Burst below QPS is taken as QPS.
	QPS   float32
	Burst int
}

var _ Connector = (*KubeconfigConnector)(nil)

// NewKubeconfigConnector loads the kubeconfig file once.
func NewKubeconfigConnector(path string) (*KubeconfigConnector, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", path, err)
	}
	return &KubeconfigConnector{path: path, config: cfg, Timeout: 30 * time.Second}, nil
}

// RESTConfig returns the client configuration of the cluster's kubeconfig context.
func (k *KubeconfigConnector) RESTConfig(c *schema.Cluster) (*rest.Config, error) {
	name := c.Spec.Credentials.KubeconfigContext
	if _, ok := k.config.Contexts[name]; !ok {
		return nil, &ConfigError{Cluster: c.Metadata.Name, Err: fmt.Errorf(
			"kubeconfig %s has no context %q (set by %s: spec.credentials.kubeconfigContext, which defaults to the cluster's name)",
			k.path, name, c.Origin.Pos("spec.credentials.kubeconfigContext"))}
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*k.config, name, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, &ConfigError{Cluster: c.Metadata.Name, Err: fmt.Errorf("kubeconfig %s context %q: %w", k.path, name, err)}
	}
	cfg.Timeout = k.Timeout
	// client-go reads zero QPS as its default of 5 and a negative QPS as no limit.
	cfg.QPS, cfg.Burst = -1, 0
	if k.QPS > 0 {
		cfg.QPS, cfg.Burst = k.QPS, max(k.Burst, int(k.QPS))
	}
	return cfg, nil
}
