//go:build tools

// Package baseline pins the reference CNI plugins the benchmark compares against.
package baseline

import (
	_ "github.com/containernetworking/plugins/plugins/ipam/host-local"
	_ "github.com/containernetworking/plugins/plugins/main/bridge"
)
