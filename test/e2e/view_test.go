package e2e

import (
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/view"
)

var updateViewScreenshot = flag.Bool("update-view-screenshot", false, "write the fleet page's screenshot to testdata/view-matrix.png (the README shows it)")

// browser starts headless Chromium for the test. A machine without it fails the test
// with the reason: the view's browser tests are part of the suite, not optional.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("no Chromium on PATH: the web view's browser tests need it (Debian package chromium; .ci/run installs it with apt-get install -y chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root, where Chromium's sandbox refuses to start.
		chromedp.WindowSize(1280, 800),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("Chromium (%s) did not start: %v", path, err)
	}
	return ctx
}

// artifacts is where the test's screenshots go: $GITFLEET_ARTIFACTS/<test>, else a
// directory that is kept after the test and logged.
func artifacts(t *testing.T) string {
	t.Helper()
	var dir string
	var err error
	if base := os.Getenv("GITFLEET_ARTIFACTS"); base != "" {
		dir = filepath.Join(base, t.Name())
		err = os.MkdirAll(dir, 0o755)
	} else {
		dir, err = os.MkdirTemp("", "gitfleet-"+t.Name()+"-")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) []byte {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	return png
}

// text is the text of the first element matching selector, "" when there is none.
func text(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return s
}

// cellJS reads the matrix cell of an app on a cluster.
func cellJS(cluster, app string) string {
	return `(() => { const row = [...document.querySelectorAll("table.matrix tbody tr")].find(r => r.querySelector("th a").textContent === "` + cluster +
		`"); if (!row) return ""; const c = row.querySelector('td[data-app="` + app + `"]'); return c ? c.textContent.replace(/\s+/g, " ").trim() : ""; })()`
}

// TestViewInBrowser is the web view against the loop on real API servers, in headless
// Chromium: the matrix shows each App's state, a drift made by a real edit appears
// without a reload (server-sent events), a business page shows its quota bars, and
// authentication refuses a wrong token.
func TestViewInBrowser(t *testing.T) {
	ctx := browser(t)
	dir := artifacts(t)

	r := newRemoteFleet(t, "view")
	audit := "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: audit\nspec:\n  drift: alert\n  source:\n    kustomize:\n      path: apps/audit\n  targets:\n    clusters: [alpha]\n  dependsOn: [web]\n"
	r.push(map[string]string{
		"apps/web/app.yaml":                        appYAML("web"),
		"apps/web/kustomization.yaml":              kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":                         namespace("view"),
		"apps/web/cm.yaml":                         configMap("view", "web", "v1"),
		"apps/audit/app.yaml":                      audit,
		"apps/audit/kustomization.yaml":            kustomization("cm.yaml"),
		"apps/audit/cm.yaml":                       configMap("view", "audit", "v1"),
		"businesses/shop.yaml":                     "apiVersion: gitfleet.dev/v1alpha1\nkind: Business\nmetadata:\n  name: shop\nspec:\n  displayName: Web shop\n  quota:\n    alpha: {cpu: \"4\", memory: 8Gi}\n",
		"businesses/shop/namespaces/shop-dev.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Namespace\nmetadata:\n  name: shop-dev\nspec:\n  business: shop\n  cluster: alpha\n  quota: {cpu: \"2\", memory: 4Gi}\n",
	})
	loop := r.driftLoop()
	runLoop(t, loop)
	eventually(t, 30*time.Second, "first apply", func() bool { return configMapValue(t, alpha, "view", "audit") == "v1" })
	eventually(t, 10*time.Second, "the loop's state", func() bool { return len(loop.Snapshot().Clusters) == 2 })
	time.Sleep(time.Second) // the drift watches list and start

	opts := view.DefaultOptions()
	opts.Source, opts.CommitURL = loop, "https://git.example.com/platform/fleet/commit/{rev}"
	h, err := view.NewHandler(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := viewServer(t, h)

	// The matrix: web on both clusters, audit on alpha only.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table.matrix")),
		void(chromedp.Poll[bool](`document.getElementById("live").textContent.startsWith("Live updates: on")`, chromedp.WithPollingTimeout(10*time.Second)))); err != nil {
		t.Fatalf("the fleet page did not load with live updates on: %v", err)
	}
	rev := short(loop.Snapshot().Revision)
	for _, c := range []struct{ cluster, app, want string }{
		{alpha, "web", "Healthy Synced " + rev},
		{beta, "web", "Healthy Synced " + rev},
		{alpha, "audit", "Healthy Synced " + rev},
		{beta, "audit", "–"},
	} {
		if got := text(t, ctx, cellJS(c.cluster, c.app)); got != c.want {
			t.Errorf("matrix cell %s/%s = %q, want %q", c.cluster, c.app, got, c.want)
		}
	}
	png := screenshot(t, ctx, dir, "matrix")
	if *updateViewScreenshot {
		if err := os.WriteFile("testdata/view-matrix.png", png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A drift by a real edit shows up on the open page, which is not reloaded: a mark
	// set on the window survives.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	editConfigMap(t, alpha, "view", "audit", "edited by hand")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(`+cellJS(alpha, "audit")+`).includes("1 drifted")`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the drift did not appear on the open page: %v; cell %q", err, text(t, ctx, cellJS(alpha, "audit")))
	}
	if same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__notReloaded === true`)); err != nil || !same {
		t.Errorf("the page was reloaded to show the drift (err %v)", err)
	}
	screenshot(t, ctx, dir, "matrix-drifted")

	// The drift list says what, who and what gitfleet did.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/drift"), chromedp.WaitVisible(chromedp.CSS("table"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `document.querySelector("main").textContent`); !strings.Contains(got, "ConfigMap/view/audit") || !strings.Contains(got, "kubectl-edit") || !strings.Contains(got, "alert only") {
		t.Errorf("the drift page does not list the edit:\n%s", got)
	}
	screenshot(t, ctx, dir, "drift")

	// A cluster page and the revisions.
	for _, p := range []struct{ path, name, want string }{
		{"/clusters/alpha", "cluster", "1.37.2"},
		{"/revisions", "revisions", "Applied now on: alpha, beta"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+p.path), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, ctx, `document.querySelector("main").textContent`); !strings.Contains(got, p.want) {
			t.Errorf("%s does not say %q:\n%s", p.path, p.want, got)
		}
		screenshot(t, ctx, dir, p.name)
	}

	// The business page: a bar per resource, the cluster's total against the business's
	// quota and the namespace's own.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/businesses/shop"), chromedp.WaitVisible(chromedp.CSS("meter"))); err != nil {
		t.Fatalf("the business page shows no quota bar: %v", err)
	}
	bars := text(t, ctx, `[...document.querySelectorAll("meter")].map(m => m.getAttribute("aria-label")).join("; ")`)
	for _, want := range []string{"cpu: 0 of 4 used", "memory: 0 of 8Gi used", "cpu: 0 of 2 used", "memory: 0 of 4Gi used"} {
		if !strings.Contains(bars, want) {
			t.Errorf("business bars %q lack %q", bars, want)
		}
	}
	screenshot(t, ctx, dir, "business")

	// Authentication: a wrong token is refused, the right one lets the page in.
	auth, err := view.ParseAuth([]byte("bearer right-token\n"), "auth")
	if err != nil {
		t.Fatal(err)
	}
	opts.Auth = auth
	locked, err := view.NewHandler(opts)
	if err != nil {
		t.Fatal(err)
	}
	lockedSrv := viewServer(t, locked)
	for _, tc := range []struct {
		token, want string
	}{
		{"wrong-token", "401 Unauthorized"},
		{"right-token", "2 clusters, 3 apps"},
	} {
		tab, cancel := chromedp.NewContext(ctx)
		_, err := chromedp.Call(tab, network.Enable, network.EnableParams{})
		if err == nil {
			_, err = chromedp.Call(tab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + tc.token}})
		}
		if err == nil {
			err = chromedp.Do(tab, chromedp.Navigate(lockedSrv.URL+"/"))
		}
		var body string
		if err == nil {
			body, err = chromedp.Run(tab, chromedp.Text(chromedp.CSS("body")))
		}
		if err != nil {
			t.Fatalf("token %s: %v", tc.token, err)
		}
		if !strings.Contains(body, tc.want) {
			t.Errorf("with token %s the page says %q, want %q", tc.token, body, tc.want)
		}
		if tc.token == "wrong-token" {
			screenshot(t, tab, dir, "refused")
		}
		cancel()
	}
}

// viewServer serves the view for the test. Its requests end with the test, as serve's do
// at shutdown: the browser's event streams would otherwise hold Close forever.
func viewServer(t *testing.T, h http.Handler) *httptest.Server {
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewUnstartedServer(h)
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.Start()
	t.Cleanup(func() { cancel(); srv.Close() })
	return srv
}

// void drops an action's value, to run it among others.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

func short(rev string) string {
	if len(rev) > 7 {
		return rev[:7]
	}
	return rev
}

// TestViewOnEveryReplica runs two replicas of serve with leader election and the web
// view: both answer, the leader with the fleet, the other saying it is not the leader;
// once the leader stops, the other replica's view fills in.
func TestViewOnEveryReplica(t *testing.T) {
	r := newRemoteFleet(t, "viewha")
	r.push(map[string]string{
		"apps/web/app.yaml":           appYAML("web"),
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":            namespace("viewha"),
		"apps/web/cm.yaml":            configMap("viewha", "web", "v1"),
	})
	replica := func() (string, context.CancelFunc, chan error) {
		_, src := r.loop(300 * time.Millisecond)
		apply := reconciler.DefaultApplyOptions()
		apply.HealthTimeout = 10 * time.Second
		opts := reconciler.DefaultServerOptions()
		opts.Management = env.Cluster(alpha).RESTConfig()
		opts.LeaderElectionNamespace, opts.LeaderElectionID = "kube-system", "gitfleet-view-test"
		opts.MetricsAddr, opts.ProbeAddr, opts.WebhookAddr = "0", "0", "0"
		opts.ViewAddr = freeAddr(t)
		opts.ShutdownTimeout = 5 * time.Second
		opts.Loop = reconciler.LoopOptions{Source: src, Connector: r.conn, Apply: apply, Interval: 300 * time.Millisecond,
			Metrics: reconciler.NewMetrics(prometheus.NewRegistry())}
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- reconciler.Serve(ctx, opts) }()
		return "http://" + opts.ViewAddr + "/", cancel, errc
	}
	page := func(url string) string {
		resp, err := http.Get(url)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	first, stopFirst, firstDone := replica()
	eventually(t, 30*time.Second, "the leader's view to show the fleet", func() bool {
		return strings.Contains(page(first), `<a href="/clusters/alpha">alpha</a>`)
	})
	second, stopSecond, secondDone := replica()
	t.Cleanup(func() { stopSecond(); <-secondDone })
	eventually(t, 10*time.Second, "the other replica's view to answer", func() bool {
		return strings.Contains(page(second), "This replica is not the leader")
	})
	if p := page(first); strings.Contains(p, "not the leader") {
		t.Errorf("the leader's view says it is not the leader")
	}
	stopFirst()
	if err := <-firstDone; err != nil {
		t.Errorf("the first replica stopped with %v", err)
	}
	eventually(t, 30*time.Second, "the new leader's view to show the fleet", func() bool {
		p := page(second)
		return strings.Contains(p, `<a href="/clusters/alpha">alpha</a>`) && !strings.Contains(p, "not the leader")
	})
}

// freeAddr is a loopback address with a port free now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
