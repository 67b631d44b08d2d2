// Package chartserver publishes Helm charts for tests and the demo the way real chart
// repositories do: archives packaged by Helm's own code (chart/loader and
// chartutil.Save), a Helm repository whose index.yaml is Helm's repo.IndexFile, served
// over HTTPS by net/http/httptest, and a real OCI registry (go-containerregistry's, in
// process) that charts are pushed to with Helm's registry client. Both can require
// credentials and can be stopped, to play a repository that is down.
package chartserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	helmregistry "helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
	"oras.land/oras-go/v2/registry/remote/auth"
	"sigs.k8s.io/yaml"
)

// Chart is a chart to package.
type Chart struct {
	Name, Version string
	// Files are the chart's files besides Chart.yaml (values.yaml, templates/...).
	Files map[string]string
	// Dependencies go into Chart.yaml.
	Dependencies []*chart.Dependency
}

// Package builds the chart's archive with Helm's loader and chartutil.Save, as `helm
// package` does. Each call stamps the files with the time, so packaging the same chart
// twice gives another digest (a tag pushed again).
func Package(c Chart) ([]byte, error) {
	md := chart.Metadata{APIVersion: chart.APIVersionV2, Name: c.Name, Version: c.Version, Dependencies: c.Dependencies}
	meta, err := yaml.Marshal(md)
	if err != nil {
		return nil, err
	}
	files := []*loader.BufferedFile{{Name: chartutil.ChartfileName, Data: meta}}
	names := make([]string, 0, len(c.Files))
	for n := range c.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, &loader.BufferedFile{Name: n, Data: []byte(c.Files[n])})
	}
	ch, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", c.Name, err)
	}
	dir, err := os.MkdirTemp("", "chartserver-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p, err := chartutil.Save(ch, dir)
	if err != nil {
		return nil, fmt.Errorf("packaging chart %s: %w", c.Name, err)
	}
	return os.ReadFile(p)
}

// PackageDir packages a chart directory (its vendored charts/ included), as `helm
// package DIR` does.
func PackageDir(src string) ([]byte, error) {
	ch, err := loader.LoadDir(src)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", src, err)
	}
	dir, err := os.MkdirTemp("", "chartserver-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p, err := chartutil.Save(ch, dir)
	if err != nil {
		return nil, fmt.Errorf("packaging chart %s: %w", src, err)
	}
	return os.ReadFile(p)
}

// Digest is the lock file's form of an archive's digest.
func Digest(archive []byte) string {
	sum := sha256.Sum256(archive)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Auth is what a server requires: basic auth, a bearer token, or nothing.
type Auth struct {
	Username, Password string
	Token              string
}

// check says whether a request carries the credentials.
func (a Auth) check(r *http.Request) bool {
	switch {
	case a.Token != "":
		return r.Header.Get("Authorization") == "Bearer "+a.Token
	case a.Username != "":
		u, p, ok := r.BasicAuth()
		return ok && u == a.Username && p == a.Password
	}
	return true
}

// Server is an HTTPS server with a CA of its own.
type Server struct {
	srv *httptest.Server
	// Requests counts the requests served (authorized or not).
	Requests atomic.Int64
}

// CA is the PEM certificate clients must trust.
func (s *Server) CA() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Client trusts the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close stops the server: what was at its address refuses connections.
func (s *Server) Close() { s.srv.Close() }

// Host is host:port.
func (s *Server) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(s.srv.URL, "https://"), "http://")
}

func newServer(h http.Handler, a Auth, challenge string, tlsOn bool) *Server {
	s, _ := newServerAt("", h, a, challenge, tlsOn)
	return s
}

// newServerAt is newServer listening on addr ("" for a free port of the loopback).
func newServerAt(addr string, h http.Handler, a Auth, challenge string, tlsOn bool) (*Server, error) {
	s := &Server{}
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Requests.Add(1)
		if !a.check(r) {
			w.Header().Set("WWW-Authenticate", challenge)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
	s.srv = httptest.NewUnstartedServer(wrapped)
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		s.srv.Listener.Close()
		s.srv.Listener = l
	}
	// Clients that do not trust the CA are part of the tests; their handshakes are not news.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tlsOn {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	return s, nil
}

// HelmRepo is a Helm chart repository: index.yaml and the archives it lists.
type HelmRepo struct {
	*Server
	// URL is the repository's address (what an App's repository names).
	URL string

	mu       sync.Mutex
	index    *repo.IndexFile
	archives map[string][]byte
}

// NewHelmRepo serves an empty repository over HTTPS (or plain HTTP when plain is set,
// for the demo), requiring a.
func NewHelmRepo(a Auth, plain bool) *HelmRepo {
	r, _ := NewHelmRepoAt("", a, plain)
	return r
}

// NewHelmRepoAt is NewHelmRepo listening on addr (host:port), for the demo, whose example
// App names a fixed address.
func NewHelmRepoAt(addr string, a Auth, plain bool) (*HelmRepo, error) {
	r := &HelmRepo{index: repo.NewIndexFile(), archives: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/charts/index.yaml", func(w http.ResponseWriter, _ *http.Request) {
		r.mu.Lock()
		data, err := yaml.Marshal(r.index)
		r.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(data)
	})
	mux.HandleFunc("/charts/archives/", func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		data, ok := r.archives[strings.TrimPrefix(req.URL.Path, "/charts/archives/")]
		r.mu.Unlock()
		if !ok {
			http.NotFound(w, req)
			return
		}
		w.Write(data)
	})
	srv, err := newServerAt(addr, mux, a, `Basic realm="charts"`, !plain)
	if err != nil {
		return nil, fmt.Errorf("serving a Helm repository on %s: %w", addr, err)
	}
	r.Server = srv
	r.URL = r.srv.URL + "/charts"
	return r, nil
}

// Add publishes an archive, replacing a version published before (a re-pushed tag).
func (r *HelmRepo) Add(archive []byte) error {
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%s.tgz", ch.Name(), ch.Metadata.Version)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.archives[name] = archive
	versions := r.index.Entries[ch.Name()][:0]
	for _, v := range r.index.Entries[ch.Name()] {
		if v.Version != ch.Metadata.Version {
			versions = append(versions, v)
		}
	}
	r.index.Entries[ch.Name()] = versions
	sum := sha256.Sum256(archive)
	// Relative URLs, as `helm repo index` writes without --url.
	if err := r.index.MustAdd(ch.Metadata, "archives/"+name, "", hex.EncodeToString(sum[:])); err != nil {
		return err
	}
	r.index.SortEntries()
	return nil
}

// Registry is an OCI registry.
type Registry struct {
	*Server
	// URL is the registry path charts are pushed under (oci://host:port/charts).
	URL  string
	auth Auth
}

// NewRegistry starts an OCI registry over HTTPS (plain HTTP when plain is set) that
// requires a: basic auth, or a bearer token.
func NewRegistry(a Auth, plain bool) *Registry {
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	challenge := `Basic realm="registry"`
	if a.Token != "" {
		challenge = `Bearer realm="https://registry.invalid/token",service="registry"`
	}
	r := &Registry{Server: newServer(h, a, challenge, !plain), auth: a}
	r.URL = "oci://" + r.Host() + "/charts"
	return r
}

// Push pushes an archive with Helm's registry client, as `helm push` does.
func (r *Registry) Push(archive []byte) error {
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return err
	}
	hc := r.Client()
	cred := auth.Credential{Username: r.auth.Username, Password: r.auth.Password, AccessToken: r.auth.Token}
	dir, err := os.MkdirTemp("", "chartserver-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	opts := []helmregistry.ClientOption{
		helmregistry.ClientOptHTTPClient(hc),
		helmregistry.ClientOptAuthorizer(auth.Client{Client: hc, Credential: auth.StaticCredential(r.Host(), cred)}),
		helmregistry.ClientOptCredentialsFile(filepath.Join(dir, "config.json")),
	}
	if !strings.HasPrefix(r.srv.URL, "https://") {
		opts = append(opts, helmregistry.ClientOptPlainHTTP())
	}
	c, err := helmregistry.NewClient(opts...)
	if err != nil {
		return err
	}
	ref := fmt.Sprintf("%s/charts/%s:%s", r.Host(), ch.Name(), ch.Metadata.Version)
	if _, err := c.Push(archive, ref); err != nil {
		return fmt.Errorf("helm push %s: %w", ref, err)
	}
	return nil
}

// FreeAddress is an address nothing listens on (a repository that is down).
func FreeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}
