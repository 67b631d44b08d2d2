package cni

import (
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
)

// Status tells the runtime whether the node can take pods in the default mode: overlay
// and nat need flannel's subnet file, floatingIP the underlay device. The runtime keeps
// the node NotReady for pods until this passes.
func (p *Plugin) Status(args *skel.CmdArgs) error {
	inv, err := ParseConfig(args.StdinData, args.Args)
	if err != nil {
		return asCNIError(err)
	}
	conf := inv.Conf
	switch conf.DefaultMode {
	case ModeOverlay, ModeNAT:
		if _, err := ReadSubnetEnv(conf.Flannel.SubnetFile); err != nil {
			return types.NewError(types.ErrPluginNotAvailable, fmt.Sprintf("gitfleet-cni is not ready for %s pods: %v", conf.DefaultMode, err), "")
		}
		if conf.DefaultMode == ModeNAT && !iptablesPresent() {
			return types.NewError(types.ErrPluginNotAvailable, "gitfleet-cni is not ready for nat pods: the node has no iptables in PATH", "")
		}
	case ModeFloatingIP:
		if _, err := netlinksafe.LinkByName(conf.Device); err != nil {
			return types.NewError(types.ErrPluginNotAvailable, fmt.Sprintf("gitfleet-cni is not ready for floatingIP pods: the node has no device %q: %v", conf.Device, err), "")
		}
	}
	return nil
}
