package cni

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// hostVethName is the node side of a pod's veth: "v-h" and nine hex digits of the
// container ID and interface, the shape Galaxy's veths have (v-hb21e7165d). Being
// derived, not random, it lets DEL find the link when the pod's namespace is gone and
// lets a repeated ADD find what the first one left.
func hostVethName(containerID, ifName string) string {
	sum := sha256.Sum256([]byte(containerID + "/" + ifName))
	return "v-h" + hex.EncodeToString(sum[:])[:9]
}

// vethPair is the pod's two interfaces once made.
type vethPair struct {
	Host      netlink.Link
	Container net.Interface
}

// makeVeth creates the pair from inside the pod's namespace and moves the node end out.
// A node-side link left by an earlier, interrupted ADD of the same container is removed
// first; a pod-side interface of the same name is an error (the runtime asked for an
// interface the pod already has).
func makeVeth(hostNS, podNS ns.NetNS, ifName, hostName string, mtu int) (*vethPair, error) {
	if err := deleteLink(hostName); err != nil {
		return nil, err
	}
	var pair vethPair
	err := podNS.Do(func(ns.NetNS) error {
		_, cont, err := ip.SetupVethWithName(ifName, hostName, mtu, "", hostNS)
		if err != nil {
			return err
		}
		pair.Container = cont
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create veth %s (pod) / %s (node): %w", ifName, hostName, err)
	}
	pair.Host, err = netlinksafe.LinkByName(hostName)
	if err != nil {
		deleteLink(hostName)
		return nil, fmt.Errorf("find the node side %s of the new veth: %w", hostName, err)
	}
	return &pair, nil
}

// deleteLink deletes a link of the current namespace; a missing one is not an error.
func deleteLink(name string) error {
	link, err := netlinksafe.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("look up link %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("delete link %s: %w", name, err)
	}
	return nil
}

// deletePodLink deletes the pod's interface inside its namespace. A namespace that is
// already gone (the runtime deleted the sandbox first) took the interface with it.
func deletePodLink(netnsPath, ifName string) error {
	if netnsPath == "" {
		return nil
	}
	podNS, err := ns.GetNS(netnsPath)
	if err != nil {
		var gone ns.NSPathNotExistErr
		var notNS ns.NSPathNotNSErr
		if errors.As(err, &gone) || errors.As(err, &notNS) {
			return nil
		}
		return fmt.Errorf("open the pod's network namespace %s: %w", netnsPath, err)
	}
	defer podNS.Close()
	same, err := sameNetNS(podNS)
	if err != nil {
		return err
	}
	if same {
		// A DEL naming the node's own namespace (a host-network sandbox) must never
		// delete the node's interface of that name.
		return nil
	}
	return podNS.Do(func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName(ifName)
		if err != nil {
			if errors.As(err, new(netlink.LinkNotFoundError)) {
				return nil
			}
			return fmt.Errorf("look up the pod interface %s: %w", ifName, err)
		}
		if _, ok := link.(*netlink.Veth); !ok {
			return nil // not one this plugin makes
		}
		return deleteLink(ifName)
	})
}

// sameNetNS reports whether other is the namespace the calling thread is in.
func sameNetNS(other ns.NetNS) (bool, error) {
	var here, there unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &here); err != nil {
		return false, fmt.Errorf("stat the node's network namespace: %w", err)
	}
	if err := unix.Fstat(int(other.Fd()), &there); err != nil {
		return false, fmt.Errorf("stat the pod's network namespace %s: %w", other.Path(), err)
	}
	return here.Dev == there.Dev && here.Ino == there.Ino, nil
}
