package main

import (
	"errors"
	"fmt"
	"log/slog"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"gitfleet.dev/gitfleet/nodeplugins/gpu"
)

// newPlacements connects to the API server so that the plugin follows the cards
// gpu-quota-admission chose: through --kubeconfig when given, else the DaemonSet's service
// account. Outside a cluster, or without a node name, it returns nil and the plugin chooses
// every card itself; a --kubeconfig that cannot be read is an error, because it was asked for.
func newPlacements(cfg config, log *slog.Logger) (*gpu.Placements, error) {
	var rc *rest.Config
	var err error
	if cfg.Kubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", cfg.Kubeconfig, err)
		}
	} else {
		rc, err = rest.InClusterConfig()
		if errors.Is(err, rest.ErrNotInCluster) {
			log.Info("not running in a cluster and no --kubeconfig: the plugin chooses every card itself, without the scheduler extender's choices")
			return nil, nil
		}
		if err != nil {
			log.Warn("no API server: the plugin chooses every card itself, without the scheduler extender's choices", "err", err)
			return nil, nil
		}
	}
	if cfg.NodeName == "" {
		log.Warn("no node name (--node-name or $NODE_NAME): the plugin cannot find its node's pods and chooses every card itself")
		return nil, nil
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("API server client: %w", err)
	}
	opts := gpu.DefaultPlacementOptions()
	opts.NodeName = cfg.NodeName
	opts.Logger = log
	log.Info("following the card choices of the scheduler extender (gpu-quota-admission) from the pods' annotations", "api_server", rc.Host)
	return gpu.NewPlacements(gpu.NewKubePods(client), opts), nil
}
