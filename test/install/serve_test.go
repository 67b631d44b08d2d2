package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"gitfleet.dev/gitfleet/test/gitrepo"
)

const (
	namespace = "gitfleet-system"
	// fakeDigest pins images that are never pulled: kwok's nodes run no containers.
	fakeDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

// TestServeAsInstalledServiceAccount applies gitfleet install to the management cluster
// (global) with server-side apply, twice (the second apply changes nothing), then runs
// gitfleet serve outside the cluster as the installed ServiceAccount (a token from the
// TokenRequest API) with leader election: it reconciles the whole example fleet, commits
// its status, and nothing it does is forbidden, so the Role is enough. What serve must not
// do is denied with 403: Secrets of another namespace, listing Secrets, another Lease.
func TestServeAsInstalledServiceAccount(t *testing.T) {
	ctx := t.Context()
	admin := clientset(t, env.Cluster("global").RESTConfig())
	bare := exampleRemote(t)

	install := []string{"install", "--image", "registry.example.com/platform/gitfleet@" + fakeDigest,
		"--node-plugin-image", "gitfleet-gpu=registry.example.com/platform/gitfleet-gpu@" + fakeDigest,
		"--repo-url", "file://" + bare, "--branch", "master",
		"--apply", "--management-kubeconfig", env.Kubeconfig, "--management-context", "global"}
	out := runGitfleet(t, install...)
	for _, want := range []string{"applied Namespace gitfleet-system", "applied Role gitfleet-system/gitfleet", "applied Deployment gitfleet-system/gitfleet"} {
		if !strings.Contains(out, want) {
			t.Errorf("install --apply printed\n%s\nwant a line %q", out, want)
		}
	}
	versions := func() map[string]string {
		v := map[string]string{}
		dep, err := admin.AppsV1().Deployments(namespace).Get(ctx, "gitfleet", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Its generation: the controllers update its status (and resourceVersion) meanwhile.
		v["Deployment generation"] = fmt.Sprint(dep.Generation)
		role, err := admin.RbacV1().Roles(namespace).Get(ctx, "gitfleet", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v["Role"] = role.ResourceVersion
		svc, err := admin.CoreV1().Services(namespace).Get(ctx, "gitfleet", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v["Service"] = svc.ResourceVersion
		return v
	}
	first := versions()
	runGitfleet(t, install...)
	if diff := cmp.Diff(first, versions()); diff != "" {
		t.Errorf("a second install --apply changed objects (-first +second):\n%s", diff)
	}
	dep, err := admin.AppsV1().Deployments(namespace).Get(ctx, "gitfleet", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := dep.Spec.Template.Spec.Containers[0].Image; got != "registry.example.com/platform/gitfleet@"+fakeDigest {
		t.Errorf("Deployment image %s, want the pinned reference", got)
	}

	// The Secrets that fleet-example's files refer to, created by the operator.
	for name, data := range map[string]map[string][]byte{"smtp": {"password": []byte("s3cret")}, "oncall-webhook": {"bearer": []byte("Bearer t0ken")}} {
		if _, err := admin.CoreV1().Secrets(namespace).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.CoreV1().Secrets("kube-system").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "not-for-gitfleet"}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	saConfig, saKubeconfig := serviceAccountConfig(t)
	serve := startServe(t, "serve", "--repo-url", "file://"+bare, "--branch", "master",
		"--kubeconfig", env.Kubeconfig, "--management-kubeconfig", saKubeconfig,
		"--leader-election-namespace", namespace, "--cache-dir", t.TempDir(), "--interval", "1m",
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--webhook-bind-address", "0")

	deadline := time.Now().Add(4 * time.Minute)
	var phases map[string]string
	for {
		phases = statusPhases(t, bare)
		if len(phases) == 4 && allSynced(phases) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve as the ServiceAccount did not commit a Synced status for the four clusters in time; status %v\nserve's output:\n%s", phases, serve.output())
		}
		if serve.exited() {
			t.Fatalf("serve exited:\n%s", serve.output())
		}
		time.Sleep(time.Second)
	}
	lease, err := admin.CoordinationV1().Leases(namespace).Get(ctx, "gitfleet-leader", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("serve's leader-election Lease: %v", err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Error("the Lease has no holder: serve did not become the leader")
	}
	if o := serve.output(); strings.Contains(strings.ToLower(o), "forbidden") {
		t.Errorf("serve as the ServiceAccount was refused something:\n%s", o)
	}
	// The install is an App of the example fleet: serve applied it too, as field manager
	// gitfleet, the same owner as the install, so nothing conflicted.
	if dep, err = admin.AppsV1().Deployments(namespace).Get(ctx, "gitfleet", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if dep.Labels["app.kubernetes.io/managed-by"] != "gitfleet" {
		t.Errorf("the gitfleet Deployment's labels %v: serve did not apply the fleet's own install App", dep.Labels)
	}

	// On SIGTERM serve releases its Lease (an update by name): the next leader need not
	// wait for it to expire.
	serve.stop(t)
	if lease, err = admin.CoordinationV1().Leases(namespace).Get(ctx, "gitfleet-leader", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("the Lease is still held by %s after serve stopped: it could not release it", *h)
	}

	// What the Role does not grant is refused.
	sa := clientset(t, saConfig)
	forbidden := map[string]error{}
	_, forbidden["get Secret kube-system/not-for-gitfleet"] = sa.CoreV1().Secrets("kube-system").Get(ctx, "not-for-gitfleet", metav1.GetOptions{})
	_, forbidden["list Secrets in gitfleet-system"] = sa.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{})
	_, forbidden["get Lease gitfleet-system/another"] = sa.CoordinationV1().Leases(namespace).Get(ctx, "another", metav1.GetOptions{})
	_, forbidden["list Namespaces"] = sa.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	for what, err := range forbidden {
		var status apierrors.APIStatus
		if !errors.As(err, &status) || status.Status().Code != 403 {
			t.Errorf("%s as the ServiceAccount: %v, want HTTP 403 Forbidden", what, err)
		}
	}
	// And what it grants works: the Secrets fleet files name, by name.
	if _, err := sa.CoreV1().Secrets(namespace).Get(ctx, "smtp", metav1.GetOptions{}); err != nil {
		t.Errorf("get Secret gitfleet-system/smtp as the ServiceAccount: %v", err)
	}
}

func allSynced(phases map[string]string) bool {
	for _, p := range phases {
		if p != "Synced" {
			return false
		}
	}
	return true
}

// statusPhases reads each cluster's phase from the status gitfleet committed to the bare
// repository's master branch.
func statusPhases(t *testing.T, bare string) map[string]string {
	t.Helper()
	phases := map[string]string{}
	for _, c := range []string{"global", "gz-dev", "bj-prod", "sh-gpu"} {
		out, err := exec.Command("git", "--git-dir", bare, "show", "master:status/clusters/"+c+".yaml").Output()
		if err != nil {
			continue // not committed yet
		}
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "phase: "); ok {
				phases[c] = strings.TrimSpace(v)
			}
		}
	}
	return phases
}

// exampleRemote makes a bare repository holding fleet-example, as a git server would.
func exampleRemote(t *testing.T) string {
	t.Helper()
	repo, err := gitrepo.Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.CopyDir(filepath.Join("..", "..", "fleet-example")); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("Import the example fleet"); err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(t.TempDir(), "fleet.git")
	if out, err := exec.Command("git", "clone", "--quiet", "--bare", repo.Dir, bare).CombinedOutput(); err != nil {
		t.Fatalf("git clone --bare: %v\n%s", err, out)
	}
	return bare
}

// serviceAccountConfig asks the TokenRequest API for a token of the installed
// ServiceAccount and returns a client config and a kubeconfig file that authenticate
// with it (and nothing else: no client certificate).
func serviceAccountConfig(t *testing.T) (*rest.Config, string) {
	t.Helper()
	global := env.Cluster("global")
	admin := clientset(t, global.RESTConfig())
	expiry := int64(3600)
	tr, err := admin.CoreV1().ServiceAccounts(namespace).CreateToken(t.Context(), "gitfleet",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for gitfleet-system/gitfleet: %v", err)
	}
	base := global.RESTConfig()
	ca := base.TLSClientConfig.CAData
	if len(ca) == 0 && base.TLSClientConfig.CAFile != "" {
		if ca, err = os.ReadFile(base.TLSClientConfig.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &rest.Config{Host: base.Host, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["global"] = &clientcmdapi.Cluster{Server: base.Host, CertificateAuthorityData: ca}
	kc.AuthInfos["gitfleet"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["global"] = &clientcmdapi.Context{Cluster: "global", AuthInfo: "gitfleet"}
	kc.CurrentContext = "global"
	path := filepath.Join(t.TempDir(), "gitfleet-sa.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return cfg, path
}

func clientset(t *testing.T, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// runGitfleet runs the test's gitfleet binary to the end and returns its output.
func runGitfleet(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gitfleetBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("gitfleet %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// serveProcess is a running gitfleet serve.
type serveProcess struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (p *serveProcess) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *serveProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *serveProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for serve to exit.
func (p *serveProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop within 30s of SIGTERM:\n%s", p.output())
	}
}

func startServe(t *testing.T, args ...string) *serveProcess {
	t.Helper()
	p := &serveProcess{done: make(chan struct{})}
	p.cmd = exec.Command(gitfleetBin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(20 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("serve's output:\n%s", p.output())
		}
	})
	return p
}
