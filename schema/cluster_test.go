package schema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const baremetalHead = "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: bm\nspec:\n  type: Baremetal\n"

// master is a valid master machine entry for spec.machines.
func machine(ip, role string) string {
	return "  - ip: " + ip + "\n    role: " + role + "\n    password: {env: GITFLEET_SECRET_SSH_PASSWORD}\n"
}

func TestClusterErrors(t *testing.T) {
	cases := []struct {
		name string
		file string
		want []string
	}{
		{
			name: "imported cluster with machines and a scheme in the API server host",
			file: clusterFile + "spec:\n  apiServer:\n    host: https://10.0.0.1\n    port: 70000\n  machines:\n" + machine("10.0.0.5", "worker"),
			want: []string{
				`clusters/x.yaml:9:11: spec.apiServer.host: write the host without a scheme (TKEStack's import form): "10.0.0.1"`,
				`clusters/x.yaml:10:11: spec.apiServer.port: a port is 1 to 65535, found 70000`,
				`clusters/x.yaml:12:3: spec.machines: an Imported cluster has no machines: TKEStack adds and removes nodes only on Baremetal clusters; set spec.type: Baremetal or remove the machines`,
			},
		},
		{
			name: "bad NIC, GPU type, network mode and dns domain",
			file: clusterFile + "spec:\n  networkDevice: Eth0\n  gpuType: vgpu\n  network:\n    mode: underlay\n  dnsDomain: Cluster_Local\n",
			want: []string{
				`clusters/x.yaml:8:18: spec.networkDevice: "Eth0" is not a valid NIC name: at most 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit`,
				`clusters/x.yaml:9:12: spec.gpuType: unknown value "vgpu"; did you mean "vGPU"?`,
				`clusters/x.yaml:11:11: spec.network.mode: unknown value "underlay"; expected one of: overlay, floatingIP, nat, host`,
				`clusters/x.yaml:12:14: spec.dnsDomain: "Cluster_Local" is not a DNS domain: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
			},
		},
		{
			name: "NIC name starting with a digit",
			file: clusterFile + "spec:\n  networkDevice: 0eth\n",
			want: []string{
				`clusters/x.yaml:8:18: spec.networkDevice: "0eth" is not a valid NIC name: at most 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit`,
			},
		},
		{
			name: "container network public, pod and service counts",
			file: clusterFile + "spec:\n  network:\n    clusterCIDR: 8.8.0.0/16\n    maxNodePodNum: 100\n    maxClusterServiceNum: 16\n",
			want: []string{
				`clusters/x.yaml:9:18: spec.network.clusterCIDR: 8.8.0.0/16 is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)`,
				`clusters/x.yaml:10:20: spec.network.maxNodePodNum: pods per node must be a power of two from 16 to 256, found 100`,
				`clusters/x.yaml:11:27: spec.network.maxClusterServiceNum: services per cluster must be a power of two from 32 to 32768, found 16`,
			},
		},
		{
			name: "container network overlaps a machine",
			file: baremetalHead + "  network:\n    clusterCIDR: 10.0.0.0/16\n  machines:\n" + machine("10.0.3.4", "master"),
			want: []string{
				`clusters/x.yaml:8:18: spec.network.clusterCIDR: container network 10.0.0.0/16 overlaps machine 10.0.3.4 (spec.machines[0]); cluster initialisation would fail: pick a range that none of the machines' IPs is in`,
			},
		},
		{
			name: "baremetal without a master, bad machines",
			file: baremetalHead + "  machines:\n" +
				"  - ip: 10.1.0.300\n    password: {env: GITFLEET_SECRET_P}\n" +
				"  - ip: 10.1.0.2\n    port: 99999\n    username: \"root; rm -rf /\"\n" +
				"  - ip: 10.1.0.3\n    password: {env: GITFLEET_SECRET_P}\n    privateKey: {file: keys/id}\n    role: boss\n" +
				"  - ip: 10.1.0.4\n    password: {env: GITFLEET_SECRET_P}\n    passphrase: {env: GITFLEET_SECRET_K}\n    gpu: true\n    taints:\n    - {key: gpu, effect: NoSchedul}\n",
			want: []string{
				`clusters/x.yaml:8:3: spec.machines: a Baremetal cluster needs at least one machine with role: master`,
				`clusters/x.yaml:8:9: spec.machines[0].ip: "10.1.0.300" is not an IP address (one machine per entry; TKEStack's "a;b" lists are written as separate machines)`,
				`clusters/x.yaml:10:5: spec.machines[1]: SSH credentials are required: set password or privateKey (by reference)`,
				`clusters/x.yaml:11:11: spec.machines[1].port: a port is 1 to 65535, found 99999`,
				`clusters/x.yaml:12:15: spec.machines[1].username: "root; rm -rf /" is not a valid SSH user name`,
				`clusters/x.yaml:13:5: spec.machines[2]: set either password or privateKey, not both`,
				`clusters/x.yaml:16:11: spec.machines[2].role: unknown value "boss"; expected one of: master, worker`,
				`clusters/x.yaml:19:17: spec.machines[3].passphrase: a passphrase only unlocks a privateKey`,
				`clusters/x.yaml:20:10: spec.machines[3].gpu: machine 10.1.0.4 has GPUs but the cluster's spec.gpuType is none; set vGPU (GPU-Manager) or pGPU (NVIDIA device plugin)`,
				`clusters/x.yaml:22:26: spec.machines[3].taints[0].effect: unknown value "NoSchedul"; did you mean "NoSchedule"?`,
			},
		},
		{
			name: "HA needs three masters and a VIP",
			file: baremetalHead + "  ha:\n    type: thirdParty\n    vip: not-an-ip\n  machines:\n" + machine("10.1.0.1", "master") + machine("10.1.0.2", "master"),
			want: []string{
				`clusters/x.yaml:8:5: spec.ha: HA needs at least 3 masters (otherwise etcd can split-brain), found 2`,
				`clusters/x.yaml:9:10: spec.ha.vip: the virtual IP is required and must be an IP address, found "not-an-ip"`,
			},
		},
		{
			name: "a password written into the repository",
			file: baremetalHead + "  machines:\n  - ip: 10.1.0.1\n    role: master\n    password: c2VjcmV0\n",
			want: []string{
				`clusters/x.yaml:8:5: spec.machines[0]: SSH credentials are required: set password or privateKey (by reference)`,
				`clusters/x.yaml:10:15: spec.machines[0].password: a secret must not be written into the repository; refer to it instead: {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`,
			},
		},
		{
			name: "secret references that are incomplete",
			file: clusterFile + "spec:\n  credentials:\n    token: {env: 1TOKEN}\n    caData: {secret: {name: ca}}\n",
			want: []string{
				`clusters/x.yaml:9:18: spec.credentials.token.env: "1TOKEN" is not an environment variable name: use letters, digits and _, not starting with a digit`,
				`clusters/x.yaml:10:22: spec.credentials.caData.secret.key: the key of the Secret that holds the value is required`,
			},
		},
		{
			name: "overcommit, upgrade policy, capacity, labels",
			file: "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: dev\n  labels:\n    env/x/y: dev\nspec:\n  overcommit: 0.5\n  capacity:\n    cpu: -4\n  upgrade:\n    mode: auto\n    maxUnready: 120\n",
			want: []string{
				`clusters/x.yaml:6:14: metadata.labels.env/x/y: "env/x/y" is not a valid label key: a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
				`clusters/x.yaml:8:15: spec.overcommit: overcommit ratio must be between 1 (no overcommit) and 10, found 0.5`,
				`clusters/x.yaml:10:10: spec.capacity.cpu: must not be negative, found -4`,
				`clusters/x.yaml:12:11: spec.upgrade.mode: unknown value "auto"; did you mean "Auto"?`,
				`clusters/x.yaml:13:17: spec.upgrade.maxUnready: a percentage of pods, 0 to 100, found 120`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(t.Context(), repoFS(map[string]string{"clusters/x.yaml": tc.file}))
			var got []string
			for _, e := range AsErrorList(err) {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMachineDeclaredTwice(t *testing.T) {
	_, err := Load(t.Context(), repoFS(map[string]string{
		"clusters/a.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: a\nspec:\n  type: Baremetal\n  machines:\n" + machine("10.1.0.1", "master"),
		"clusters/b.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: b\nspec:\n  type: Baremetal\n  machines:\n" + machine("10.1.0.1", "master"),
	}))
	want := []string{`clusters/b.yaml:8:9: spec.machines[0].ip: machine 10.1.0.1 is already declared at clusters/a.yaml:8:9; a machine belongs to one cluster`}
	var got []string
	for _, e := range AsErrorList(err) {
		got = append(got, e.Error())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestCheckUpgrades(t *testing.T) {
	load := func(versions map[string]string) *Repo {
		files := map[string]string{}
		for name, v := range versions {
			files["clusters/"+name+".yaml"] = "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: " + name + "\nspec:\n  version: \"" + v + "\"\n"
		}
		repo, err := Load(t.Context(), repoFS(files))
		if err != nil {
			t.Fatal(err)
		}
		return repo
	}
	prev := load(map[string]string{"patch": "1.16.9", "minor": "1.16.9", "skip": "1.16.9", "down": "1.18.3", "major": "1.18.3", "same": "1.17.13", "new": ""})
	next := load(map[string]string{"patch": "1.16.15", "minor": "1.17.13", "skip": "1.18.3", "down": "1.17.13", "major": "2.0.0", "same": "1.17.13", "new": "1.18.3"})
	var got []string
	for _, e := range CheckUpgrades(prev, next) {
		got = append(got, e.Error())
	}
	want := []string{
		`clusters/down.yaml:6:12: spec.version: version 1.17.13 is lower than 1.18.3 in the previous revision: Kubernetes upgrades cannot be undone, so a downgrade (or a git revert of an upgrade that has started) is refused; if the upgrade has not started on any node yet, set the version back in a new commit only after checking the cluster`,
		`clusters/major.yaml:6:12: spec.version: upgrading from 1.18.3 to 2.0.0 changes the major version; only one minor step (1.19.x) or patch upgrades are allowed`,
		`clusters/skip.yaml:6:12: spec.version: upgrading from 1.16.9 to 1.18.3 skips a minor version; upgrade one minor step at a time (first to 1.17.x)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}
