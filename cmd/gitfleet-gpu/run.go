package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"golang.org/x/sync/errgroup"

	"gitfleet.dev/gitfleet/nodeplugins/gpu"
)

// run serves until ctx ends: metrics always, and the device plugin and health watcher when
// the node has GPUs.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	if cfg.MetricsPort < 0 || cfg.MetricsPort > 65535 {
		return fmt.Errorf("--metrics-port %d: want 0-65535", cfg.MetricsPort)
	}
	log = log.With("node", cfg.NodeName)
	placements, err := newPlacements(cfg, log)
	if err != nil {
		return err
	}
	lib, cards, err := discover(cfg, log)
	if err != nil {
		return err
	}
	if lib != nil {
		defer lib.Shutdown()
	}
	mgr := gpu.NewManager(cards, managerOptions(log))

	lis, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.MetricsPort)))
	if err != nil {
		return fmt.Errorf("metrics on --metrics-port %d: %w", cfg.MetricsPort, err)
	}
	usage := gpu.DefaultUsageOptions()
	usage.NodeName = cfg.NodeName
	usage.PodResourcesSocket = cfg.PodResourcesSocket
	usage.ProcRoot = cfg.ProcRoot
	usage.Logger = log
	srv := &http.Server{Handler: gpu.NewMetricsHandler(gpu.NewUsageReader(lib, mgr, usage), log), ReadHeaderTimeout: 10 * time.Second}
	log.Info("serving metrics", "addr", lis.Addr().String(), "paths", []string{"/metrics", "/metric", "/usage"})

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("metrics server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	})
	if len(cards) > 0 {
		g.Go(func() error {
			plugin := gpu.DefaultPluginOptions()
			plugin.DevicePluginDir = cfg.DevicePluginDir
			plugin.Response.DevRoot = cfg.DevRoot
			plugin.Response.MPSPipeDir = cfg.MPSPipeDir
			plugin.Response.MPSLogDir = cfg.MPSLogDir
			plugin.Response.MPSShmDir = cfg.MPSShmDir
			plugin.Response.RequireMPS = cfg.RequireMPS
			if _, err := os.Stat(filepath.Join(cfg.MPSPipeDir, "control")); cfg.RequireMPS && err != nil {
				log.Warn("no MPS control daemon: shares of a card (1-99 vcuda-core units) are refused until it runs, whole cards are served",
					"mps_pipe_dir", cfg.MPSPipeDir, "err", err)
			}
			plugin.Placements = placements
			plugin.Logger = log
			return gpu.NewPlugin(mgr, plugin).Run(ctx)
		})
		g.Go(func() error {
			health := gpu.DefaultHealthOptions()
			health.RecoveryQuiet = cfg.RecoveryQuiet
			health.Logger = log
			if err := gpu.NewHealthWatcher(lib, mgr, health).Run(ctx); err != nil {
				// Without events the cards are still served; they are just never withdrawn.
				log.Error("GPU health is not watched", "err", err)
			}
			return nil
		})
	}
	return g.Wait()
}

// discover finds the driver and the cards. No driver, a driver that finds no GPU, or NVML
// reporting none all mean "idle": nil, no cards, no error. A driver that lists cards it
// cannot describe is an error: the node has GPUs the plugin would silently not offer.
func discover(cfg config, log *slog.Logger) (nvml.Interface, []gpu.Card, error) {
	search, err := findDriver(cfg.NVMLLibrary, cfg.DriverRoots)
	if errors.Is(err, errNoDriver) {
		log.Warn("idle: no NVIDIA driver on this node, nothing is advertised to the kubelet", "looked_in", search.Tried)
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	lib, err := openNVML(search)
	if errors.Is(err, errStaticBinary) {
		return nil, nil, err
	}
	if err != nil {
		log.Warn("idle: the NVIDIA driver library does not initialise (no GPU, or the kernel module is not loaded), nothing is advertised to the kubelet",
			"library", search.Library, "err", err)
		return nil, nil, nil
	}
	cards, err := gpu.Discover(lib)
	if errors.Is(err, gpu.ErrNoCards) {
		log.Warn("idle: the NVIDIA driver reports no GPU, nothing is advertised to the kubelet", "library", search.Library)
		lib.Shutdown()
		return nil, nil, nil
	}
	if err != nil {
		lib.Shutdown()
		return nil, nil, fmt.Errorf("GPU discovery through %s: %w", search.Library, err)
	}
	for _, c := range cards {
		log.Info("GPU found", "index", c.Index, "uuid", c.UUID, "name", c.Name, "memory_mib", c.MemoryMiB, "pci", c.PCIBusID,
			"vcuda_core", c.Units(gpu.ResourceCore), "vcuda_memory", c.Units(gpu.ResourceMemory))
	}
	return lib, cards, nil
}

func managerOptions(log *slog.Logger) gpu.ManagerOptions {
	opts := gpu.DefaultManagerOptions()
	opts.Logger = log
	return opts
}
