package cni

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/plugins/ipam/host-local/backend/allocator"
)

// podIPs hands out this node's overlay pod addresses with host-local's allocator over a
// store in host-local's format (ipStore): one file per IP under <dataDir>/<network>,
// created exclusively under an flock, so concurrent ADDs on a node never share an address.
type podIPs struct {
	store   *ipStore
	ranges  allocator.RangeSet
	subnet  netip.Prefix
	dataDir string
}

// openPodIPs opens the reservation store of network for the node's flannel subnet. The
// gateway (the subnet's first host, the node's side of every pod route) is never handed out.
func openPodIPs(dataDir, network string, env SubnetEnv) (*podIPs, error) {
	subnet := env.Subnet.Masked()
	r := allocator.Range{
		Subnet:  types.IPNet(*prefixToIPNet(subnet)),
		Gateway: net.IP(env.Gateway().AsSlice()),
	}
	ranges := allocator.RangeSet{r}
	if err := ranges.Canonicalize(); err != nil {
		return nil, &ConfigError{Field: "FLANNEL_SUBNET", Err: err}
	}
	p, err := openStore(dataDir, network)
	if err != nil {
		return nil, err
	}
	p.ranges, p.subnet = ranges, subnet
	return p, nil
}

// openStore opens the reservations alone, enough to release and inspect them: DEL must
// work when flannel's subnet file is gone.
func openStore(dataDir, network string) (*podIPs, error) {
	store, err := newIPStore(dataDir, network)
	if err != nil {
		return nil, err
	}
	return &podIPs{store: store, dataDir: dataDir}, nil
}

func (p *podIPs) Close() error { return p.store.Close() }

// Allocate reserves an address for the container's interface. A second ADD of the same
// container and interface gets the address it already holds rather than a second one.
func (p *podIPs) Allocate(id, ifname string) (*current.IPConfig, error) {
	if err := p.store.Lock(); err != nil {
		return nil, fmt.Errorf("lock the IPAM store in %s: %w", p.dataDir, err)
	}
	defer p.store.Unlock()

	gw := p.ranges[0].Gateway
	for _, held := range p.store.GetByID(id, ifname) {
		if _, err := p.ranges.RangeFor(held); err == nil {
			if v4 := held.To4(); v4 != nil {
				held = v4
			}
			return &current.IPConfig{Address: net.IPNet{IP: held, Mask: p.ranges[0].Subnet.Mask}, Gateway: gw}, nil
		}
	}
	iter, err := allocator.NewIPAllocator(&p.ranges, p.store, 0).GetIter()
	if err != nil {
		return nil, fmt.Errorf("read the last reserved IP in %s: %w", p.dataDir, err)
	}
	for {
		ipn, gw := iter.Next()
		if ipn == nil {
			return nil, &ExhaustedError{Subnet: p.subnet.String(), DataDir: p.dataDir}
		}
		ok, err := p.store.Reserve(id, ifname, ipn.IP, "0")
		if err != nil {
			return nil, fmt.Errorf("reserve %s in %s: %w", ipn.IP, p.dataDir, err)
		}
		if ok {
			return &current.IPConfig{Address: *ipn, Gateway: gw}, nil
		}
	}
}

// Release frees what the container's interface holds; nothing held is not an error.
func (p *podIPs) Release(id, ifname string) error {
	if err := p.store.Lock(); err != nil {
		return fmt.Errorf("lock the IPAM store in %s: %w", p.dataDir, err)
	}
	defer p.store.Unlock()
	if err := p.store.ReleaseByID(id, ifname); err != nil {
		return fmt.Errorf("release the IP of container %s in %s: %w", id, p.dataDir, err)
	}
	return nil
}

// Holds reports whether the container's interface holds ip.
func (p *podIPs) Holds(id, ifname string, ip net.IP) bool {
	for _, held := range p.store.GetByID(id, ifname) {
		if held.Equal(ip) {
			return true
		}
	}
	return false
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	bits := 128
	if p.Addr().Is4() {
		bits = 32
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}
