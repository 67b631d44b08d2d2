package gpu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

// Environment variables and annotations the Allocate answers set.
const (
	// EnvAllocationID carries AllocationID into the container; the metrics read it back
	// from /proc/<pid>/environ of the GPU's processes.
	EnvAllocationID = "GITFLEET_VCUDA_ALLOCATION"

	// AnnotationCards, AnnotationCores and AnnotationMemory are passed to the container
	// runtime with the container, for people and tools reading the runtime's state.
	AnnotationCards  = "gitfleet.dev/vcuda-cards"
	AnnotationCores  = "gitfleet.dev/vcuda-core"
	AnnotationMemory = "gitfleet.dev/vcuda-memory-mib"

	// mpsPipeInContainer and mpsLogInContainer are CUDA's defaults, so images that start
	// their own MPS clients without our environment still find the daemon.
	mpsPipeInContainer = "/tmp/nvidia-mps"
	mpsLogInContainer  = "/var/log/nvidia-mps"
)

// ResponseOptions say where the node's device nodes and MPS directories are.
type ResponseOptions struct {
	// DevRoot is where the plugin sees the host's /dev ("/" in the DaemonSet, which mounts
	// the host's /dev at /dev). Device nodes are checked there before they are handed out:
	// a missing one fails the container's start with "lstat /dev/nvidia-uvm: no such file
	// or directory", a message that does not say what to do.
	DevRoot string
	// MPSPipeDir, MPSLogDir and MPSShmDir are host directories of the node's MPS control
	// daemon: its CUDA_MPS_PIPE_DIRECTORY, its CUDA_MPS_LOG_DIRECTORY, and the directory
	// it sees as /dev/shm. A share (1-99 core units) is mounted all three.
	MPSPipeDir string
	MPSLogDir  string
	MPSShmDir  string
	// RequireMPS refuses a share when the MPS control daemon's control pipe is not in
	// MPSPipeDir (the plugin must see the host directory at the same path). Without the
	// daemon, CUDA runs the container without MPS, that is without any limit: refusing the
	// share is what keeps it from taking the whole card.
	RequireMPS bool
}

// DefaultResponseOptions returns the paths the package documentation describes.
func DefaultResponseOptions() ResponseOptions {
	return ResponseOptions{
		DevRoot:    "/",
		MPSPipeDir: "/run/gitfleet/mps/pipe",
		MPSLogDir:  "/run/gitfleet/mps/log",
		MPSShmDir:  "/run/gitfleet/mps/shm",
		RequireMPS: true,
	}
}

// ContainerResponse turns a grant into what the kubelet gives the container runtime.
func (o ResponseOptions) ContainerResponse(g Grant) (*pluginapi.ContainerAllocateResponse, error) {
	resp := &pluginapi.ContainerAllocateResponse{Envs: map[string]string{}, Annotations: map[string]string{}}
	switch g.Resource {
	case ResourceCore:
		if err := o.updateResponseForDevices(resp, g); err != nil {
			return nil, err
		}
		updateResponseForVisibleDevices(resp, g)
		if !g.Whole() {
			if err := o.updateResponseForMPS(resp, g); err != nil {
				return nil, err
			}
		}
		resp.Annotations[AnnotationCores] = strconv.Itoa(g.Units)
	case ResourceMemory:
		updateResponseForMemoryLimit(resp, g)
		resp.Annotations[AnnotationMemory] = strconv.FormatUint(g.MemoryMiB(), 10)
	}
	resp.Annotations[AnnotationCards] = strings.Join(g.UUIDs(), ",")
	return resp, nil
}

// updateResponseForDevices hands the container its cards' device nodes and the driver's
// control nodes.
func (o ResponseOptions) updateResponseForDevices(resp *pluginapi.ContainerAllocateResponse, g Grant) error {
	add := func(path string) {
		resp.Devices = append(resp.Devices, &pluginapi.DeviceSpec{ContainerPath: path, HostPath: path, Permissions: "rw"})
	}
	for _, c := range g.Cards {
		path := fmt.Sprintf("/dev/nvidia%d", c.Minor)
		if err := o.requireDevice(path, g, "is the NVIDIA driver loaded? `nvidia-smi` on the node lists the cards it serves"); err != nil {
			return err
		}
		add(path)
	}
	if err := o.requireDevice("/dev/nvidiactl", g, "is the NVIDIA driver loaded?"); err != nil {
		return err
	}
	add("/dev/nvidiactl")
	// CUDA needs the unified-memory device; the seed's fix for its absence is this command.
	if err := o.requireDevice("/dev/nvidia-uvm", g, "run `nvidia-modprobe -u -c=0` on the node"); err != nil {
		return err
	}
	add("/dev/nvidia-uvm")
	// Optional nodes: profilers use uvm-tools, and modeset exists only with the display
	// driver loaded. Handing out a node that is missing would fail the container's start.
	for _, path := range []string{"/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"} {
		if o.exists(path) {
			add(path)
		}
	}
	return nil
}

// updateResponseForVisibleDevices names the cards by UUID, for the NVIDIA container runtime
// hook (NVIDIA_VISIBLE_DEVICES) and for CUDA itself (CUDA_VISIBLE_DEVICES). UUIDs rather
// than indexes: the container sees only its own cards, so host indexes mean nothing inside.
func updateResponseForVisibleDevices(resp *pluginapi.ContainerAllocateResponse, g Grant) {
	uuids := strings.Join(g.UUIDs(), ",")
	resp.Envs["NVIDIA_VISIBLE_DEVICES"] = uuids
	resp.Envs["CUDA_VISIBLE_DEVICES"] = uuids
	resp.Envs[EnvAllocationID] = AllocationID(g.DeviceIDs)
}

// updateResponseForMPS makes a share a client of the node's MPS daemon, limited to its share
// of the card's threads. Whole cards skip MPS: the container has the card to itself.
func (o ResponseOptions) updateResponseForMPS(resp *pluginapi.ContainerAllocateResponse, g Grant) error {
	if o.RequireMPS {
		control := filepath.Join(o.MPSPipeDir, "control")
		if _, err := os.Stat(control); err != nil {
			return &AllocationError{Resource: g.Resource, Units: g.Units, Reason: fmt.Sprintf(
				"a share of a card runs under CUDA MPS, and the node's MPS control daemon is not running (no %s): "+
					"start nvidia-cuda-mps-control with CUDA_MPS_PIPE_DIRECTORY=%s on the node (see the GPU sharing section of the README)",
				control, o.MPSPipeDir)}
		}
	}
	resp.Envs["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = strconv.Itoa(g.Units)
	resp.Envs["CUDA_MPS_PIPE_DIRECTORY"] = mpsPipeInContainer
	resp.Envs["CUDA_MPS_LOG_DIRECTORY"] = mpsLogInContainer
	resp.Mounts = append(resp.Mounts,
		&pluginapi.Mount{ContainerPath: mpsPipeInContainer, HostPath: o.MPSPipeDir},
		&pluginapi.Mount{ContainerPath: mpsLogInContainer, HostPath: o.MPSLogDir},
		// MPS clients and the server exchange data through POSIX shared memory; the
		// container's /dev/shm must be the daemon's.
		&pluginapi.Mount{ContainerPath: "/dev/shm", HostPath: o.MPSShmDir},
	)
	return nil
}

// updateResponseForMemoryLimit caps the device memory MPS lets the container pin. The share
// sees exactly one card, so its device ordinal is 0.
func updateResponseForMemoryLimit(resp *pluginapi.ContainerAllocateResponse, g Grant) {
	resp.Envs["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] = fmt.Sprintf("0=%dM", g.MemoryMiB())
}

// requireDevice fails the allocation when a device node is missing, saying what to do.
func (o ResponseOptions) requireDevice(path string, g Grant, fix string) error {
	if o.exists(path) {
		return nil
	}
	return &AllocationError{Resource: g.Resource, Units: g.Units, Reason: fmt.Sprintf(
		"device node %s does not exist on the node (%s)", path, fix)}
}

func (o ResponseOptions) exists(path string) bool {
	_, err := os.Stat(filepath.Join(o.DevRoot, path))
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}
