package remotechart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/repo"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"gitfleet.dev/gitfleet/render/yamlbound"
	"gitfleet.dev/gitfleet/schema"
)

// Fetch returns the archive of a locked chart: from the cache when it holds it,
// otherwise downloaded by its locked version and refused unless its digest is the
// locked one. auth are the App's credentials for the chart's host (nil for none).
func (c *Client) Fetch(ctx context.Context, l Locked, a *schema.ChartAuth) ([]byte, error) {
	if data, ok := c.opts.Cache.Get(l.Digest); ok {
		return data, nil
	}
	if c.opts.Offline {
		return nil, &NotCachedError{Chart: l}
	}
	v, err, _ := c.flight.Do(l.Digest, func() (any, error) {
		data, err := c.download(ctx, l.Ref, l.Version, a)
		if err != nil {
			return nil, err
		}
		if got := Digest(data); got != l.Digest {
			return nil, &DigestMismatchError{Chart: l, Got: got}
		}
		if err := checkArchive(l.Name, l.Version, data); err != nil {
			return nil, fmt.Errorf("%s: %w", l, err)
		}
		c.opts.Log.Info("fetched chart", "chart", l.Name, "version", l.Version, "repository", l.Repository, "digest", l.Digest, "bytes", len(data))
		if err := c.opts.Cache.Put(data); err != nil {
			// The chart is fetched; only the next run pays for the cache.
			c.opts.Log.Error(err, "chart cache not written", "chart", l.Name, "version", l.Version)
		}
		return data, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// Resolve finds the newest version of a chart that satisfies the constraint, downloads
// it and returns it locked to that version and the archive's digest (for gitfleet lock).
func (c *Client) Resolve(ctx context.Context, ref Ref, a *schema.ChartAuth) (Locked, []byte, error) {
	cons, err := semver.NewConstraint(ref.Constraint)
	if err != nil {
		return Locked{}, nil, fmt.Errorf("%s: %q is not a version or semver range: %w", ref, ref.Constraint, err)
	}
	cr, err := c.credentialsFor(ctx, a)
	if err != nil {
		return Locked{}, nil, fmt.Errorf("%s: %w", ref, err)
	}
	var version string
	if ref.IsOCI() {
		version, err = c.ociVersion(ref, cr, cons)
	} else {
		version, err = c.indexVersion(ctx, ref, cr)
	}
	if err != nil {
		return Locked{}, nil, err
	}
	data, err := c.download(ctx, ref, version, a)
	if err != nil {
		return Locked{}, nil, err
	}
	l := Locked{Ref: ref, Version: version, Digest: Digest(data)}
	if err := checkArchive(ref.Name, version, data); err != nil {
		return Locked{}, nil, fmt.Errorf("%s: %w", l, err)
	}
	_ = c.opts.Cache.Put(data) // a cache that cannot be written costs the next fetch only.
	return l, data, nil
}

// download gets the archive of one version.
func (c *Client) download(ctx context.Context, ref Ref, version string, a *schema.ChartAuth) ([]byte, error) {
	cr, err := c.credentialsFor(ctx, a)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	if ref.IsOCI() {
		return c.ociPull(ref, version, cr)
	}
	idx, err := c.index(ctx, ref, cr)
	if err != nil {
		return nil, err
	}
	cv, err := idx.Get(ref.Name, version)
	if err != nil || cv.Version != version {
		return nil, fmt.Errorf("%s: version %s is not in the repository's index (was it removed?)", ref, version)
	}
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("%s: the index lists version %s without an archive URL", ref, version)
	}
	u, err := repo.ResolveReferenceURL(ref.Repository, cv.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("%s: archive URL %q: %w", ref, cv.URLs[0], err)
	}
	hc := c.httpClient(ref.host(), cr, c.opts.MaxArchiveSize, FlagMaxSize)
	return c.get(ctx, hc, u, ref.String(), cr.any)
}

// index reads a Helm repository's index.yaml with Helm's own loader (which also drops
// entries Helm itself would refuse).
func (c *Client) index(ctx context.Context, ref Ref, cr credentials) (*repo.IndexFile, error) {
	u := strings.TrimSuffix(ref.Repository, "/") + "/index.yaml"
	hc := c.httpClient(ref.host(), cr, c.opts.MaxIndexSize, FlagMaxIndexSize)
	data, err := c.get(ctx, hc, u, ref.String(), cr.any)
	if err != nil {
		return nil, err
	}
	// Bounded before it is parsed, as every YAML file gitfleet reads: without aliases a
	// document has fewer nodes than bytes, so more nodes than bytes is an alias bomb.
	bounds := yamlbound.Limits{MaxFileSize: c.opts.MaxIndexSize, MaxNodes: c.opts.MaxIndexSize}.WithDefaults()
	if err := yamlbound.Check("index.yaml", data, bounds); err != nil {
		return nil, &FetchError{Chart: ref.String(), URL: u, Err: err}
	}
	f, err := os.CreateTemp(c.scratch, "index-*.yaml")
	if err != nil {
		return nil, fmt.Errorf("remote charts: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("remote charts: %w", err)
	}
	idx, err := repo.LoadIndexFile(f.Name())
	if err != nil {
		return nil, &FetchError{Chart: ref.String(), URL: u, Err: fmt.Errorf("not a Helm repository index: %s", strings.ReplaceAll(err.Error(), f.Name(), "index.yaml"))}
	}
	return idx, nil
}

// indexVersion is the newest version of the index that satisfies the constraint.
func (c *Client) indexVersion(ctx context.Context, ref Ref, cr credentials) (string, error) {
	idx, err := c.index(ctx, ref, cr)
	if err != nil {
		return "", err
	}
	if _, ok := idx.Entries[ref.Name]; !ok {
		return "", fmt.Errorf("%s: the repository has no chart named %q", ref, ref.Name)
	}
	cv, err := idx.Get(ref.Name, ref.Constraint)
	if err != nil {
		return "", fmt.Errorf("%s: no version of the chart satisfies %q (newest is %s)", ref, ref.Constraint, idx.Entries[ref.Name][0].Version)
	}
	return cv.Version, nil
}

// ociVersion is the newest tag of the chart's repository that satisfies the constraint.
func (c *Client) ociVersion(ref Ref, cr credentials, cons *semver.Constraints) (string, error) {
	rc, err := c.registryClient(ref.host(), cr)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ref, err)
	}
	tags, err := rc.Tags(ref.ociReference())
	if err != nil {
		return "", &FetchError{Chart: ref.String(), URL: "oci://" + ref.ociReference(), Err: classifyRegistry(err, cr.any)}
	}
	for _, t := range tags { // newest first
		if v, err := semver.NewVersion(t); err == nil && cons.Check(v) {
			return t, nil
		}
	}
	return "", fmt.Errorf("%s: no tag of the chart satisfies %q (tags: %s)", ref, ref.Constraint, strings.Join(tags[:min(len(tags), 10)], ", "))
}

// ociPull pulls one version of a chart from an OCI registry. Helm's registry client takes
// no context; its HTTP client's timeout bounds each request instead.
func (c *Client) ociPull(ref Ref, version string, cr credentials) ([]byte, error) {
	rc, err := c.registryClient(ref.host(), cr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	res, err := rc.Pull(ref.ociReference() + ":" + strings.ReplaceAll(version, "+", "_"))
	if err != nil {
		return nil, &FetchError{Chart: ref.String(), URL: "oci://" + ref.ociReference() + ":" + version, Err: classifyRegistry(err, cr.any)}
	}
	return res.Chart.Data, nil
}

// get downloads one URL; what failed is said in a *FetchError. Helm repositories are
// read with net/http rather than Helm's getter package: the getter reads a body of any
// size, takes TLS material only as file paths and has no bearer token, and what it would
// add (plugins, ~/.config/helm) are inputs gitfleet must not have. Helm's own code still
// reads the index (repo.LoadIndexFile), picks the version (IndexFile.Get) and resolves
// the archive's URL (repo.ResolveReferenceURL).
func (c *Client) get(ctx context.Context, hc *http.Client, u, what string, withCredentials bool) ([]byte, error) {
	fail := func(err error) error { return &FetchError{Chart: what, URL: u, Err: err} }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fail(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		var tl *TooLargeError
		if errors.As(err, &tl) {
			return nil, fail(tl)
		}
		return nil, fail(unavailable{err})
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fail(&AuthError{Status: resp.StatusCode, WithCredentials: withCredentials})
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, fail(unavailable{fmt.Errorf("HTTP %s", resp.Status)})
	case resp.StatusCode != http.StatusOK:
		return nil, fail(fmt.Errorf("HTTP %s", resp.Status))
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		var tl *TooLargeError
		if errors.As(err, &tl) {
			return nil, fail(tl)
		}
		return nil, fail(unavailable{err})
	}
	return data, nil
}

// classifyRegistry turns an error of Helm's registry client into gitfleet's kinds: a
// refusal of the credentials, a registry that did not answer or failed (transient), or
// the error as it is (a chart or tag that does not exist).
func classifyRegistry(err error, withCredentials bool) error {
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return tl
	}
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return &AuthError{Status: http.StatusUnauthorized, WithCredentials: false}
	}
	var er *errcode.ErrorResponse
	if errors.As(err, &er) {
		switch {
		case er.StatusCode == http.StatusUnauthorized || er.StatusCode == http.StatusForbidden:
			return &AuthError{Status: er.StatusCode, WithCredentials: withCredentials}
		case er.StatusCode >= 500 || er.StatusCode == http.StatusTooManyRequests:
			return unavailable{err}
		}
		return err
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return unavailable{err}
	}
	return err
}

// checkArchive loads an archive as Helm would and checks it is the chart asked for.
func checkArchive(name, version string, data []byte) error {
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not a chart archive: %w", err)
	}
	if ch.Metadata.Name != name || ch.Metadata.Version != version {
		return fmt.Errorf("the archive holds chart %s %s", ch.Metadata.Name, ch.Metadata.Version)
	}
	return nil
}
