package reconcilebench

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"k8s.io/client-go/rest"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/schema"
)

// counter counts the requests gitfleet sends to the member clusters: writes, dry runs, and
// the watches open at the moment, per cluster entry. It sits on gitfleet's own Connector,
// so it sees exactly what gitfleet sends, whatever the API server answers.
type counter struct {
	inner          reconciler.Connector
	writes, dryRun atomic.Int64
	// watches is open watch requests by cluster name (*atomic.Int64).
	watches sync.Map
}

var _ reconciler.Connector = (*counter)(nil)

func (c *counter) RESTConfig(cl *schema.Cluster) (*rest.Config, error) {
	cfg, err := c.inner.RESTConfig(cl)
	if err != nil {
		return nil, err
	}
	open, _ := c.watches.LoadOrStore(cl.Metadata.Name, new(atomic.Int64))
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			watch := false
			switch {
			case r.Method == http.MethodGet:
				watch = r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1"
			case r.Method == http.MethodPatch && r.URL.Query().Get("dryRun") == "All":
				c.dryRun.Add(1)
			default:
				c.writes.Add(1)
			}
			resp, err := rt.RoundTrip(r)
			if watch && err == nil {
				// A watch stays open until its body is closed.
				n := open.(*atomic.Int64)
				n.Add(1)
				resp.Body = &closeOnce{ReadCloser: resp.Body, onClose: func() { n.Add(-1) }}
			}
			return resp, err
		})
	})
	return cfg, nil
}

// reset forgets the writes and dry runs counted so far; a nil counter has nothing to reset.
func (c *counter) reset() {
	if c != nil {
		c.writes.Store(0)
		c.dryRun.Store(0)
	}
}

// openWatches is how many watches are open now, over all cluster entries.
func (c *counter) openWatches() int64 {
	var sum int64
	c.watches.Range(func(_, n any) bool {
		sum += n.(*atomic.Int64).Load()
		return true
	})
	return sum
}

// closeOnce calls onClose the first time the body is closed.
type closeOnce struct {
	io.ReadCloser
	once    sync.Once
	onClose func()
}

func (b *closeOnce) Close() error {
	b.once.Do(b.onClose)
	return b.ReadCloser.Close()
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
