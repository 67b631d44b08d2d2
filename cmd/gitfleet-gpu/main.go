// Command gitfleet-gpu is the GPU-sharing device plugin that the GPUManager addon runs on
// every node of a member cluster (see nodeplugins/gpu).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"gitfleet.dev/gitfleet/nodeplugins/gpu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

// config is everything the command line says; run takes it as a value.
type config struct {
	MetricsPort        int
	NodeName           string
	Kubeconfig         string
	DevicePluginDir    string
	PodResourcesSocket string
	DriverRoots        []string
	NVMLLibrary        string
	DevRoot            string
	ProcRoot           string
	MPSPipeDir         string
	MPSLogDir          string
	MPSShmDir          string
	RequireMPS         bool
	RecoveryQuiet      time.Duration
	LogLevel           string
	LogFormat          string
}

func newRootCommand() *cobra.Command {
	plugin := gpu.DefaultPluginOptions()
	usage := gpu.DefaultUsageOptions()
	health := gpu.DefaultHealthOptions()
	cfg := config{
		MetricsPort:        5678,
		NodeName:           os.Getenv("NODE_NAME"),
		DevicePluginDir:    plugin.DevicePluginDir,
		PodResourcesSocket: usage.PodResourcesSocket,
		DriverRoots:        []string{"/usr/local/nvidia", "/usr/local/host", "/"},
		DevRoot:            plugin.Response.DevRoot,
		ProcRoot:           usage.ProcRoot,
		MPSPipeDir:         plugin.Response.MPSPipeDir,
		MPSLogDir:          plugin.Response.MPSLogDir,
		MPSShmDir:          plugin.Response.MPSShmDir,
		RequireMPS:         plugin.Response.RequireMPS,
		RecoveryQuiet:      health.RecoveryQuiet,
		LogLevel:           "info",
		LogFormat:          "text",
	}
	cmd := &cobra.Command{
		Use:   "gitfleet-gpu",
		Short: "GPU-sharing kubelet device plugin: tencent.com/vcuda-core and tencent.com/vcuda-memory",
		Long: `gitfleet-gpu runs on every node of a cluster with the GPUManager addon (DaemonSet
gpu-manager-daemonset in kube-system). It finds the node's NVIDIA GPUs through NVML and
offers them to the kubelet as two resources:

  tencent.com/vcuda-core     100 units per card. Ask for 1-100 for a share of one card
                             (30 = 30% of its compute), or a multiple of 100 for whole
                             cards (200 = two cards). 150 or 250 are refused.
  tencent.com/vcuda-memory   one unit is 256 MiB of the card that serves the cores
                             (20 = 5 GiB).

A share is enforced with CUDA MPS: the container becomes a client of the node's MPS
control daemon with CUDA_MPS_ACTIVE_THREAD_PERCENTAGE and CUDA_MPS_PINNED_DEVICE_MEM_LIMIT
set, so the node must run nvidia-cuda-mps-control with the --mps-* directories below
(see README, "GPU sharing"); while it does not, shares are refused (--require-mps).
Whole cards are given to one container without MPS.

With the addon's scheduler extender (gpu-quota-admission), each container gets the card the
extender chose and wrote on its pod (tencent.com/predicate-gpu-idx-<container index>); the
plugin then marks the pod tencent.com/gpu-assigned=true. A choice the node cannot honour is
refused in the pod's events. Pods without those annotations, or a plugin without an API
server, get the card the plugin chooses itself.

A card with a critical Xid error or a double-bit ECC error is withdrawn from the kubelet,
and offered again once NVML can read it and it has been quiet for --recovery-quiet.

Metrics on --metrics-port: /metrics (and /metric) for Prometheus, /usage for people.

A node without a GPU or without the NVIDIA driver registers nothing, says why in its log,
and keeps serving (empty) metrics.

The NVIDIA driver's libnvidia-ml.so.1 is looked for under each --driver-root (lib64/,
lib/, lib/<arch>-linux-gnu/, and the same under usr/), first match wins.`,
		Example: `  # As the DaemonSet runs it (NODE_NAME from the downward API):
  gitfleet-gpu --metrics-port=5678

  # Try it on a GPU host by hand, with the driver in the usual places:
  NODE_NAME=$(hostname) gitfleet-gpu --driver-root=/ --log-level=debug`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cfg, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return run(cmd.Context(), cfg, log)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.MetricsPort, "metrics-port", cfg.MetricsPort, "port of /metrics, /metric and /usage (the addon's hostPort and Service port)")
	f.StringVar(&cfg.NodeName, "node-name", cfg.NodeName, "the node label of the metrics (the DaemonSet passes it as $NODE_NAME, the default)")
	f.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "kubeconfig of the API server, to follow the cards the scheduler extender gpu-quota-admission chose (default: the pod's service account; outside a cluster the plugin chooses every card itself)")
	f.StringVar(&cfg.DevicePluginDir, "device-plugin-dir", cfg.DevicePluginDir, "the kubelet's device-plugin directory (kubelet.sock and the plugin's sockets)")
	f.StringVar(&cfg.PodResourcesSocket, "pod-resources-socket", cfg.PodResourcesSocket, "the kubelet's pod-resources API, which says which container holds which GPU units")
	f.StringSliceVar(&cfg.DriverRoots, "driver-root", cfg.DriverRoots, "directories searched, in order, for the NVIDIA driver's libnvidia-ml.so.1 (comma-separated or repeated)")
	f.StringVar(&cfg.NVMLLibrary, "nvml-library", "", "exact path of libnvidia-ml.so.1 (skips the --driver-root search; it must exist)")
	f.StringVar(&cfg.DevRoot, "dev-root", cfg.DevRoot, "where the host's /dev is visible, to check that /dev/nvidia* exist before handing them out")
	f.StringVar(&cfg.ProcRoot, "proc-root", cfg.ProcRoot, "where the host's processes are visible (the DaemonSet runs with hostPID)")
	f.StringVar(&cfg.MPSPipeDir, "mps-pipe-dir", cfg.MPSPipeDir, "host directory of the MPS control daemon's pipes (its CUDA_MPS_PIPE_DIRECTORY)")
	f.StringVar(&cfg.MPSLogDir, "mps-log-dir", cfg.MPSLogDir, "host directory of the MPS control daemon's logs (its CUDA_MPS_LOG_DIRECTORY)")
	f.StringVar(&cfg.MPSShmDir, "mps-shm-dir", cfg.MPSShmDir, "host directory the MPS control daemon sees as /dev/shm")
	f.BoolVar(&cfg.RequireMPS, "require-mps", cfg.RequireMPS, "refuse shares (1-99 core units) while the MPS control daemon's control pipe is missing from --mps-pipe-dir, which the plugin must see at the same path; without the daemon a share would run without limits")
	f.DurationVar(&cfg.RecoveryQuiet, "recovery-quiet", cfg.RecoveryQuiet, "how long an unhealthy card must answer NVML without a new error before it is offered again")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	f.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json")
	return cmd
}

func newLogger(cfg config, w interface{ Write([]byte) (int, error) }) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", cfg.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(cfg.LogFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", cfg.LogFormat)
	}
}
