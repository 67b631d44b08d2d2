package plan

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/plan"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/gitrepo"
	"gitfleet.dev/gitfleet/test/sopstest"
)

const liveNS = "plan-live"

func liveFiles(settings string, affinity bool, old bool) map[string]string {
	service := "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: plan-live\nspec:\n  selector: {app: web}\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n"
	if affinity {
		// The value the API server gives the field when it is not set.
		service += "  sessionAffinity: None\n"
	}
	resources := "- namespace.yaml\n- web.yaml\n- settings.yaml\n- service.yaml\n- token.yaml\n"
	oldCM := ""
	if old {
		resources += "- old.yaml\n"
		oldCM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n  namespace: plan-live\ndata:\n  x: \"1\"\n"
	}
	return map[string]string{
		"fleet.yaml":                  "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: plan-live\nspec:\n  healthTimeout: 20s\n",
		"clusters/alpha.yaml":         "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: alpha\n  labels: {env: test}\nspec:\n  version: \"1.37.2\"\n",
		"apps/web/app.yaml":           "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  source:\n    kustomize:\n      path: apps/web\n  targets:\n    clusters: [alpha]\n",
		"apps/web/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n" + resources,
		"apps/web/namespace.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: plan-live\n",
		"apps/web/web.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: plan-live\ndata:\n  color: blue\n",
		"apps/web/settings.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: plan-live\ndata:\n  level: " + settings + "\n",
		"apps/web/service.yaml":       service,
		"apps/web/token.yaml":         "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: plan-live\nstringData:\n  token: from-git\n",
		"apps/web/old.yaml":           oldCM,
	}
}

// TestLiveShowsDriftAndDefaults applies a revision to a real cluster, changes two objects
// there out of band, and plans a change that sets a field to the value the API server
// defaults it to, changes another object and removes a third. The render-to-render plan
// shows the defaulted field as a change and knows nothing of the out-of-band edits; the
// --live plan shows the edits (marked as drift, the Secret's values masked), not the
// defaulted field, the real change unmarked, and the prune from the cluster's inventory.
// Nothing is written to the cluster by the plan.
func TestLiveShowsDriftAndDefaults(t *testing.T) {
	ctx := t.Context()
	repo, err := gitrepo.Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	commit := func(files map[string]string) {
		t.Helper()
		sopstest.SealSecrets(t, sealKey, files)
		if err := repo.Write(files); err != nil {
			t.Fatal(err)
		}
		if _, err := repo.Commit(t.Name()); err != nil {
			t.Fatal(err)
		}
	}
	commit(liveFiles("info", false, true))
	conn, err := reconciler.NewKubeconfigConnector(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	applyHead(t, repo.Dir, conn)

	// Out of band: kubectl edit of a ConfigMap and of a Secret.
	c, err := client.New(env.Cluster("alpha").RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: liveNS, Name: "web"}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["color"] = "red"
	if err := c.Update(ctx, &cm, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: liveNS, Name: "token"}, &secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["token"] = []byte("changed-by-hand")
	if err := c.Update(ctx, &secret, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}

	commit(liveFiles("debug", true, false))

	rendered := planCommits(t, repo.Dir, "HEAD~1", "HEAD")
	counting := &writeCounter{inner: conn}
	opts := plan.DefaultOptions()
	opts.Live = counting
	live := planWith(t, repo.Dir, "HEAD~1", "HEAD", opts)

	settings := plan.ObjectChange{App: "web", APIVersion: "v1", Kind: "ConfigMap", Namespace: liveNS, Name: "settings",
		Fields: []plan.FieldChange{{Path: "data.level", Old: `"info"`, New: `"debug"`}}}
	old := []plan.ObjectChange{{App: "web", APIVersion: "v1", Kind: "ConfigMap", Namespace: liveNS, Name: "old"}}

	wantRendered := []plan.ObjectChange{
		settings,
		{App: "web", APIVersion: "v1", Kind: "Service", Namespace: liveNS, Name: "web",
			Fields: []plan.FieldChange{{Path: "spec.sessionAffinity", New: `"None"`}}},
	}
	if diff := cmp.Diff(wantRendered, rendered.Clusters[0].Change); diff != "" {
		t.Errorf("render-to-render changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(old, rendered.Clusters[0].Prune); diff != "" {
		t.Errorf("render-to-render prunes (-want +got):\n%s", diff)
	}

	wantLive := []plan.ObjectChange{
		settings,
		{App: "web", APIVersion: "v1", Kind: "ConfigMap", Namespace: liveNS, Name: "web",
			Fields: []plan.FieldChange{{Path: "data.color", Old: `"red"`, New: `"blue"`, Drift: true}}},
		{App: "web", APIVersion: "v1", Kind: "Secret", Namespace: liveNS, Name: "token",
			Fields: []plan.FieldChange{{Path: "data.token", Old: `"***"`, New: `"***"`, Drift: true}}},
	}
	if diff := cmp.Diff(wantLive, live.Clusters[0].Change); diff != "" {
		t.Errorf("--live changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(old, live.Clusters[0].Prune); diff != "" {
		t.Errorf("--live prunes (-want +got):\n%s", diff)
	}
	if !live.Live || len(live.Incomplete) != 0 || live.ExitCode() != 0 {
		t.Errorf("--live report: live %v, incomplete %v, exit %d", live.Live, live.Incomplete, live.ExitCode())
	}
	if w := counting.list(); len(w) != 0 {
		t.Errorf("the --live plan wrote to the cluster: %v", w)
	}

	var out bytes.Buffer
	if err := plan.WriteJSON(&out, live); err != nil {
		t.Fatal(err)
	}
	if err := plan.WriteText(&out, live, plan.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"changed-by-hand", "from-git", base64.StdEncoding.EncodeToString([]byte("changed-by-hand")), base64.StdEncoding.EncodeToString([]byte("from-git"))} {
		if strings.Contains(out.String(), s) {
			t.Errorf("the --live report shows the secret value %q", s)
		}
	}
	if !strings.Contains(out.String(), "data.color: \"red\" -> \"blue\"   [drift: the cluster differs from the base revision here already]") {
		t.Errorf("the text report does not mark the drift:\n%s", out.String())
	}
}

// applyHead applies HEAD of the repository as `gitfleet apply` does.
func applyHead(t *testing.T, dir string, conn reconciler.Connector) {
	t.Helper()
	ctx := t.Context()
	snap, err := reconciler.OpenSnapshot(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := schema.Load(ctx, snap.FS)
	if err != nil {
		t.Fatal(err)
	}
	r, err := render.NewWithOptions(ctx, snap.FS, repo, render.Options{Decrypt: decryptor})
	if err != nil {
		t.Fatal(err)
	}
	results, err := reconciler.Apply(ctx, repo, r, conn, reconciler.DefaultApplyOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		if res.Err != nil {
			t.Fatalf("apply to %s: %v", res.Cluster, res.Err)
		}
		for _, a := range res.Apps {
			if a.Err != nil {
				t.Fatalf("apply of %s to %s: %v", a.App, res.Cluster, a.Err)
			}
		}
	}
}

func planWith(t *testing.T, dir, base, head string, opts plan.Options) *plan.Report {
	t.Helper()
	side := func(rev string) plan.Side {
		snap, err := reconciler.OpenSnapshot(t.Context(), dir, rev)
		if err != nil {
			t.Fatal(err)
		}
		return plan.Side{Ref: rev, Commit: snap.Revision, FS: snap.FS}
	}
	if opts.Render.Decrypt == nil {
		opts.Render.Decrypt = decryptor
	}
	report, err := plan.Plan(t.Context(), side(base), side(head), opts)
	if err != nil {
		t.Fatal(err)
	}
	return report
}

// writeCounter records every request that could change a cluster: anything but reads and
// dry runs.
type writeCounter struct {
	inner  reconciler.Connector
	mu     sync.Mutex
	writes []string
}

func (w *writeCounter) RESTConfig(c *schema.Cluster) (*rest.Config, error) {
	cfg, err := w.inner.RESTConfig(c)
	if err != nil {
		return nil, err
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			if req.Method != http.MethodGet && req.Method != http.MethodHead && req.URL.Query().Get("dryRun") != "All" {
				w.mu.Lock()
				w.writes = append(w.writes, fmt.Sprintf("%s %s", req.Method, req.URL.Path))
				w.mu.Unlock()
			}
			return rt.RoundTrip(req)
		})
	})
	return cfg, nil
}

func (w *writeCounter) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
