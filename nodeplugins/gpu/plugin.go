package gpu

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

// PluginOptions say where the kubelet is and how the plugin talks to it.
type PluginOptions struct {
	// DevicePluginDir is the kubelet's device-plugin directory. The kubelet's registration
	// socket (kubelet.sock) and the plugin's own sockets live there.
	DevicePluginDir string
	// SocketPrefix names the plugin's sockets: <prefix>-vcuda-core.sock and
	// <prefix>-vcuda-memory.sock.
	SocketPrefix string
	// CheckInterval is how often the plugin looks for a kubelet restart. A restarted
	// kubelet removes every socket in DevicePluginDir and creates a new kubelet.sock; it
	// forgets the plugins until they register again. Polling (rather than inotify) also
	// sees the directory itself being removed and created again.
	CheckInterval time.Duration
	// RegisterTimeout bounds one Register call to the kubelet.
	RegisterTimeout time.Duration
	// Response is passed to every Allocate answer.
	Response ResponseOptions
	// Placements reads the card choices of TKEStack's scheduler extender from the pods; nil
	// (no API server) lets the plugin choose every card itself.
	Placements *Placements
	// Logger receives registration and allocation events.
	Logger *slog.Logger
}

// DefaultPluginOptions returns the kubelet's standard paths.
func DefaultPluginOptions() PluginOptions {
	return PluginOptions{
		DevicePluginDir: filepath.Clean(pluginapi.DevicePluginPath),
		SocketPrefix:    "gitfleet-gpu",
		CheckInterval:   time.Second,
		RegisterTimeout: 10 * time.Second,
		Response:        DefaultResponseOptions(),
		Logger:          slog.Default(),
	}
}

// Plugin serves tencent.com/vcuda-core and tencent.com/vcuda-memory to the kubelet and keeps
// them registered across kubelet restarts.
type Plugin struct {
	mgr  *Manager
	opts PluginOptions
}

// NewPlugin returns a plugin for the manager's cards.
func NewPlugin(mgr *Manager, opts PluginOptions) *Plugin {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Plugin{mgr: mgr, opts: opts}
}

// SocketPath is where the plugin serves resource r.
func (p *Plugin) SocketPath(r Resource) string {
	name := r[strings.LastIndexByte(string(r), '/')+1:]
	return filepath.Join(p.opts.DevicePluginDir, fmt.Sprintf("%s-%s.sock", p.opts.SocketPrefix, name))
}

func (p *Plugin) kubeletSocket() string {
	return filepath.Join(p.opts.DevicePluginDir, filepath.Base(pluginapi.KubeletSocket))
}

// Run serves and registers until ctx ends, registering again whenever the kubelet restarts.
// It returns nil when ctx ends; a kubelet that is not up yet is waited for, not an error.
func (p *Plugin) Run(ctx context.Context) error {
	log := p.opts.Logger
	lastErr := ""
	for {
		gen, err := p.start(ctx)
		switch {
		case err == nil:
			lastErr = ""
		case err.Error() != lastErr:
			// Once per distinct reason: a node whose kubelet is down for an hour should not
			// log the same line every second.
			log.Warn("not registered with the kubelet yet, retrying", "every", p.opts.CheckInterval, "err", err)
			lastErr = err.Error()
		default:
			log.Debug("still not registered with the kubelet", "err", err)
		}
		for gen != nil && !p.kubeletRestarted(gen) {
			select {
			case <-ctx.Done():
				gen.stop()
				return nil
			case <-time.After(p.opts.CheckInterval):
			}
		}
		if gen != nil {
			log.Info("kubelet restarted (its device-plugin sockets were recreated), registering again")
			gen.stop()
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.opts.CheckInterval):
		}
	}
}

// generation is one set of serving sockets, registered with one kubelet instance.
type generation struct {
	servers    []*grpc.Server
	sockets    []string
	kubeletIno uint64
	done       chan struct{}
}

func (g *generation) stop() {
	close(g.done)
	for _, s := range g.servers {
		s.Stop()
	}
	for _, s := range g.sockets {
		_ = os.Remove(s) // the kubelet may have removed it already
	}
}

// start serves both resources and registers them with the kubelet.
func (p *Plugin) start(ctx context.Context) (*generation, error) {
	ino, err := inode(p.kubeletSocket())
	if err != nil {
		return nil, fmt.Errorf("kubelet registration socket: %w", err)
	}
	gen := &generation{kubeletIno: ino, done: make(chan struct{})}
	for _, r := range []Resource{ResourceCore, ResourceMemory} {
		sock := p.SocketPath(r)
		if err := os.Remove(sock); err != nil && !errors.Is(err, fs.ErrNotExist) {
			gen.stop()
			return nil, fmt.Errorf("remove stale socket %s: %w", sock, err)
		}
		lis, err := net.Listen("unix", sock)
		if err != nil {
			gen.stop()
			return nil, fmt.Errorf("listen on %s: %w", sock, err)
		}
		srv := grpc.NewServer()
		pluginapi.RegisterDevicePluginServer(srv, &resourceServer{
			resource: r, mgr: p.mgr, response: p.opts.Response, placements: p.opts.Placements, log: p.opts.Logger, done: gen.done,
		})
		go func() { _ = srv.Serve(lis) }() // Serve returns when stop() stops the server
		gen.servers = append(gen.servers, srv)
		gen.sockets = append(gen.sockets, sock)
	}
	for _, r := range []Resource{ResourceCore, ResourceMemory} {
		if err := p.register(ctx, r); err != nil {
			gen.stop()
			return nil, err
		}
	}
	p.opts.Logger.Info("registered with the kubelet", "resources", []Resource{ResourceCore, ResourceMemory},
		"gpus", len(p.mgr.Cards()), "dir", p.opts.DevicePluginDir)
	return gen, nil
}

// register tells the kubelet which socket serves resource r.
func (p *Plugin) register(ctx context.Context, r Resource) error {
	conn, err := grpc.NewClient("unix://"+p.kubeletSocket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("connect to the kubelet at %s: %w", p.kubeletSocket(), err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, p.opts.RegisterTimeout)
	defer cancel()
	_, err = pluginapi.NewRegistrationClient(conn).Register(ctx, &pluginapi.RegisterRequest{
		Version:      pluginapi.Version,
		Endpoint:     filepath.Base(p.SocketPath(r)),
		ResourceName: string(r),
		Options:      &pluginapi.DevicePluginOptions{GetPreferredAllocationAvailable: true},
	})
	if err != nil {
		return fmt.Errorf("register %s with the kubelet at %s: %w", r, p.kubeletSocket(), err)
	}
	return nil
}

// kubeletRestarted reports whether the kubelet this generation registered with is gone: its
// socket is a new file, or one of the plugin's sockets was removed.
func (p *Plugin) kubeletRestarted(gen *generation) bool {
	for _, s := range gen.sockets {
		if _, err := os.Stat(s); err != nil {
			return true
		}
	}
	ino, err := inode(p.kubeletSocket())
	if err != nil {
		// The kubelet is down; our sockets are still there, so it has not restarted yet.
		return false
	}
	return ino != gen.kubeletIno
}

func inode(path string) (uint64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("%s: no inode", path)
	}
	return st.Ino, nil
}
