package gpu

import (
	"errors"
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// ErrNoCards is returned by Discover when NVML works but reports no GPU: the node idles.
var ErrNoCards = errors.New("NVML reports no GPU on this node")

// DeviceIDError is a device ID the plugin did not advertise (a kubelet checkpoint from another
// plugin version, or a hand-made request).
type DeviceIDError struct {
	ID string
}

func (e *DeviceIDError) Error() string {
	return fmt.Sprintf("device ID %q is not one this plugin advertises (want <GPU UUID>_core<N> or <GPU UUID>_mem<N>)", e.ID)
}

// AllocationError says why a request for a resource cannot be served as asked. It goes back to
// the kubelet, which puts it in the pod's admission failure event, so it is written for the
// person who wrote the pod spec.
type AllocationError struct {
	Resource Resource
	Units    int
	Reason   string
}

func (e *AllocationError) Error() string {
	return fmt.Sprintf("%s: %d units: %s", e.Resource, e.Units, e.Reason)
}

// NVMLError is a failed NVML call, with the card it was about when there is one.
type NVMLError struct {
	Op   string
	Card string
	Ret  nvml.Return
}

func (e *NVMLError) Error() string {
	if e.Card != "" {
		return fmt.Sprintf("NVML %s on GPU %s: %s", e.Op, e.Card, e.Ret.Error())
	}
	return fmt.Sprintf("NVML %s: %s", e.Op, e.Ret.Error())
}

// Unwrap lets callers test for an NVML return code with errors.Is(err, nvml.ERROR_...).
func (e *NVMLError) Unwrap() error { return e.Ret }
