package cni

import (
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// Check verifies that the pod's attachment is still what ADD made: the result the runtime
// passes back (prevResult) against the pod's interface, addresses and routes, and the
// node's side: the veth, the route or bridge port, the reservation, the host ports.
func (p *Plugin) Check(args *skel.CmdArgs) error {
	inv, err := ParseConfig(args.StdinData, args.Args)
	if err != nil {
		return asCNIError(err)
	}
	if inv.Mode == ModeHost {
		return nil
	}
	if err := version.ParsePrevResult(&inv.Conf.PluginConf); err != nil {
		return asCNIError(&ConfigError{Field: "prevResult", Err: err})
	}
	if inv.Conf.PrevResult == nil {
		return asCNIError(&ConfigError{Field: "prevResult", Err: errors.New("CHECK needs the result of the pod's ADD")})
	}
	res, err := current.NewResultFromResult(inv.Conf.PrevResult)
	if err != nil {
		return asCNIError(&ConfigError{Field: "prevResult", Err: err})
	}
	at, err := newAttachments(inv.Conf.DataDir, inv.Conf.Name).Get(args.ContainerID, args.IfName)
	if err == nil && at == nil {
		err = errors.New("the plugin has no record of this pod: it was never added or was deleted")
	}
	if err == nil {
		at.Result = res // judge what the runtime believes, not our copy
		err = p.check(args, inv, at)
	}
	if err != nil {
		return asCNIError(&AttachError{Op: "check", Pod: inv.PodName, ContainerID: args.ContainerID, IfName: args.IfName, Mode: at.modeOr(inv.Mode), Err: err})
	}
	return nil
}

func (at *attachment) modeOr(m Mode) Mode {
	if at == nil {
		return m
	}
	return at.Mode
}

// check compares the live attachment with at.
func (p *Plugin) check(args *skel.CmdArgs, inv *Invocation, at *attachment) error {
	res := at.Result
	var podIP *current.IPConfig
	for _, ipc := range res.IPs {
		podIP = ipc
	}
	if podIP == nil {
		return errors.New("the result has no IP")
	}
	var podIf *current.Interface
	for _, i := range res.Interfaces {
		if i.Sandbox != "" && i.Name == args.IfName {
			podIf = i
		}
	}
	if podIf == nil {
		return fmt.Errorf("the result has no interface %s in the pod", args.IfName)
	}

	podNS, err := ns.GetNS(args.Netns)
	if err != nil {
		return fmt.Errorf("open the pod's network namespace %s: %w", args.Netns, err)
	}
	defer podNS.Close()
	err = podNS.Do(func(ns.NetNS) error {
		link, err := netlink.LinkByName(args.IfName)
		if err != nil {
			return fmt.Errorf("pod interface %s: %w", args.IfName, err)
		}
		if mac := link.Attrs().HardwareAddr.String(); mac != podIf.Mac {
			return fmt.Errorf("pod interface %s has MAC %s, the result says %s", args.IfName, mac, podIf.Mac)
		}
		if err := ip.ValidateExpectedInterfaceIPs(args.IfName, res.IPs); err != nil {
			return err
		}
		return ip.ValidateExpectedRoute(res.Routes)
	})
	if err != nil {
		return err
	}

	hostName := hostVethName(args.ContainerID, args.IfName)
	switch at.Mode {
	case ModeOverlay, ModeNAT:
		if err := checkOverlayNode(hostName, podIP.Address.IP); err != nil {
			return err
		}
		ips, err := openStore(inv.Conf.DataDir, inv.Conf.Name)
		if err != nil {
			return err
		}
		defer ips.Close()
		if !ips.Holds(args.ContainerID, args.IfName, podIP.Address.IP) {
			return fmt.Errorf("IP %s is not reserved for the pod in %s", podIP.Address.IP, inv.Conf.DataDir)
		}
	case ModeFloatingIP:
		if err := checkFloatingNode(hostName, inv.Conf.Bridge); err != nil {
			return err
		}
	}
	if len(at.PortMaps) > 0 {
		hp, err := newHostPorts(inv.Conf.Name)
		if err != nil {
			return err
		}
		if err := hp.Check(args.ContainerID, args.IfName, podIP.Address.IP, at.PortMaps); err != nil {
			return err
		}
	}
	return nil
}

var _ types.Result = (*current.Result)(nil)
