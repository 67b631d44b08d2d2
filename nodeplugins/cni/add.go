package cni

import (
	"fmt"
	"net"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// Add attaches the pod to its network mode and prints the CNI result.
func (p *Plugin) Add(args *skel.CmdArgs) error {
	inv, err := ParseConfig(args.StdinData, args.Args)
	if err != nil {
		return asCNIError(err)
	}
	res, err := p.add(args, inv)
	if err != nil {
		p.log.Warn("ADD failed", "pod", inv.PodName, "container", args.ContainerID, "mode", inv.Mode, "error", err)
		return asCNIError(&AttachError{Op: "add", Pod: inv.PodName, ContainerID: args.ContainerID, IfName: args.IfName, Mode: inv.Mode, Err: err})
	}
	p.log.Info("ADD", "pod", inv.PodName, "container", args.ContainerID, "mode", inv.Mode, "ips", len(res.IPs))
	return types.PrintResult(res, inv.Conf.CNIVersion)
}

// add does the work of ADD. Every change it makes is undone, in reverse order, if a
// later step fails, so a failed ADD leaves no veth, route, reservation or rule behind.
func (p *Plugin) add(args *skel.CmdArgs, inv *Invocation) (res *current.Result, err error) {
	if inv.Mode == ModeHost {
		// A pod in the host network shares the node's namespace: nothing to attach. The
		// empty result says so (no interfaces, no IPs); the pod's IP is the node's.
		return &current.Result{CNIVersion: current.ImplementedSpecVersion}, nil
	}
	if err := inv.validateAdd(); err != nil {
		return nil, err
	}
	conf := inv.Conf
	state := newAttachments(conf.DataDir, conf.Name)

	// A repeated ADD of a pod that is fully in place answers with the first result; a
	// partial one (a crash mid-ADD, a pod namespace re-made) is torn down and redone.
	if prev, err := state.Get(args.ContainerID, args.IfName); err != nil {
		return nil, err
	} else if prev != nil {
		if err := p.check(args, inv, prev); err == nil {
			return prev.Result, nil
		}
		if err := p.teardown(args, inv, prev, keepIP); err != nil {
			return nil, fmt.Errorf("tear down the pod's previous, incomplete attachment: %w", err)
		}
	}

	podNS, err := ns.GetNS(args.Netns)
	if err != nil {
		return nil, &types.Error{Code: types.ErrInvalidNetNS, Msg: fmt.Sprintf("open the pod's network namespace %s: %v", args.Netns, err)}
	}
	defer podNS.Close()
	hostNS, err := ns.GetCurrentNS()
	if err != nil {
		return nil, fmt.Errorf("open the node's network namespace: %w", err)
	}
	defer hostNS.Close()

	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()

	// The address, the MTU and the node-side wiring depend on the mode.
	var (
		ipc  *current.IPConfig
		mtu  int
		br   netlink.Link
		wire func(host netlink.Link) error
	)
	switch inv.Mode {
	case ModeOverlay, ModeNAT:
		env, err := ReadSubnetEnv(conf.Flannel.SubnetFile)
		if err != nil {
			return nil, err
		}
		ips, err := openPodIPs(conf.DataDir, conf.Name, env)
		if err != nil {
			return nil, err
		}
		ipc, err = ips.Allocate(args.ContainerID, args.IfName)
		// Closed now, not deferred: the undo below runs in a deferred call too, and
		// would find the store's lock file closed.
		ips.Close()
		if err != nil {
			return nil, err
		}
		undo = append(undo, func() {
			if ips, err := openStore(conf.DataDir, conf.Name); err == nil {
				ips.Release(args.ContainerID, args.IfName)
				ips.Close()
			}
		})
		mtu = env.MTU
		wire = func(host netlink.Link) error { return wireOverlayNode(host, ipc) }
	case ModeFloatingIP:
		if ipc, err = floatingIPConfig(inv.IPInfo); err != nil {
			return nil, err
		}
		if br, err = ensureUnderlayBridge(conf.DataDir, conf.Name, conf.Device, conf.Bridge); err != nil {
			return nil, err
		}
		mtu = br.Attrs().MTU
		wire = func(host netlink.Link) error { return wireFloatingNode(host, br) }
	}

	hostName := hostVethName(args.ContainerID, args.IfName)
	pair, err := makeVeth(hostNS, podNS, args.IfName, hostName, mtu)
	if err != nil {
		return nil, err
	}
	// Deleting the node end deletes the pair and every route through it.
	undo = append(undo, func() { deleteLink(hostName) })

	podWire := wireOverlayPod
	if inv.Mode == ModeFloatingIP {
		podWire = wireFloatingPod
	}
	if err := podWire(podNS, args.IfName, ipc); err != nil {
		return nil, err
	}
	if err := wire(pair.Host); err != nil {
		return nil, err
	}

	res = &current.Result{CNIVersion: current.ImplementedSpecVersion}
	if br != nil {
		res.Interfaces = append(res.Interfaces, &current.Interface{Name: br.Attrs().Name, Mac: br.Attrs().HardwareAddr.String()})
	}
	res.Interfaces = append(res.Interfaces,
		&current.Interface{Name: hostName, Mac: pair.Host.Attrs().HardwareAddr.String()},
		&current.Interface{Name: args.IfName, Mac: pair.Container.HardwareAddr.String(), Sandbox: args.Netns},
	)
	ipc.Interface = current.Int(len(res.Interfaces) - 1)
	res.IPs = []*current.IPConfig{ipc}
	res.Routes = []*types.Route{defaultRoute(ipc.Gateway)}
	res.DNS = conf.DNS

	at := &attachment{ContainerID: args.ContainerID, IfName: args.IfName, Pod: inv.PodName, Mode: inv.Mode, HostVeth: hostName, Result: res}
	if len(inv.PortMaps) > 0 {
		hp, err := newHostPorts(conf.Name)
		if err != nil {
			return nil, err
		}
		undo = append(undo, func() { hp.Unmap(args.ContainerID, args.IfName) })
		if at.PortMaps, err = hp.Map(args.ContainerID, args.IfName, ipc.Address.IP, inv.PortMaps); err != nil {
			return nil, err
		}
		for _, pm := range at.PortMaps {
			p.log.Info("host port mapped", "pod", inv.PodName, "hostPort", pm.HostPort, "protocol", protocol(pm), "to", net.JoinHostPort(ipc.Address.IP.String(), fmt.Sprint(pm.ContainerPort)))
		}
	}
	if err := state.Put(at); err != nil {
		return nil, err
	}
	return res, nil
}

// validateAdd checks what only ADD needs: DEL must clean up a pod even when its
// arguments are no longer complete.
func (inv *Invocation) validateAdd() error {
	if inv.Mode == ModeFloatingIP {
		info, err := pickIPInfo(inv.IPInfos)
		if err != nil {
			return err
		}
		inv.IPInfo = info
	}
	for i, pm := range inv.PortMaps {
		if err := checkPortMapping(pm, inv.Mode); err != nil {
			return &ConfigError{Field: fmt.Sprintf("runtimeConfig.portMappings[%d]", i), Err: err}
		}
	}
	return nil
}
