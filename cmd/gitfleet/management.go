package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"gitfleet.dev/gitfleet/reconciler"
)

// managementFlags say how to reach the cluster gitfleet runs in (the management
// cluster): fleet files name Secrets there ({secret: {name, key}}), never values, and
// gitfleet copies those that member clusters need (Alertmanager's credentials).
type managementFlags struct {
	kubeconfig, context string
	// namespace is where a reference without a namespace looks: gitfleet's own.
	namespace string
}

// add registers the flags; empty says what an empty --management-kubeconfig means.
func (m *managementFlags) add(f *pflag.FlagSet, empty string) {
	f.StringVar(&m.kubeconfig, "management-kubeconfig", "", "kubeconfig of the cluster gitfleet runs in, which holds the Secrets fleet files refer to (default: "+empty+")")
	f.StringVar(&m.context, "management-context", "", "context of --management-kubeconfig to use (default: its current context)")
}

// addSecretsNamespace registers --secrets-namespace, for commands that run outside the
// management cluster (serve uses its own namespace).
func (m *managementFlags) addSecretsNamespace(f *pflag.FlagSet) {
	f.StringVar(&m.namespace, "secrets-namespace", "gitfleet-system", "namespace of the management cluster where Secret references without a namespace look")
}

// optionalSecrets reads the management cluster's Secrets when --management-kubeconfig
// is given; without it there is no reader (nil), and what needs one says so.
func (m managementFlags) optionalSecrets() (reconciler.SecretReader, error) {
	if m.kubeconfig == "" {
		return nil, nil
	}
	cfg, err := m.config()
	if err != nil {
		return nil, err
	}
	return m.secrets(cfg)
}

// config is the management cluster: --management-kubeconfig when given, else the
// in-cluster service account.
func (m managementFlags) config() (*rest.Config, error) {
	if m.kubeconfig == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("not running in a cluster; pass --management-kubeconfig: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: m.kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: m.context},
	).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading --management-kubeconfig %s: %w", m.kubeconfig, err)
	}
	return cfg, nil
}

// secrets reads the Kubernetes Secrets that fleet files refer to, in m.namespace unless
// the reference names another.
func (m managementFlags) secrets(cfg *rest.Config) (reconciler.SecretReader, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, ns, name, key string) ([]byte, error) {
		if ns == "" {
			ns = m.namespace
		}
		s, err := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading Secret %s/%s: %w", ns, name, err)
		}
		v, ok := s.Data[key]
		if !ok {
			return nil, fmt.Errorf("Secret %s/%s has no key %q", ns, name, key)
		}
		return v, nil
	}, nil
}
