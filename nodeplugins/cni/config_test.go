package cni

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/schema"
)

// TestModesMatchSchema: the plugin's modes are the cluster schema's network modes, the
// values the Galaxy addon writes into defaultMode.
func TestModesMatchSchema(t *testing.T) {
	got := []string{string(ModeOverlay), string(ModeFloatingIP), string(ModeNAT), string(ModeHost)}
	want := []string{string(schema.NetworkOverlay), string(schema.NetworkFloatingIP), string(schema.NetworkNAT), string(schema.NetworkHost)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("modes (-schema +plugin):\n%s", diff)
	}
}

// TestRenderedConflistIsAccepted reads the conflist the Galaxy addon renders (its golden
// file in render/addons) and validates it as the installer does before installing it.
func TestRenderedConflistIsAccepted(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "render", "addons", "testdata", "galaxy.yaml"))
	if err != nil {
		t.Fatalf("the Galaxy addon's golden render: %v", err)
	}
	var conflist string
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var cm struct {
			Kind     string
			Metadata struct{ Name string }
			Data     map[string]string
		}
		if yaml.Unmarshal([]byte(doc), &cm) == nil && cm.Kind == "ConfigMap" && cm.Metadata.Name == "galaxy-cni-config" {
			conflist = cm.Data["00-galaxy.conflist"]
		}
	}
	if conflist == "" {
		t.Fatal("no 00-galaxy.conflist in the galaxy-cni-config ConfigMap of render/addons/testdata/galaxy.yaml")
	}
	if err := ValidateConfList([]byte(conflist)); err != nil {
		t.Fatalf("the rendered conflist is refused: %v\n%s", err, conflist)
	}
}

func TestParseConfig(t *testing.T) {
	base := `{"cniVersion":"1.0.0","name":"galaxy","type":"gitfleet-cni","defaultMode":"overlay","device":"eth1"}`
	tests := []struct {
		name    string
		conf    string
		args    string
		mode    Mode
		ip      string
		wantErr string
	}{
		{name: "default mode", conf: base, mode: ModeOverlay},
		{name: "mode from CNI_ARGS", conf: base, args: "K8S_POD_NAME=a;GALAXY_NETWORK_MODE=nat", mode: ModeNAT},
		{name: "ipinfos make a floating IP pod", conf: base, args: "K8S_POD_NAME=a;ipinfos=" + galaxyIPInfos, mode: ModeFloatingIP, ip: "192.168.64.202/24"},
		{name: "ipinfos in args", conf: `{"name":"galaxy","args":{"common":{"ipinfos":[{"ip":"10.0.0.5/24","gateway":"10.0.0.1"}]}}}`, mode: ModeFloatingIP, ip: "10.0.0.5/24"},
		{name: "unknown mode", conf: base, args: "GALAXY_NETWORK_MODE=bridge", wantErr: `CNI_ARGS GALAXY_NETWORK_MODE: unknown network mode "bridge"`},
		{name: "unknown default mode", conf: `{"name":"galaxy","defaultMode":"OverLay"}`, wantErr: `defaultMode: unknown network mode "OverLay"`},
		{name: "no name", conf: `{"type":"gitfleet-cni"}`, wantErr: "name: required"},
		{name: "bad ipinfos", conf: base, args: "ipinfos={", wantErr: "CNI_ARGS ipinfos: not a JSON array"},
		{name: "floating without IP", conf: base, args: "GALAXY_NETWORK_MODE=floatingIP", mode: ModeFloatingIP, wantErr: "k8s.v1.cni.galaxy.io/args"},
		{name: "tagged VLAN", conf: base, args: `ipinfos=[{"ip":"10.0.0.5/24","vlan":2,"gateway":"10.0.0.1"}]`, mode: ModeFloatingIP, wantErr: "ipinfos[0].vlan: VLAN 2"},
		{name: "IP without prefix", conf: base, args: `ipinfos=[{"ip":"10.0.0.5","gateway":"10.0.0.1"}]`, mode: ModeFloatingIP, wantErr: "ipinfos[0].ip"},
		{name: "random host port outside nat", conf: `{"name":"galaxy","runtimeConfig":{"portMappings":[{"hostPort":0,"containerPort":80}]}}`, mode: ModeOverlay, wantErr: "runtimeConfig.portMappings[0]: hostPort 0"},
		{name: "random host port in nat", conf: `{"name":"galaxy","defaultMode":"nat","runtimeConfig":{"portMappings":[{"hostPort":0,"containerPort":80}]}}`, mode: ModeNAT},
		{name: "bad protocol", conf: `{"name":"galaxy","runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"protocol":"icmp"}]}}`, mode: ModeOverlay, wantErr: `protocol "icmp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseConfig([]byte(tt.conf), tt.args)
			if err == nil {
				err = inv.validateAdd()
			}
			if tt.wantErr != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want a ConfigError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if inv.Mode != tt.mode {
				t.Errorf("mode %s, want %s", inv.Mode, tt.mode)
			}
			if tt.ip != "" && (inv.IPInfo == nil || inv.IPInfo.IP != tt.ip) {
				t.Errorf("floating IP %+v, want %s", inv.IPInfo, tt.ip)
			}
			if inv.Conf.Flannel.SubnetFile != DefaultSubnetFile || inv.Conf.DataDir != DefaultDataDir || inv.Conf.Bridge != DefaultBridge {
				t.Errorf("defaults not filled: %+v", inv.Conf)
			}
		})
	}
}

func TestReadSubnetEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "subnet.env")
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	env, err := ReadSubnetEnv(write("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1480\nFLANNEL_IPMASQ=true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if env.Subnet.String() != "10.244.3.1/24" || env.Gateway().String() != "10.244.3.1" || env.MTU != 1480 || env.Network.String() != "10.244.0.0/16" {
		t.Errorf("parsed %+v", env)
	}
	for content, want := range map[string]string{
		"FLANNEL_MTU=1450\n":                            "no FLANNEL_SUBNET",
		"FLANNEL_SUBNET=10.244.3.0/24\n":                "names the network address",
		"FLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=x\n": "subnet.env:2: FLANNEL_MTU",
		"FLANNEL_SUBNET=10.244.3.1/31\n":                "at least 4 addresses",
	} {
		if _, err := ReadSubnetEnv(write(content)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", content, err, want)
		}
	}
	if _, err := ReadSubnetEnv(filepath.Join(dir, "absent")); err == nil || !strings.Contains(err.Error(), "flanneld writes it") {
		t.Errorf("missing file: %v", err)
	}
}

func TestHostVethName(t *testing.T) {
	a, b := hostVethName("c1", "eth0"), hostVethName("c1", "eth1")
	if len(a) != 12 || !strings.HasPrefix(a, "v-h") || a == b || a != hostVethName("c1", "eth0") {
		t.Errorf("names %q %q: want stable, distinct, v-h + 9 hex digits like Galaxy's", a, b)
	}
}
