package cni

import (
	"errors"

	"github.com/containernetworking/cni/pkg/skel"
)

// Del detaches the pod. It succeeds for a container the plugin never saw and for one
// whose namespace is gone, as the spec asks: the runtime retries DEL until it succeeds.
func (p *Plugin) Del(args *skel.CmdArgs) error {
	inv, err := ParseConfig(args.StdinData, args.Args)
	if err != nil {
		return asCNIError(err)
	}
	state := newAttachments(inv.Conf.DataDir, inv.Conf.Name)
	prev, err := state.Get(args.ContainerID, args.IfName)
	if err == nil && prev == nil && inv.Mode == ModeHost {
		// A host-network pod got nothing from ADD: nothing to look for.
		return nil
	}
	if err == nil {
		err = p.teardown(args, inv, prev, releaseIP)
	}
	if err != nil {
		p.log.Warn("DEL failed", "pod", inv.PodName, "container", args.ContainerID, "error", err)
		return asCNIError(&AttachError{Op: "del", Pod: inv.PodName, ContainerID: args.ContainerID, IfName: args.IfName, Mode: inv.Mode, Err: err})
	}
	p.log.Info("DEL", "pod", inv.PodName, "container", args.ContainerID)
	return nil
}

// ipamAction says whether teardown releases the pod's reservation.
type ipamAction bool

const (
	releaseIP ipamAction = true
	keepIP    ipamAction = false
)

// teardown removes everything an ADD of this container may have made, found by name and
// container ID rather than trusted from the record (prev may be nil): the pod interface,
// the node end of the veth (and with it the node's route to the pod), the IPAM
// reservation, the host-port rules, and last the record, so that a DEL that fails half
// way is retried with the record still there.
func (p *Plugin) teardown(args *skel.CmdArgs, inv *Invocation, prev *attachment, ipam ipamAction) error {
	conf := inv.Conf
	var errs []error
	errs = append(errs, deletePodLink(args.Netns, args.IfName))
	errs = append(errs, deleteLink(hostVethName(args.ContainerID, args.IfName)))

	// Only the modes with host-local addresses reserve one, but the pod's mode may have
	// changed since its ADD (the record may be lost), and releasing nothing is cheap.
	if ipam == keepIP {
		// ADD rebuilding a pod keeps its address.
	} else if ips, err := openStore(conf.DataDir, conf.Name); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, ips.Release(args.ContainerID, args.IfName))
		ips.Close()
	}

	// Looking at iptables costs iptables runs per DEL: do it when the pod had, or is
	// still said to have, host ports. A node without iptables never mapped any.
	hadPorts := (prev != nil && len(prev.PortMaps) > 0) || len(inv.PortMaps) > 0 || inv.Mode == ModeNAT
	if hadPorts && iptablesPresent() {
		if hp, err := newHostPorts(conf.Name); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, hp.Unmap(args.ContainerID, args.IfName))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return newAttachments(conf.DataDir, conf.Name).Delete(args.ContainerID, args.IfName)
}
