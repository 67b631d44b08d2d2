// Package nodeplugins holds the plugins gitfleet ships to member-cluster nodes through its
// addons: gpu/ is the kubelet device plugin behind the GPUManager addon (GPU sharing with
// tencent.com/vcuda-core and tencent.com/vcuda-memory), cni/ the CNI plugin behind the
// Galaxy addon (overlay, floating IP, NAT and host network modes).
package nodeplugins
