package main

import (
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/view"
)

// defaultViewAddress keeps the view on loopback unless the operator says otherwise: it
// shows the whole fleet, and `kubectl port-forward` reaches a pod's loopback.
const defaultViewAddress = "127.0.0.1:9393"

// viewFlags are serve's flags of the web view.
type viewFlags struct {
	enabled                      bool
	address, authFile, commitURL string
	// addressSet: --view-address alone turns the view on.
	addressSet func() bool
}

func (v *viewFlags) add(f *pflag.FlagSet) {
	f.BoolVar(&v.enabled, "view", false, "serve the read-only web view of the fleet (on "+defaultViewAddress+" unless --view-address says otherwise)")
	f.StringVar(&v.address, "view-address", defaultViewAddress, "address of the web view; setting it turns the view on (\"0\" turns it off); use :9393 to listen on every interface, best with --view-auth-file")
	f.StringVar(&v.authFile, "view-auth-file", "", "file of the credentials the web view accepts, one a line: \"bearer TOKEN\" or \"basic USER:PASSWORD\" (# comments); without it the view needs none")
	f.StringVar(&v.commitURL, "view-commit-url", "", "link revisions to their commit pages: a URL with {rev} for the commit id (default: derived from an https --repo-url as HOST/OWNER/REPO/commit/{rev}, else unlinked)")
	v.addressSet = func() bool { return f.Changed("view-address") }
}

// set puts the view's options into the server's.
func (v *viewFlags) set(o *reconciler.ServerOptions, repoURL string, log logr.Logger) error {
	if !v.enabled && !v.addressSet() || v.address == "0" {
		return nil
	}
	o.ViewAddr = v.address
	o.View.Log = log.WithName("view")
	o.View.CommitURL = v.commitURL
	if o.View.CommitURL == "" {
		o.View.CommitURL = view.CommitURLOf(repoURL)
	}
	if o.View.CommitURL != "" && !strings.Contains(o.View.CommitURL, "{rev}") {
		return fmt.Errorf("--view-commit-url %q needs {rev} where the commit id goes", o.View.CommitURL)
	}
	if v.authFile != "" {
		auth, err := view.LoadAuth(v.authFile)
		if err != nil {
			return fmt.Errorf("--view-auth-file: %w", err)
		}
		o.View.Auth = auth
	}
	return nil
}
