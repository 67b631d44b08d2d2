package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/test/gitrepo"
)

// TestViewFlags: the view is off unless asked for, on loopback when asked, and its
// authentication file and commit links are checked before serve starts.
func TestViewFlags(t *testing.T) {
	auth := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(auth, []byte("bearer t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "broken")
	if err := os.WriteFile(broken, []byte("password t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args               []string
		repo               string
		addr, commit, fail string
		auth               bool
	}{
		{args: nil},
		{args: []string{"--view"}, addr: "127.0.0.1:9393"},
		{args: []string{"--view-address", ":9000"}, addr: ":9000"},
		{args: []string{"--view", "--view-address", "0"}},
		{args: []string{"--view"}, repo: "https://tok@github.com/example/fleet.git", addr: "127.0.0.1:9393", commit: "https://github.com/example/fleet/commit/{rev}"},
		{args: []string{"--view", "--view-commit-url", "https://git.example.com/c/{rev}"}, repo: "ssh://git@x/y", addr: "127.0.0.1:9393", commit: "https://git.example.com/c/{rev}"},
		{args: []string{"--view", "--view-commit-url", "https://git.example.com/c/"}, fail: "needs {rev}"},
		{args: []string{"--view", "--view-auth-file", auth}, addr: "127.0.0.1:9393", auth: true},
		{args: []string{"--view", "--view-auth-file", broken}, fail: "unknown credential kind"},
	} {
		var v viewFlags
		f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		v.add(f)
		if err := f.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		o := reconciler.DefaultServerOptions()
		err := v.set(&o, tc.repo, logr.Discard())
		switch {
		case tc.fail != "":
			if err == nil || !strings.Contains(err.Error(), tc.fail) || strings.Contains(err.Error(), "t0ken") {
				t.Errorf("%v: error %v, want one with %q and no secret", tc.args, err, tc.fail)
			}
			continue
		case err != nil:
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if o.ViewAddr != tc.addr || o.View.CommitURL != tc.commit || (o.View.Auth != nil) != tc.auth {
			t.Errorf("%v: address %q, commit URL %q, auth %v; want %q, %q, %v", tc.args, o.ViewAddr, o.View.CommitURL, o.View.Auth != nil, tc.addr, tc.commit, tc.auth)
		}
	}
}

// TestStatusJSON: status -o json prints the status files as one document, the shape of
// the web view's /api/status.
func TestStatusJSON(t *testing.T) {
	repo, err := gitrepo.Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Write(map[string]string{
		"status/clusters/gz-dev.yaml":     "cluster: gz-dev\nrevision: abc\nphase: Synced\nhealth: Healthy\nobjects: 3\n",
		"status/businesses/payments.yaml": "business: payments\nclusters:\n- cluster: gz-dev\n  namespaces:\n  - namespace: pay-dev\n    hard: {requests.cpu: \"4\"}\n    used: {requests.cpu: \"1\"}\n",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("status"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := gitfleet(t, "status", "-o", "json", repo.Dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got status.Document
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	want := status.Document{
		Clusters: []status.Cluster{{Cluster: "gz-dev", Revision: "abc", Phase: status.Synced, Health: "Healthy", Objects: 3}},
		Businesses: []status.Business{{Business: "payments", Clusters: []status.BusinessCluster{{Cluster: "gz-dev", Namespaces: []status.NamespaceQuota{
			{Namespace: "pay-dev", Hard: map[string]string{"requests.cpu": "4"}, Used: map[string]string{"requests.cpu": "1"}}}}}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status -o json (-want +got):\n%s", diff)
	}
}
