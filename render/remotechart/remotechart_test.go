package remotechart_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gitfleet.dev/gitfleet/render/remotechart"
	"gitfleet.dev/gitfleet/render/yamlbound"
	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/chartserver"
	"gitfleet.dev/gitfleet/test/hostile"
)

func pkg(t *testing.T, name, version string) []byte {
	t.Helper()
	data, err := chartserver.Package(chartserver.Chart{Name: name, Version: version, Files: map[string]string{
		"values.yaml":         "greeting: hello\n",
		"templates/conf.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting }}\n",
	}})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// client is a Client whose cache is dir and whose secrets come from the environment;
// ca is written as the App's caFile.
func client(t *testing.T, dir string, mutate func(*remotechart.Options)) *remotechart.Client {
	t.Helper()
	cache, err := remotechart.OpenCache(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	opts := remotechart.DefaultOptions()
	opts.Cache, opts.Secrets, opts.Timeout = cache, chartserver.EnvSecrets{}, 10*time.Second
	if mutate != nil {
		mutate(&opts)
	}
	c, err := remotechart.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// basicAuth is an App's auth: the CA, a username and a password from the environment.
func basicAuth(t *testing.T, ca []byte, user, password string) *schema.ChartAuth {
	t.Setenv("GITFLEET_SECRET_CA", string(ca))
	t.Setenv("GITFLEET_SECRET_USER", user)
	t.Setenv("GITFLEET_SECRET_PASSWORD", password)
	return &schema.ChartAuth{
		CAFile:   &schema.SecretRef{Env: "GITFLEET_SECRET_CA"},
		Username: &schema.SecretRef{Env: "GITFLEET_SECRET_USER"},
		Password: &schema.SecretRef{Env: "GITFLEET_SECRET_PASSWORD"},
	}
}

func TestHelmRepositoryRangeLockedAndFetchedOnce(t *testing.T) {
	srv := chartserver.NewHelmRepo(chartserver.Auth{Username: "ci", Password: "s3cret-basic"}, false)
	defer srv.Close()
	archives := map[string][]byte{}
	for _, v := range []string{"1.0.0", "1.2.0", "1.2.1-rc.1", "2.0.0"} {
		archives[v] = pkg(t, "web", v)
		if err := srv.Add(archives[v]); err != nil {
			t.Fatal(err)
		}
	}
	auth := basicAuth(t, srv.CA(), "ci", "s3cret-basic")
	c := client(t, t.TempDir(), nil)
	ref := remotechart.Ref{Repository: srv.URL, Name: "web", Constraint: "^1.0.0"}
	l, data, err := c.Resolve(t.Context(), ref, auth)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != "1.2.0" || l.Digest != chartserver.Digest(archives["1.2.0"]) || string(data) != string(archives["1.2.0"]) {
		t.Fatalf("Resolve = %s %s, want 1.2.0 %s", l.Version, l.Digest, chartserver.Digest(archives["1.2.0"]))
	}
	before := srv.Requests.Load()
	got, err := c.Fetch(t.Context(), l, auth)
	if err != nil || string(got) != string(data) {
		t.Fatalf("Fetch = %d bytes, %v", len(got), err)
	}
	if n := srv.Requests.Load() - before; n != 0 {
		t.Errorf("a locked chart in the cache made %d requests", n)
	}
}

func TestOCIRegistryRangeLockedWithBasicAuthAndToken(t *testing.T) {
	for _, a := range []chartserver.Auth{{Username: "ci", Password: "s3cret-basic"}, {Token: "s3cret-token"}} {
		t.Run(fmt.Sprintf("token=%v", a.Token != ""), func(t *testing.T) {
			reg := chartserver.NewRegistry(a, false)
			defer reg.Close()
			var want []byte
			for _, v := range []string{"0.9.0", "1.0.0", "1.0.3", "1.1.0"} {
				data := pkg(t, "api", v)
				if v == "1.0.3" {
					want = data
				}
				if err := reg.Push(data); err != nil {
					t.Fatal(err)
				}
			}
			auth := basicAuth(t, reg.CA(), a.Username, a.Password)
			if a.Token != "" {
				t.Setenv("GITFLEET_SECRET_TOKEN", a.Token)
				auth = &schema.ChartAuth{CAFile: auth.CAFile, Token: &schema.SecretRef{Env: "GITFLEET_SECRET_TOKEN"}}
			}
			c := client(t, t.TempDir(), nil)
			l, _, err := c.Resolve(t.Context(), remotechart.Ref{Repository: reg.URL, Name: "api", Constraint: "~1.0"}, auth)
			if err != nil {
				t.Fatal(err)
			}
			if l.Version != "1.0.3" || l.Digest != chartserver.Digest(want) {
				t.Fatalf("Resolve = %s %s, want 1.0.3 %s", l.Version, l.Digest, chartserver.Digest(want))
			}
			// A second machine, with an empty cache, fetches the locked version.
			got, err := client(t, t.TempDir(), nil).Fetch(t.Context(), l, auth)
			if err != nil || string(got) != string(want) {
				t.Fatalf("Fetch = %d bytes, %v", len(got), err)
			}
		})
	}
}

func TestDigestMismatchRefused(t *testing.T) {
	srv := chartserver.NewHelmRepo(chartserver.Auth{}, false)
	defer srv.Close()
	reg := chartserver.NewRegistry(chartserver.Auth{}, false)
	defer reg.Close()
	for _, tc := range []struct {
		name    string
		repo    string
		publish func([]byte) error
		ca      []byte
	}{{"helm repository", srv.URL, srv.Add, srv.CA()}, {"oci registry", reg.URL, reg.Push, reg.CA()}} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.publish(pkg(t, "web", "1.0.0")); err != nil {
				t.Fatal(err)
			}
			t.Setenv("GITFLEET_SECRET_CA", string(tc.ca))
			auth := &schema.ChartAuth{CAFile: &schema.SecretRef{Env: "GITFLEET_SECRET_CA"}}
			l, _, err := client(t, t.TempDir(), nil).Resolve(t.Context(), remotechart.Ref{Repository: tc.repo, Name: "web", Constraint: "1.0.0"}, auth)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(1100 * time.Millisecond) // tar headers have one-second times
			again := pkg(t, "web", "1.0.0")
			if err := tc.publish(again); err != nil {
				t.Fatal(err)
			}
			_, err = client(t, t.TempDir(), nil).Fetch(t.Context(), l, auth)
			var dm *remotechart.DigestMismatchError
			if !errors.As(err, &dm) || dm.Got != chartserver.Digest(again) {
				t.Fatalf("Fetch of a re-pushed version: %v, want a *DigestMismatchError", err)
			}
			if !strings.Contains(err.Error(), "published again with other content") {
				t.Errorf("error does not say what happened: %v", err)
			}
		})
	}
}

func TestRepositoryDownAndWrongCredentials(t *testing.T) {
	srv := chartserver.NewHelmRepo(chartserver.Auth{Username: "ci", Password: "right-password"}, false)
	reg := chartserver.NewRegistry(chartserver.Auth{Username: "ci", Password: "right-password"}, false)
	data := pkg(t, "web", "1.0.0")
	if err := srv.Add(data); err != nil {
		t.Fatal(err)
	}
	if err := reg.Push(data); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		repo string
		ca   []byte
	}{{"helm repository", srv.URL, srv.CA()}, {"oci registry", reg.URL, reg.CA()}} {
		t.Run(tc.name, func(t *testing.T) {
			l := remotechart.Locked{Ref: remotechart.Ref{Repository: tc.repo, Name: "web", Constraint: "1.0.0"}, Version: "1.0.0", Digest: chartserver.Digest(data)}
			wrong := basicAuth(t, tc.ca, "ci", "wrong-password-value")
			_, err := client(t, t.TempDir(), nil).Fetch(t.Context(), l, wrong)
			var ae *remotechart.AuthError
			if !errors.As(err, &ae) || !ae.WithCredentials {
				t.Fatalf("Fetch with a wrong password: %v, want an *AuthError", err)
			}
			if strings.Contains(err.Error(), "wrong-password-value") || !strings.Contains(err.Error(), "refused the credentials") {
				t.Errorf("error: %v", err)
			}
			if errors.Is(err, remotechart.ErrUnavailable) {
				t.Errorf("wrong credentials are not a repository that is down: %v", err)
			}
			_, err = client(t, t.TempDir(), nil).Fetch(t.Context(), l, &schema.ChartAuth{CAFile: wrong.CAFile})
			if !errors.As(err, &ae) || ae.WithCredentials {
				t.Errorf("Fetch without credentials: %v, want an *AuthError saying credentials are needed", err)
			}
		})
	}

	// Down: a cache that holds the chart still serves it; an empty one fails, transiently.
	warm := t.TempDir()
	auth := basicAuth(t, srv.CA(), "ci", "right-password")
	l := remotechart.Locked{Ref: remotechart.Ref{Repository: srv.URL, Name: "web", Constraint: "1.0.0"}, Version: "1.0.0", Digest: chartserver.Digest(data)}
	if _, err := client(t, warm, nil).Fetch(t.Context(), l, auth); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	reg.Close()
	if _, err := client(t, warm, nil).Fetch(t.Context(), l, auth); err != nil {
		t.Errorf("a cached chart with its repository down: %v", err)
	}
	for _, repoURL := range []string{srv.URL, reg.URL} {
		l.Repository = repoURL
		_, err := client(t, t.TempDir(), nil).Fetch(t.Context(), l, auth)
		if !errors.Is(err, remotechart.ErrUnavailable) {
			t.Errorf("Fetch from %s while it is down: %v, want ErrUnavailable", repoURL, err)
		}
	}
}

func TestFetchLimitsAndOffline(t *testing.T) {
	srv := chartserver.NewHelmRepo(chartserver.Auth{}, false)
	defer srv.Close()
	data := pkg(t, "web", "1.0.0")
	if err := srv.Add(data); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITFLEET_SECRET_CA", string(srv.CA()))
	auth := &schema.ChartAuth{CAFile: &schema.SecretRef{Env: "GITFLEET_SECRET_CA"}}
	l := remotechart.Locked{Ref: remotechart.Ref{Repository: srv.URL, Name: "web", Constraint: "1.0.0"}, Version: "1.0.0", Digest: chartserver.Digest(data)}
	small := client(t, t.TempDir(), func(o *remotechart.Options) { o.MaxArchiveSize = int64(len(data) - 1) })
	_, err := small.Fetch(t.Context(), l, auth)
	var tl *remotechart.TooLargeError
	if !errors.As(err, &tl) || !strings.Contains(err.Error(), remotechart.FlagMaxSize) {
		t.Errorf("Fetch over --max-chart-size: %v", err)
	}
	before := srv.Requests.Load()
	offline := client(t, t.TempDir(), func(o *remotechart.Options) { o.Offline = true })
	_, err = offline.Fetch(t.Context(), l, auth)
	var nc *remotechart.NotCachedError
	if !errors.As(err, &nc) || srv.Requests.Load() != before {
		t.Errorf("offline Fetch: %v after %d requests, want a *NotCachedError and no request", err, srv.Requests.Load()-before)
	}
}

func TestCacheConcurrentAndBounded(t *testing.T) {
	dir := t.TempDir()
	archives := make([][]byte, 8)
	for i := range archives {
		archives[i] = []byte(strings.Repeat(fmt.Sprint(i), 1000))
	}
	// Two caches on one directory, as two processes would have.
	a, _ := remotechart.OpenCache(dir, 1<<20)
	b, _ := remotechart.OpenCache(dir, 1<<20)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := a
			if i%2 == 1 {
				c = b
			}
			for _, data := range archives {
				if err := c.Put(data); err != nil {
					t.Error(err)
				}
				if got, ok := c.Get(remotechart.Digest(data)); ok && string(got) != string(data) {
					t.Error("read another archive's bytes")
				}
			}
		}()
	}
	wg.Wait()
	for _, data := range archives {
		if _, ok := a.Get(remotechart.Digest(data)); !ok {
			t.Errorf("archive %.1s missing", data)
		}
	}
	// A damaged file is a miss, never a wrong chart.
	d := remotechart.Digest(archives[0])
	if err := os.WriteFile(dir+"/"+strings.TrimPrefix(d, "sha256:")+".tgz", []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Get(d); ok {
		t.Error("a damaged archive was returned")
	}
	// Bounded: 2500 bytes hold two archives; the newest stays.
	small, _ := remotechart.OpenCache(t.TempDir(), 2500)
	for _, data := range archives {
		if err := small.Put(data); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	kept := 0
	for _, data := range archives {
		if _, ok := small.Get(remotechart.Digest(data)); ok {
			kept++
		}
	}
	if _, ok := small.Get(remotechart.Digest(archives[7])); !ok || kept > 2 {
		t.Errorf("bounded cache kept %d archives (newest kept: %v), want at most 2 with the newest", kept, ok)
	}
}

func TestHostileIndexRefused(t *testing.T) {
	bomb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "apiVersion: v1\nentries:\n"+hostile.AliasBomb())
	}))
	defer bomb.Close()
	_, _, err := client(t, t.TempDir(), nil).Resolve(t.Context(), remotechart.Ref{Repository: bomb.URL, Name: "web", Constraint: "1.0.0"}, nil)
	var be *yamlbound.Error
	if !errors.As(err, &be) {
		t.Fatalf("Resolve from a repository serving an alias bomb as index.yaml: %v, want a *yamlbound.Error", err)
	}
}

func TestMemoryCache(t *testing.T) {
	c, err := remotechart.OpenCache("", 2500)
	if err != nil {
		t.Fatal(err)
	}
	a, b, big := []byte(strings.Repeat("a", 1000)), []byte(strings.Repeat("b", 1000)), []byte(strings.Repeat("c", 3000))
	for _, data := range [][]byte{a, b, big} {
		if err := c.Put(data); err != nil {
			t.Fatal(err)
		}
	}
	if got, ok := c.Get(remotechart.Digest(a)); !ok || string(got) != string(a) {
		t.Error("an archive within the bound was not kept")
	}
	if _, ok := c.Get(remotechart.Digest(big)); ok {
		t.Error("an archive over the whole bound was kept")
	}
	if err := c.Put([]byte(strings.Repeat("d", 1000))); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(remotechart.Digest(a)); ok {
		t.Error("the oldest archive was kept past the bound")
	}
	if _, ok := c.Get(remotechart.Digest(b)); !ok {
		t.Error("a newer archive was dropped")
	}
}
