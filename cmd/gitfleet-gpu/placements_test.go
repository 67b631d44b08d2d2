package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlacementsConnection: the plugin follows the scheduler extender only with an API server
// and a node name; a --kubeconfig that cannot be read fails the start, naming the flag.
func TestPlacementsConnection(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // outside a cluster, whatever runs the test
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name       string
		cfg        config
		wantActive bool
		wantErr    string
	}{
		{name: "kubeconfig and node", cfg: config{Kubeconfig: kubeconfig, NodeName: "gpu-node-1"}, wantActive: true},
		{name: "kubeconfig without node", cfg: config{Kubeconfig: kubeconfig}},
		{name: "outside a cluster", cfg: config{NodeName: "gpu-node-1"}},
		{name: "missing kubeconfig", cfg: config{Kubeconfig: filepath.Join(t.TempDir(), "nope"), NodeName: "gpu-node-1"}, wantErr: "--kubeconfig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newPlacements(tc.cfg, log)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("newPlacements = %v, want an error naming %s", err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("newPlacements: %v", err)
			case (p != nil) != tc.wantActive:
				t.Errorf("newPlacements active = %v, want %v", p != nil, tc.wantActive)
			}
		})
	}
}
