package cni

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// SubnetEnv is what flanneld writes to /run/flannel/subnet.env: the cluster network,
// this node's pod subnet (its first address is the node's gateway for its pods) and the
// MTU pods must use so that the encapsulated packets fit the underlay.
type SubnetEnv struct {
	Network netip.Prefix // FLANNEL_NETWORK
	Subnet  netip.Prefix // FLANNEL_SUBNET, e.g. 10.244.1.1/24: gateway 10.244.1.1 in 10.244.1.0/24
	MTU     int          // FLANNEL_MTU
}

// Gateway is the node-side address of every pod's default route.
func (s SubnetEnv) Gateway() netip.Addr { return s.Subnet.Addr() }

// ReadSubnetEnv reads flanneld's subnet file.
func ReadSubnetEnv(path string) (SubnetEnv, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return SubnetEnv{}, fmt.Errorf("read flannel's subnet file %s (flanneld writes it once it has this node's pod subnet: is the flannel container of galaxy-daemonset running?): %w", path, err)
	}
	var env SubnetEnv
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		var perr error
		switch k {
		case "FLANNEL_NETWORK":
			env.Network, perr = netip.ParsePrefix(v)
		case "FLANNEL_SUBNET":
			env.Subnet, perr = netip.ParsePrefix(v)
		case "FLANNEL_MTU":
			env.MTU, perr = strconv.Atoi(v)
		}
		if perr != nil {
			return SubnetEnv{}, &ConfigError{Field: fmt.Sprintf("%s:%d: %s", path, line, k), Err: perr}
		}
	}
	if !env.Subnet.IsValid() {
		return SubnetEnv{}, &ConfigError{Field: path, Err: fmt.Errorf("no FLANNEL_SUBNET: flanneld has not written this node's pod subnet")}
	}
	if !env.Subnet.Addr().Is4() || env.Subnet.Bits() > 30 {
		return SubnetEnv{}, &ConfigError{Field: path + ": FLANNEL_SUBNET", Err: fmt.Errorf("%s: want an IPv4 subnet of at least 4 addresses", env.Subnet)}
	}
	if env.Subnet.Addr() == env.Subnet.Masked().Addr() {
		return SubnetEnv{}, &ConfigError{Field: path + ": FLANNEL_SUBNET", Err: fmt.Errorf("%s names the network address; flanneld writes the gateway address (the subnet's first host, like 10.244.1.1/24)", env.Subnet)}
	}
	if env.MTU == 0 {
		env.MTU = 1500
	}
	return env, nil
}
