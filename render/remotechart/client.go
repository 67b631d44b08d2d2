package remotechart

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sync/singleflight"
	"oras.land/oras-go/v2/registry/remote/auth"

	helmregistry "helm.sh/helm/v3/pkg/registry"

	"gitfleet.dev/gitfleet/schema"
)

// Flag names of the limits, named by the errors they cause.
const (
	FlagTimeout      = "--chart-fetch-timeout"
	FlagMaxSize      = "--max-chart-size"
	FlagMaxIndexSize = "--max-chart-index-size"
)

// SecretResolver reads the value a secret reference names, under the operator's secret
// policy (reconciler/notify.EnvFileResolver is the one gitfleet uses).
type SecretResolver interface {
	Resolve(ctx context.Context, ref *schema.SecretRef) ([]byte, error)
}

// Options configure a Client.
type Options struct {
	// Cache keeps fetched archives; nil keeps none.
	Cache *Cache
	// Timeout bounds each request to a repository or registry: a server that accepts a
	// connection and then says nothing must not hold a render until its own timeout.
	Timeout time.Duration
	// MaxArchiveSize bounds a chart archive (and any OCI manifest) as downloaded.
	MaxArchiveSize int64
	// MaxIndexSize bounds a Helm repository's index.yaml, which for public repositories
	// with every version ever published runs to tens of megabytes.
	MaxIndexSize int64
	// Secrets reads the credentials an App's auth refers to; nil refuses every App with
	// auth, naming the reference.
	Secrets SecretResolver
	// Offline answers only from the cache (validate): a chart not there is a
	// *NotCachedError.
	Offline bool
	// Log records each chart fetched (never a credential); the zero value discards.
	Log logr.Logger
	// PlainHTTPHosts are OCI registries (host:port) reached over plain HTTP instead of
	// HTTPS: a registry on localhost for a demo, never something on a network.
	PlainHTTPHosts []string
}

// DefaultOptions are limits that fit the largest public charts with room to spare.
func DefaultOptions() Options {
	return Options{Timeout: time.Minute, MaxArchiveSize: 16 << 20, MaxIndexSize: 64 << 20}
}

// Client fetches remote charts. It is safe for concurrent use.
type Client struct {
	opts Options
	// scratch holds what Helm's registry client insists on reading (an empty credentials
	// file), so that neither ~/.config/helm nor ~/.docker is a hidden input.
	scratch string
	// flight makes concurrent renders of one chart share one download.
	flight singleflight.Group
}

// New returns a Client. Close removes its scratch directory.
func New(opts Options) (*Client, error) {
	d := DefaultOptions()
	if opts.Timeout <= 0 {
		opts.Timeout = d.Timeout
	}
	if opts.MaxArchiveSize <= 0 {
		opts.MaxArchiveSize = d.MaxArchiveSize
	}
	if opts.MaxIndexSize <= 0 {
		opts.MaxIndexSize = d.MaxIndexSize
	}
	if opts.Cache == nil {
		opts.Cache, _ = OpenCache("", 0)
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	scratch, err := os.MkdirTemp("", "gitfleet-charts-")
	if err != nil {
		return nil, fmt.Errorf("remote charts: %w", err)
	}
	return &Client{opts: opts, scratch: scratch}, nil
}

// Close releases what New made.
func (c *Client) Close() error { return os.RemoveAll(c.scratch) }

// credentials are an App's auth, read.
type credentials struct {
	username, password, token string
	tls                       *tls.Config
	// any says whether a username or token is sent, for the wording of a refusal.
	any bool
}

// credentialsFor reads the auth of a chart for a request to the chart's host; a
// dependency on another host gets none (Helm's rule: credentials never leave the host
// they were given for).
func (c *Client) credentialsFor(ctx context.Context, a *schema.ChartAuth) (credentials, error) {
	var cr credentials
	if a == nil {
		return cr, nil
	}
	read := func(field string, ref *schema.SecretRef) ([]byte, error) {
		if ref == nil {
			return nil, nil
		}
		if c.opts.Secrets == nil {
			return nil, fmt.Errorf("spec.source.helm.auth.%s: this command reads no secrets", field)
		}
		v, err := c.opts.Secrets.Resolve(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("spec.source.helm.auth.%s: %w", field, err)
		}
		return v, nil
	}
	var errs []error
	get := func(field string, ref *schema.SecretRef) []byte {
		v, err := read(field, ref)
		errs = append(errs, err)
		return v
	}
	cr.username = string(get("username", a.Username))
	cr.password = string(get("password", a.Password))
	cr.token = string(get("token", a.Token))
	cert, key, ca := get("certFile", a.CertFile), get("keyFile", a.KeyFile), get("caFile", a.CAFile)
	if err := errors.Join(errs...); err != nil {
		return cr, err
	}
	cr.any = cr.username != "" || cr.token != ""
	if cert != nil || ca != nil {
		cr.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		if cert != nil {
			pair, err := tls.X509KeyPair(cert, key)
			if err != nil {
				// The error of crypto/tls names no key material.
				return cr, fmt.Errorf("spec.source.helm.auth.certFile and keyFile: %w", err)
			}
			cr.tls.Certificates = []tls.Certificate{pair}
		}
		if ca != nil {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(ca) {
				return cr, fmt.Errorf("spec.source.helm.auth.caFile: no PEM certificate in it")
			}
			cr.tls.RootCAs = pool
		}
	}
	return cr, nil
}

// httpClient is a client for one repository host: TLS as the auth says, a timeout per
// request, every response body bounded, and credentials added only to requests to host
// (a redirect to a CDN does not carry them).
func (c *Client) httpClient(host string, cr credentials, limit int64, flag string) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if cr.tls != nil {
		t.TLSClientConfig = cr.tls
	}
	var rt http.RoundTripper = &limitTransport{base: t, limit: limit, flag: flag}
	rt = &authTransport{base: rt, host: host, cr: cr}
	return &http.Client{Transport: rt, Timeout: c.opts.Timeout}
}

// authTransport adds basic auth or a bearer token to requests to one host.
type authTransport struct {
	base http.RoundTripper
	host string
	cr   credentials
}

func (a *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == a.host && r.Header.Get("Authorization") == "" {
		switch {
		case a.cr.token != "":
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer "+a.cr.token)
		case a.cr.username != "":
			r = r.Clone(r.Context())
			r.SetBasicAuth(a.cr.username, a.cr.password)
		}
	}
	return a.base.RoundTrip(r)
}

// limitTransport fails a response body past limit bytes.
type limitTransport struct {
	base  http.RoundTripper
	limit int64
	flag  string
}

func (l *limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > l.limit {
		resp.Body.Close()
		return nil, &TooLargeError{Limit: l.limit, Flag: l.flag}
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: l.limit, err: &TooLargeError{Limit: l.limit, Flag: l.flag}}
	return resp, nil
}

type limitedBody struct {
	io.ReadCloser
	left int64
	err  error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, b.err
	}
	return n, err
}

// registryClient is Helm's OCI client for one registry, with gitfleet's transport and
// the App's credentials and nothing from the machine's Helm or Docker configuration.
func (c *Client) registryClient(host string, cr credentials) (*helmregistry.Client, error) {
	hc := c.httpClient("", credentials{tls: cr.tls}, c.opts.MaxArchiveSize, FlagMaxSize)
	authorizer := auth.Client{Client: hc, Cache: auth.NewCache()}
	cred := auth.EmptyCredential
	switch {
	case cr.token != "":
		cred = auth.Credential{AccessToken: cr.token}
	case cr.username != "":
		cred = auth.Credential{Username: cr.username, Password: cr.password}
	}
	authorizer.Credential = auth.StaticCredential(host, cred)
	opts := []helmregistry.ClientOption{
		helmregistry.ClientOptHTTPClient(hc),
		helmregistry.ClientOptAuthorizer(authorizer),
		helmregistry.ClientOptCredentialsFile(filepath.Join(c.scratch, "registry.json")),
		helmregistry.ClientOptWriter(io.Discard),
	}
	if slices.Contains(c.opts.PlainHTTPHosts, host) {
		opts = append(opts, helmregistry.ClientOptPlainHTTP())
	}
	return helmregistry.NewClient(opts...)
}
