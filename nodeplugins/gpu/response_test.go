package gpu

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A node without /dev/nvidia-uvm fails the allocation with the seed's fix, instead of the
// container runtime's "lstat /dev/nvidia-uvm: no such file or directory".
func TestResponseMissingDeviceNodes(t *testing.T) {
	cards := newMockNode(t, oneCard).discover(t)
	g := Grant{Resource: ResourceCore, Units: 50, Cards: cards, DeviceIDs: cards[0].DeviceIDs(ResourceCore)[:50]}
	for _, tc := range []struct {
		remove  string
		wantErr string
	}{
		{remove: "nvidia-uvm", wantErr: "device node /dev/nvidia-uvm does not exist on the node (run `nvidia-modprobe -u -c=0` on the node)"},
		{remove: "nvidia0", wantErr: "device node /dev/nvidia0 does not exist"},
		{remove: "nvidiactl", wantErr: "device node /dev/nvidiactl does not exist"},
		{remove: "nvidia-uvm-tools"}, // optional: left out, not an error
	} {
		t.Run(tc.remove, func(t *testing.T) {
			opts := fakeNodeFiles(t, 1)
			if err := os.Remove(filepath.Join(opts.DevRoot, "dev", tc.remove)); err != nil {
				t.Fatal(err)
			}
			resp, err := opts.ContainerResponse(g)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ContainerResponse without %s: %v", tc.remove, err)
				}
				for _, d := range resp.Devices {
					if strings.HasSuffix(d.HostPath, tc.remove) {
						t.Errorf("missing optional node %s handed out", d.HostPath)
					}
				}
				return
			}
			var aerr *AllocationError
			if !errors.As(err, &aerr) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ContainerResponse without %s: got %v, want %q", tc.remove, err, tc.wantErr)
			}
		})
	}
}

// A memory grant carries only the MPS memory limit; devices and MPS come with the cores.
func TestResponseMemoryOnly(t *testing.T) {
	cards := newMockNode(t, oneCard).discover(t)
	g := Grant{Resource: ResourceMemory, Units: 8, Cards: cards, DeviceIDs: cards[0].DeviceIDs(ResourceMemory)[:8]}
	resp, err := fakeNodeFiles(t, 1).ContainerResponse(g)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Envs["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] != "0=2048M" || len(resp.Devices) != 0 || len(resp.Mounts) != 0 ||
		resp.Annotations[AnnotationMemory] != "2048" {
		t.Errorf("memory response = %v, want only the 2048 MiB limit and its annotations", resp)
	}
}

// Without the MPS control daemon a share would run unlimited: it is refused, whole cards
// still work, and a node that opts out (RequireMPS false) hands shares out anyway.
func TestResponseWithoutMPSDaemon(t *testing.T) {
	cards := newMockNode(t, oneCard).discover(t)
	share := Grant{Resource: ResourceCore, Units: 30, Cards: cards, DeviceIDs: cards[0].DeviceIDs(ResourceCore)[:30]}
	whole := Grant{Resource: ResourceCore, Units: 100, Cards: cards, DeviceIDs: cards[0].DeviceIDs(ResourceCore)}
	opts := fakeNodeFiles(t, 1)
	if err := os.Remove(filepath.Join(opts.MPSPipeDir, "control")); err != nil {
		t.Fatal(err)
	}
	_, err := opts.ContainerResponse(share)
	if want := "the node's MPS control daemon is not running (no " + filepath.Join(opts.MPSPipeDir, "control") + ")"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("share without MPS daemon: got %v, want %q", err, want)
	}
	if _, err := opts.ContainerResponse(whole); err != nil {
		t.Errorf("whole card without MPS daemon: %v", err)
	}
	opts.RequireMPS = false
	if resp, err := opts.ContainerResponse(share); err != nil || resp.Envs["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] != "30" {
		t.Errorf("share with RequireMPS off = %v, %v", resp, err)
	}
}
