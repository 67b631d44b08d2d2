package cni

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// InstallOptions say where the installer (the galaxy DaemonSet's container) finds the
// plugin and its conflist and where the kubelet's container runtime looks for them.
type InstallOptions struct {
	// Binary is the plugin executable to install: the running installer itself, since
	// one binary is both.
	Binary string
	// BinDir is the runtime's CNI binary directory (the DaemonSet mounts the node's
	// /opt/cni/bin); the plugin lands there as BinName.
	BinDir  string
	BinName string
	// Config is the conflist the Galaxy addon's ConfigMap mounts; it is installed under
	// its own file name into ConfDir, the runtime's CNI configuration directory.
	Config  string
	ConfDir string
	// Resync is how often the installer compares what is installed with its sources and
	// re-installs what differs: a ConfigMap update, a node reprovisioned under it.
	Resync time.Duration
	Logger *slog.Logger
}

// DefaultInstallOptions are the paths of the Galaxy addon's DaemonSet.
func DefaultInstallOptions() InstallOptions {
	return InstallOptions{
		BinDir:  "/opt/cni/bin",
		BinName: "gitfleet-cni",
		Config:  "/etc/galaxy/00-galaxy.conflist",
		ConfDir: "/etc/cni/net.d",
		Resync:  30 * time.Second,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// Installed is what one installation pass changed.
type Installed struct {
	Binary, Config string // the paths written, empty when already up to date
}

// Install copies the plugin and the conflist into place when they differ. Each is
// written to a temporary file in the target directory and renamed over the old one, so
// the runtime never reads half a file and a pod being set up by the old binary keeps it.
// The conflist is validated first: a conflist the plugin would reject is not installed.
func Install(opts InstallOptions) (Installed, error) {
	var done Installed
	conf, err := os.ReadFile(opts.Config)
	if err != nil {
		return done, fmt.Errorf("read the CNI configuration %s (the galaxy-cni-config ConfigMap): %w", opts.Config, err)
	}
	if err := ValidateConfList(conf); err != nil {
		return done, fmt.Errorf("%s: %w", opts.Config, err)
	}
	bin, err := os.ReadFile(opts.Binary)
	if err != nil {
		return done, fmt.Errorf("read the plugin binary %s: %w", opts.Binary, err)
	}
	binPath := filepath.Join(opts.BinDir, opts.BinName)
	if changed, err := writeIfChanged(binPath, bin, 0o755); err != nil {
		return done, err
	} else if changed {
		done.Binary = binPath
	}
	// The binary first: a conflist naming a plugin the runtime cannot find yet would
	// fail every pod on the node until it arrives.
	confPath := filepath.Join(opts.ConfDir, filepath.Base(opts.Config))
	if changed, err := writeIfChanged(confPath, conf, 0o644); err != nil {
		return done, err
	} else if changed {
		done.Config = confPath
	}
	return done, nil
}

// RunInstaller installs, then stays running and re-installs every Resync until ctx ends
// (SIGTERM). It leaves the plugin and conflist in place when it stops: removing them on
// every rolling update of the DaemonSet would make the node refuse pods meanwhile.
func RunInstaller(ctx context.Context, opts InstallOptions) error {
	log := opts.Logger
	pass := func() error {
		done, err := Install(opts)
		if err != nil {
			return err
		}
		if done.Binary != "" || done.Config != "" {
			log.Info("installed", "binary", done.Binary, "config", done.Config)
		}
		return nil
	}
	if err := pass(); err != nil {
		return err
	}
	t := time.NewTicker(opts.Resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping; the plugin and its configuration stay installed")
			return nil
		case <-t.C:
			// A later failure (a bad ConfigMap edit) keeps the installed, working files.
			if err := pass(); err != nil {
				log.Error("re-install failed; the installed plugin and configuration stay", "error", err)
			}
		}
	}
}

// ValidateConfList checks a conflist the way the runtime and the plugin will read it:
// JSON with a name, a cniVersion the plugin supports, and a gitfleet-cni entry that
// ParseConfig accepts.
func ValidateConfList(data []byte) error {
	var list struct {
		CNIVersion string            `json:"cniVersion"`
		Name       string            `json:"name"`
		Plugins    []json.RawMessage `json:"plugins"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return &ConfigError{Field: "(conflist)", Err: fmt.Errorf("not valid JSON: %w", err)}
	}
	if list.Name == "" {
		return &ConfigError{Field: "name", Err: errors.New("required")}
	}
	supported := false
	for _, v := range SupportedVersions.SupportedVersions() {
		supported = supported || v == list.CNIVersion
	}
	if !supported {
		return &ConfigError{Field: "cniVersion", Err: fmt.Errorf("%q: gitfleet-cni supports %v", list.CNIVersion, SupportedVersions.SupportedVersions())}
	}
	for i, raw := range list.Plugins {
		var entry map[string]any
		if err := json.Unmarshal(raw, &entry); err != nil {
			return &ConfigError{Field: fmt.Sprintf("plugins[%d]", i), Err: err}
		}
		if entry["type"] != "gitfleet-cni" {
			continue
		}
		// The runtime gives each plugin the list's name and version.
		entry["name"], entry["cniVersion"] = list.Name, list.CNIVersion
		conf, _ := json.Marshal(entry)
		if _, err := ParseConfig(conf, ""); err != nil {
			return fmt.Errorf("plugins[%d]: %w", i, err)
		}
		return nil
	}
	return &ConfigError{Field: "plugins", Err: errors.New(`no entry of type "gitfleet-cni"`)}
}

func writeIfChanged(path string, data []byte, mode os.FileMode) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	err = errors.Join(werr, tmp.Chmod(mode), tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}
