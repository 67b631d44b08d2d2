package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"gitfleet.dev/gitfleet/reconciler/gitsource"
	"gitfleet.dev/gitfleet/render/install"
)

type bootstrapOptions struct {
	install    installFlags
	management managementFlags
	// git holds only serve's git credential flags (gitAuth reads them).
	git      serveOptions
	appPath  string
	cluster  string
	fleet    string
	cacheDir string
	// clusterVersion is the management cluster's version for a new cluster file; empty
	// asks its API server.
	clusterVersion string
}

func newBootstrapCommand() *cobra.Command {
	var o bootstrapOptions
	cmd := &cobra.Command{
		Use:   "bootstrap --images FILE --repo-url URL [--cluster NAME]",
		Short: "Install gitfleet into the management cluster and make it manage itself from the fleet repository",
		Long: `Write gitfleet's own install (the objects gitfleet install prints) into the fleet
repository as an App targeting the management cluster, apply it once to the management
cluster (--management-kubeconfig), and commit and push it (never forced; on a concurrent
push the commit is made again on top). From then on the installed gitfleet applies the
App like any other: an upgrade is a commit that changes apps/gitfleet/install.yaml
(gitfleet bootstrap again with new images, or make example-install).

An empty repository (or one without fleet.yaml) gets a skeleton first: fleet.yaml and
clusters/NAME.yaml for the management cluster (--cluster), at the version its API server
reports. An existing apps/gitfleet/app.yaml and cluster file are kept as they are.

Before the Deployment can start, create in the namespace (default gitfleet-system): the
Secret gitfleet-clusters (key kubeconfig, with a context per member cluster, the
management cluster included under its --cluster name), gitfleet-git (the repository's
credentials: identity and known_hosts for SSH, token for HTTPS) and gitfleet-webhook (key
secret) unless --no-webhooks. Git credentials for bootstrap's own push come from the same
flags serve takes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBootstrap(cmd.Context(), o, cmd.OutOrStdout()) },
	}
	f := cmd.Flags()
	o.install.add(f)
	o.management.add(f, "in-cluster")
	f.StringVar(&o.appPath, "path", "apps/gitfleet", "directory of the repository that holds gitfleet's own App")
	f.StringVar(&o.cluster, "cluster", "global", "the management cluster's name in the fleet: the App targets it")
	f.StringVar(&o.fleet, "fleet-name", "fleet", "the Fleet's name, for a repository that has no fleet.yaml yet")
	f.StringVar(&o.clusterVersion, "cluster-version", "", "Kubernetes version of the management cluster for a new clusters/NAME.yaml, such as 1.37.2 (default: what its API server reports)")
	f.StringVar(&o.cacheDir, "cache-dir", "", "where the repository is cloned (default: a temporary directory, removed after)")
	f.StringVar(&o.git.gitTokenEnv, "git-token-env", "", "environment variable holding the HTTPS token")
	f.StringVar(&o.git.gitUsername, "git-username", "", "HTTPS username (default git) or SSH login")
	f.StringVar(&o.git.gitSSHKey, "git-ssh-key", "", "file with the SSH private key")
	f.StringVar(&o.git.gitSSHPassphraseEnv, "git-ssh-passphrase-env", "", "environment variable holding the SSH key's passphrase")
	f.StringVar(&o.git.gitKnownHosts, "git-known-hosts", "", "known_hosts file the SSH host key is checked against")
	return cmd
}

func runBootstrap(ctx context.Context, o bootstrapOptions, out io.Writer) error {
	if !dnsLabel(o.cluster) {
		return fmt.Errorf("--cluster %q: not a cluster name (lower-case letters, digits and '-')", o.cluster)
	}
	if p := path.Clean(o.appPath); p != o.appPath || path.IsAbs(p) || strings.HasPrefix(p, "..") || p == "." || strings.HasPrefix(p, "status") {
		return fmt.Errorf("--path %q: want a clean directory of the repository, outside status/", o.appPath)
	}
	opts, err := o.install.options()
	if err != nil {
		return err
	}
	// Applied once with its Namespace; committed without it (install.Options.AsApp).
	objs, err := install.Objects(opts)
	if err != nil {
		return err
	}
	opts.AsApp = true
	appObjs, err := install.Objects(opts)
	if err != nil {
		return err
	}
	manifests, err := install.YAML(appObjs)
	if err != nil {
		return err
	}
	cfg, err := o.management.config()
	if err != nil {
		return err
	}
	src, cleanup, err := o.source(opts.RepoURL, opts.Branch)
	if err != nil {
		return err
	}
	defer cleanup()

	existing, err := repoFiles(ctx, src)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		path.Join(o.appPath, "install.yaml"):       append([]byte(installHeader), manifests...),
		path.Join(o.appPath, "kustomization.yaml"): []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - install.yaml\n"),
	}
	keep := func(p string, content func() ([]byte, error)) error {
		if existing != nil {
			if _, err := fs.Stat(existing, p); err == nil {
				return nil
			}
		}
		data, err := content()
		if err != nil {
			return err
		}
		files[p] = data
		return nil
	}
	if err := keep(path.Join(o.appPath, "app.yaml"), func() ([]byte, error) { return []byte(appYAML(o.appPath, o.cluster)), nil }); err != nil {
		return err
	}
	if err := keep("fleet.yaml", func() ([]byte, error) { return []byte(fleetYAML(o.fleet)), nil }); err != nil {
		return err
	}
	if err := keep(path.Join("clusters", o.cluster+".yaml"), func() ([]byte, error) {
		v := o.clusterVersion
		if v == "" {
			if v, err = serverVersion(cfg); err != nil {
				return nil, err
			}
		}
		return []byte(clusterYAML(o.cluster, v)), nil
	}); err != nil {
		return err
	}

	fmt.Fprintf(out, "applying gitfleet %s to the management cluster (%s)\n", version, cfg.Host)
	if err := applyInstall(ctx, cfg, objs, out); err != nil {
		return err
	}
	commit, changed, err := src.CommitFiles(ctx, files, fmt.Sprintf("gitfleet bootstrap: install gitfleet %s into cluster %s\n\nImage: %s\n", version, o.cluster, opts.Image), gitsource.DefaultCommitOptions())
	if err != nil {
		return fmt.Errorf("committing gitfleet's install to %s: %w", redactedURL(opts.RepoURL), err)
	}
	if changed {
		fmt.Fprintf(out, "committed %s to %s branch %s: gitfleet now manages itself from %s\n", short(commit), redactedURL(opts.RepoURL), opts.Branch, o.appPath)
	} else {
		fmt.Fprintf(out, "the repository already holds this install (%s); nothing committed\n", short(commit))
	}
	fmt.Fprintf(out, "the Deployment starts once these Secrets exist in namespace %s: %s (key kubeconfig, a context named %s for this cluster)%s%s\n",
		opts.Namespace, install.ClustersSecret, o.cluster, gitSecretHint(opts.RepoURL), webhookHint(opts.Webhooks))
	return nil
}

// installHeader says, in the file people will edit, where it came from.
const installHeader = "# gitfleet's own install, written by gitfleet bootstrap (gitfleet install prints the same).\n# An upgrade is a commit that changes the image digests here.\n"

func (o bootstrapOptions) source(url, branch string) (*gitsource.Source, func(), error) {
	auth, err := gitAuth(o.git)
	if err != nil {
		return nil, nil, err
	}
	dir, cleanup := o.cacheDir, func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "gitfleet-bootstrap-")
		if err != nil {
			return nil, nil, err
		}
		dir, cleanup = tmp, func() { os.RemoveAll(tmp) }
	}
	so := gitsource.DefaultOptions()
	so.URL, so.Branch, so.CacheDir, so.Auth, so.Log = url, branch, dir, auth, logr.Discard()
	src, err := gitsource.New(so)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return src, cleanup, nil
}

// repoFiles returns the branch's files, or nil for a branch that does not exist yet.
func repoFiles(ctx context.Context, src *gitsource.Source) (fs.FS, error) {
	head, err := src.Fetch(ctx)
	if errors.Is(err, gitsource.ErrBranchNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return src.Snapshot(ctx, head)
}

// serverVersion is the management cluster's Kubernetes version as a Cluster file spells
// it (1.37.2): the version a new cluster file declares.
func serverVersion(cfg *rest.Config) (string, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", fmt.Errorf("connecting to the management cluster: %w", err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("reading the management cluster's version: %w", err)
	}
	// v1.37.2-gke.1 -> 1.37.2: the release, not the vendor's build.
	release, _, _ := strings.Cut(strings.TrimPrefix(v.GitVersion, "v"), "-")
	release, _, _ = strings.Cut(release, "+")
	if release == "" || release == "0.0.0" {
		// An API server built without version stamping (from source) reports v0.0.0.
		return "", fmt.Errorf("the management cluster's API server reports no release (%q); pass --cluster-version", v.GitVersion)
	}
	return release, nil
}

func appYAML(dir, cluster string) string {
	return fmt.Sprintf(`# gitfleet manages itself: the reconciler runs as a Deployment in the management cluster,
# and a change to these files (a new image digest) rolls it out like any other App.
apiVersion: gitfleet.dev/v1alpha1
kind: App
metadata:
  name: gitfleet
spec:
  source:
    kustomize:
      path: %s
  targets:
    clusters: [%s]
`, dir, cluster)
}

func fleetYAML(name string) string {
	return fmt.Sprintf(`# Repository-wide settings (gitfleet bootstrap started them; see the README's fleet repo format).
apiVersion: gitfleet.dev/v1alpha1
kind: Fleet
metadata:
  name: %s
spec:
  interval: 5m
  prune: true
  drift: correct
`, name)
}

func clusterYAML(name, version string) string {
	return fmt.Sprintf(`# The management cluster: gitfleet runs here, and applies its own install here.
apiVersion: gitfleet.dev/v1alpha1
kind: Cluster
metadata:
  name: %s
spec:
  type: Imported
  version: %q
`, name, version)
}

var clusterName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

func dnsLabel(s string) bool { return clusterName.MatchString(s) }

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// redactedURL never repeats a password that a URL carries.
func redactedURL(u string) string {
	if parsed, err := url.Parse(u); err == nil {
		return parsed.Redacted()
	}
	return u
}

func gitSecretHint(repoURL string) string {
	switch {
	case strings.HasPrefix(repoURL, "https://"):
		return ", " + install.GitSecret + " (key token)"
	case strings.HasPrefix(repoURL, "ssh://") || !strings.Contains(repoURL, "://"):
		return ", " + install.GitSecret + " (keys identity and known_hosts)"
	}
	return ""
}

func webhookHint(webhooks bool) string {
	if !webhooks {
		return ""
	}
	return ", " + install.WebhookSecret + " (key secret)"
}
