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
	// Many objects per cluster are compared in parallel; client-go's default of 5 QPS
	// would make a steady-state reconcile of a large cluster take minutes.
	cfg.QPS, cfg.Burst = 100, 200
	return cfg, nil
}
