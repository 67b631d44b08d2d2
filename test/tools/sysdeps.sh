#!/usr/bin/env bash
# Installs the system programs the tests run for real, from Debian's packages, when they are
# missing: openssh-server (the machines' SSH preflight tests start their own sshd on
# loopback) and iptables (the CNI plugin's NAT mode writes hostPort rules). The CNI and
# machine tests also need root, for network namespaces; this script says so up front.
set -euo pipefail
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if [ "$(id -u)" != 0 ]; then
	echo "make test needs root: the CNI plugin tests create network namespaces and veth pairs" >&2
	exit 1
fi
if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
echo "installing ${need[*]} (Debian packages) for the node-plugin and machine tests"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${need[@]}" >/tmp/gitfleet-sysdeps.log 2>&1; then
	apt-get update -q >>/tmp/gitfleet-sysdeps.log 2>&1
	apt-get install -y -q --no-install-recommends "${need[@]}" >>/tmp/gitfleet-sysdeps.log 2>&1 || {
		echo "could not install ${need[*]}; apt-get said:" >&2
		tail -20 /tmp/gitfleet-sysdeps.log >&2
		exit 1
	}
fi
