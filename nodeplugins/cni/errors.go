package cni

import (
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/types"
)

// ConfigError is a field of the network configuration or of CNI_ARGS that the plugin
// cannot work with. Retrying does not help; the conflist or the pod must change.
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("gitfleet-cni: %s: %v", e.Field, e.Err) }
func (e *ConfigError) Unwrap() error { return e.Err }

// ExhaustedError says the node's pod subnet has no free address left.
type ExhaustedError struct {
	Subnet  string
	DataDir string
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("gitfleet-cni: no free pod IP left in this node's subnet %s (reservations in %s): "+
		"delete pods from this node or give nodes larger pod subnets (flannel SubnetLen)", e.Subnet, e.DataDir)
}

// AttachError wraps a failure while wiring one pod's interface, naming the pod, its
// container and interface, and the mode.
type AttachError struct {
	Op          string // add, del, check
	Pod         string
	ContainerID string
	IfName      string
	Mode        Mode
	Err         error
}

func (e *AttachError) Error() string {
	pod := e.Pod
	if pod == "" {
		pod = "container " + e.ContainerID
	}
	return fmt.Sprintf("gitfleet-cni %s %s (%s mode, interface %s): %v", e.Op, pod, e.Mode, e.IfName, e.Err)
}
func (e *AttachError) Unwrap() error { return e.Err }

// asCNIError gives the runtime the CNI error code that matches the failure, keeping the
// whole message: configuration errors are code 7 (invalid network config), an exhausted
// subnet code 11 (try again later: a deleted pod frees one), the rest 999.
func asCNIError(err error) error {
	if err == nil {
		return nil
	}
	var te *types.Error
	if errors.As(err, &te) {
		// Keep the code a step chose (an invalid netns) and the context around it.
		return types.NewError(te.Code, err.Error(), te.Details)
	}
	var ce *ConfigError
	var ee *ExhaustedError
	switch {
	case errors.As(err, &ce):
		return types.NewError(types.ErrInvalidNetworkConfig, err.Error(), "")
	case errors.As(err, &ee):
		return types.NewError(types.ErrTryAgainLater, err.Error(), "")
	}
	return types.NewError(types.ErrInternal, err.Error(), "")
}
