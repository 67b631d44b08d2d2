package install

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Options say what the install objects are. Everything the Deployment's serve needs that is
// a secret value (git credentials, the member clusters' kubeconfig, the webhook secret) is a
// Secret the operator creates; the objects only name them.
type Options struct {
	// Namespace gitfleet runs in: it holds the leader-election Lease, its Events and the
	// Secrets fleet files refer to. The default is schema.DefaultSecretsNamespace, where
	// the other commands look for those Secrets too.
	Namespace string
	// Image is gitfleet's image, pinned by digest (REPO@sha256:HEX), as make image-push
	// prints it: a tag can move, a digest cannot.
	Image string
	// NodePluginImages are the references, pinned by digest, of gitfleet's node-plugin
	// images by name (gitfleet-gpu, gitfleet-cni). serve gets them as --node-plugin-image,
	// so that the GPU and network addons' DaemonSets run the images built with this
	// gitfleet. Empty leaves the addons on their tag of the binary's version.
	NodePluginImages map[string]string
	// Version labels the objects (app.kubernetes.io/version): which build they install.
	Version string
	// RepoURL and Branch are the fleet repository serve follows.
	RepoURL, Branch string
	// Replicas elect one leader; two means a crashed or drained leader is replaced within
	// the lease duration instead of after a new pod is scheduled and pulled.
	Replicas int32
	// LeaderElectionID is the Lease's name (serve's default); the Role grants get and
	// update on that Lease only.
	LeaderElectionID string
	// Webhooks enables the push webhooks, verified with the secret in the Secret
	// gitfleet-webhook (key secret); without them serve only polls.
	Webhooks bool
	// Machines enables the SSH checks of Baremetal clusters' machines: their host keys come
	// from the ConfigMap gitfleet-machines-known-hosts (key known_hosts), their login keys
	// are Secrets in Namespace that the Cluster files name.
	Machines bool
	// AsApp leaves the Namespace out, for the install as an App of the fleet repository
	// (gitfleet bootstrap). The reconciler keeps gitfleet-system in every member cluster
	// itself (the inventories live there) with its own labels, so an App that also owned
	// it would rewrite it at every apply, and removing that App would prune gitfleet's
	// namespace with its Secrets and every inventory. The one-time apply of bootstrap
	// creates the Namespace.
	AsApp bool
}

// DefaultOptions returns the install of a management cluster; Image and RepoURL have no
// default.
func DefaultOptions() Options {
	return Options{
		Namespace:        "gitfleet-system",
		Branch:           "main",
		Replicas:         2,
		LeaderElectionID: "gitfleet-leader",
		Webhooks:         true,
	}
}

// OptionError is an install option that cannot be used; Field is the option's name as
// the command line spells it (--image), so that the user knows what to change.
type OptionError struct {
	Field, Value, Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

// pinned is a reference by digest: a repository, optionally a tag, then @sha256: and 64
// hex digits.
var pinned = regexp.MustCompile(`^[a-z0-9]+([._/:-][a-z0-9]+)*(:[\w][\w.-]{0,127})?@sha256:[a-f0-9]{64}$`)

// Pinned says whether ref names an image by digest.
func Pinned(ref string) bool { return pinned.MatchString(ref) }

// dnsLabel is what a namespace name must be.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// NodePlugins are the names of gitfleet's own node-plugin images, as the addons call them.
var NodePlugins = []string{"gitfleet-gpu", "gitfleet-cni"}

// Validate says which option cannot be used, as an *OptionError.
func (o Options) Validate() error {
	if !dnsLabel.MatchString(o.Namespace) {
		return &OptionError{Field: "--namespace", Value: o.Namespace, Reason: "not a namespace name (lower-case letters, digits and '-', at most 63)"}
	}
	if !pinned.MatchString(o.Image) {
		return &OptionError{Field: "--image", Value: o.Image, Reason: "want a reference pinned by digest, REPOSITORY@sha256:DIGEST (make image-push prints it)"}
	}
	names := make([]string, 0, len(o.NodePluginImages))
	for name := range o.NodePluginImages {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ref := o.NodePluginImages[name]
		if !isNodePlugin(name) {
			return &OptionError{Field: "--node-plugin-image", Value: name + "=" + ref, Reason: "unknown node plugin; want one of " + strings.Join(NodePlugins, ", ")}
		}
		if !pinned.MatchString(ref) {
			return &OptionError{Field: "--node-plugin-image", Value: name + "=" + ref, Reason: "want a reference pinned by digest, REPOSITORY@sha256:DIGEST"}
		}
	}
	if o.RepoURL == "" {
		return &OptionError{Field: "--repo-url", Value: "", Reason: "the fleet repository serve follows is required"}
	}
	if u, err := url.Parse(o.RepoURL); err == nil && u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			return &OptionError{Field: "--repo-url", Value: u.Redacted(), Reason: "a password in the URL would be written into the Deployment; put the token in the Secret gitfleet-git (key token) instead"}
		}
	}
	if o.Branch == "" {
		return &OptionError{Field: "--branch", Value: "", Reason: "empty"}
	}
	if o.Replicas < 1 {
		return &OptionError{Field: "--replicas", Value: fmt.Sprint(o.Replicas), Reason: "at least 1 (2 or more for a stand-by leader)"}
	}
	if o.LeaderElectionID == "" {
		return &OptionError{Field: "leader election ID", Value: "", Reason: "empty"}
	}
	return nil
}

func isNodePlugin(name string) bool {
	for _, n := range NodePlugins {
		if n == name {
			return true
		}
	}
	return false
}
