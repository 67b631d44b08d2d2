package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/render/install"
)

// installFlags are what both install and bootstrap need to build the install objects.
type installFlags struct {
	opts       install.Options
	imagesFile string
	plugins    nodePluginImages
	noWebhooks bool
}

func (i *installFlags) add(f *pflag.FlagSet) {
	i.opts = install.DefaultOptions()
	i.opts.LeaderElectionID = reconciler.DefaultServerOptions().LeaderElectionID
	i.plugins = nodePluginImages{}
	f.StringVar(&i.opts.Image, "image", "", "gitfleet's image, pinned by digest (REPOSITORY@sha256:DIGEST); default: the gitfleet line of --images")
	f.StringVar(&i.imagesFile, "images", "", "file of NAME=REF lines that make image-push writes (bin/image/images.txt): gitfleet's image and its node plugins', pinned by digest")
	f.Var(i.plugins, "node-plugin-image", "NAME=REF: the node plugin image the GPU or network addon's DaemonSet runs, pinned by digest; repeat for each (default: the lines of --images)")
	f.StringVar(&i.opts.Namespace, "namespace", i.opts.Namespace, "namespace gitfleet runs in: its Lease, Events and the Secrets fleet files refer to")
	f.StringVar(&i.opts.RepoURL, "repo-url", "", "fleet repository the installed gitfleet follows (https://, ssh://, git@host:path, git://)")
	f.StringVar(&i.opts.Branch, "branch", i.opts.Branch, "branch it follows")
	f.Int32Var(&i.opts.Replicas, "replicas", i.opts.Replicas, "replicas; they elect one leader, the others stand by")
	f.BoolVar(&i.noWebhooks, "no-webhooks", false, "no push webhooks (no Secret gitfleet-webhook needed): the repository is only polled")
	f.BoolVar(&i.opts.Machines, "machines", false, "check Baremetal clusters' machines over SSH, against the host keys of the ConfigMap gitfleet-machines-known-hosts (key known_hosts)")
}

// options are the install options once --images is read; flags given on their own win.
func (i installFlags) options() (install.Options, error) {
	o := i.opts
	o.Version = version
	o.Webhooks = !i.noWebhooks
	o.NodePluginImages = map[string]string{}
	if i.imagesFile != "" {
		refs, err := readImagesFile(i.imagesFile)
		if err != nil {
			return o, err
		}
		for name, ref := range refs {
			switch {
			case name == install.Name:
				if o.Image == "" {
					o.Image = ref
				}
			default:
				o.NodePluginImages[name] = ref
			}
		}
	}
	for name, ref := range i.plugins {
		o.NodePluginImages[name] = ref
	}
	if o.Image == "" {
		return o, fmt.Errorf("--image or --images is required: gitfleet's image, pinned by digest (make image-push IMAGE_REPO=... prints it and writes bin/image/images.txt)")
	}
	return o, nil
}

// readImagesFile reads NAME=REF lines; # starts a comment. A line that is not NAME=REF,
// or names an image twice, is an error with its line number.
func readImagesFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading --images: %w", err)
	}
	defer f.Close()
	refs := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, ref, ok := strings.Cut(line, "=")
		if !ok || name == "" || ref == "" {
			return nil, fmt.Errorf("%s:%d: want NAME=REF, got %q", path, n, line)
		}
		if _, dup := refs[name]; dup {
			return nil, fmt.Errorf("%s:%d: image %s given twice", path, n, name)
		}
		if name != install.Name && !slices.Contains(install.NodePlugins, name) {
			return nil, fmt.Errorf("%s:%d: unknown image %q; want %s or one of %s", path, n, name, install.Name, strings.Join(install.NodePlugins, ", "))
		}
		refs[name] = ref
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading --images %s: %w", path, err)
	}
	return refs, nil
}

type installOptions struct {
	flags      installFlags
	apply      bool
	management managementFlags
}

func newInstallCommand() *cobra.Command {
	var o installOptions
	cmd := &cobra.Command{
		Use:   "install --image REF|--images FILE --repo-url URL [--apply]",
		Short: "Print (or apply) the objects that run gitfleet in the management cluster",
		Long: `Print the objects that run gitfleet serve in the management cluster, as YAML for
kubectl apply or a fleet repository, or apply them with --apply (server-side apply, field
manager gitfleet, to --management-kubeconfig):

  Namespace       gitfleet-system (--namespace): gitfleet's Lease, Events and the
                  Secrets fleet files refer to
  ServiceAccount  gitfleet, what serve runs as
  Role            only what serve does in its namespace: create its Lease and get and
                  update it by name, create Events, get Secrets by name
  RoleBinding     the Role to the ServiceAccount
  Service         gitfleet: port 8080 metrics, port 80 the push webhooks (to the leader)
  Deployment      gitfleet: two replicas that elect a leader, liveness and readiness
                  probes, resource requests, non-root, read-only root file system

The image is pinned by digest (--image, or the file make image-push writes, --images), and
so are the node-plugin images the GPU and network addons' DaemonSets run: serve is given
them as --node-plugin-image.

The Deployment expects Secrets you create in the namespace (install never sees a value):
gitfleet-clusters (key kubeconfig: one context per member cluster), gitfleet-git (SSH:
identity and known_hosts; HTTPS: token), gitfleet-webhook (key secret, unless
--no-webhooks).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runInstall(cmd.Context(), o, cmd.OutOrStdout()) },
	}
	f := cmd.Flags()
	o.flags.add(f)
	f.BoolVar(&o.flags.opts.AsApp, "as-app", false, "print the install as an App of the fleet repository (as gitfleet bootstrap commits it): without the Namespace, which the reconciler keeps itself")
	f.BoolVar(&o.apply, "apply", false, "apply the objects to the management cluster instead of printing them")
	o.management.add(f, "in-cluster")
	return cmd
}

func runInstall(ctx context.Context, o installOptions, out io.Writer) error {
	opts, err := o.flags.options()
	if err != nil {
		return err
	}
	objs, err := install.Objects(opts)
	if err != nil {
		return err
	}
	if !o.apply {
		data, err := install.YAML(objs)
		if err != nil {
			return err
		}
		_, err = out.Write(data)
		return err
	}
	cfg, err := o.management.config()
	if err != nil {
		return err
	}
	return applyInstall(ctx, cfg, objs, out)
}

// applyInstall applies the install objects in their order with server-side apply, as
// field manager gitfleet: the same owner as the installed gitfleet's own applies, so that
// once the install is an App of the fleet repository, serve takes the objects over
// without conflicts.
func applyInstall(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured, out io.Writer) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return fmt.Errorf("connecting to the management cluster: %w", err)
	}
	for _, u := range objs {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), client.FieldOwner(reconciler.FieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", u.GetKind(), objectName(u), err)
		}
		fmt.Fprintf(out, "applied %s %s\n", u.GetKind(), objectName(u))
	}
	return nil
}

func objectName(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetName()
	}
	return u.GetNamespace() + "/" + u.GetName()
}
