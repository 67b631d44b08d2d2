package view

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"gitfleet.dev/gitfleet/reconciler/status"
)

// Options configure the view.
type Options struct {
	// Source is the loop's state.
	Source Source
	// CommitURL links revisions to the repository's web pages: "{rev}" in it is replaced
	// by the full commit id. Empty shows revisions as text.
	CommitURL string
	// Auth, when set, is who may read the view; nil lets anyone who reaches the address
	// read it (the default address is loopback only).
	Auth *Auth
	// Heartbeat is how often an idle event stream sends a comment, so that proxies and
	// load balancers do not close it as idle.
	Heartbeat time.Duration
	// MinUpdateInterval spaces the events of one stream: a burst of drift events makes
	// one page refresh, not one per object.
	MinUpdateInterval time.Duration
	Log               logr.Logger
}

// DefaultOptions returns the view's options without a source.
func DefaultOptions() Options {
	return Options{Heartbeat: 15 * time.Second, MinUpdateInterval: 250 * time.Millisecond, Log: logr.Discard()}
}

// Handler serves the view's pages, their JSON, the event stream and the assets.
type Handler struct {
	opts  Options
	pages *pages
	mux   *http.ServeMux
}

var _ http.Handler = (*Handler)(nil)

// NewHandler makes the view's handler.
func NewHandler(opts Options) (*Handler, error) {
	if opts.Source == nil {
		return nil, errors.New("view: no source of state")
	}
	if opts.CommitURL != "" && !strings.Contains(opts.CommitURL, "{rev}") {
		return nil, fmt.Errorf("view: commit URL %q has no {rev} to put the commit id in", opts.CommitURL)
	}
	p, err := parsePages(opts.CommitURL)
	if err != nil {
		return nil, err
	}
	h := &Handler{opts: opts, pages: p, mux: http.NewServeMux()}
	h.mux.Handle("GET /assets/", assetHandler())
	h.mux.HandleFunc("GET /events", h.serveEvents)
	h.mux.HandleFunc("GET /{$}", h.page("matrix", matrixPage))
	h.mux.HandleFunc("GET /clusters/{name}", h.page("cluster", clusterPage))
	h.mux.HandleFunc("GET /businesses/{name}", h.page("business", businessPage))
	h.mux.HandleFunc("GET /drift", h.page("drift", driftPage))
	h.mux.HandleFunc("GET /revisions", h.page("revisions", revisionsPage))
	h.mux.HandleFunc("GET /api/fleet", h.api(func(s State, _ *http.Request) (any, bool) { return s, true }))
	h.mux.HandleFunc("GET /api/status", h.api(func(s State, _ *http.Request) (any, bool) {
		return status.Document{Clusters: nonNil(s.Clusters), Businesses: nonNil(s.Businesses), Rollouts: s.Rollouts}, true
	}))
	h.mux.HandleFunc("GET /api/matrix", h.api(apiOf(matrixPage)))
	h.mux.HandleFunc("GET /api/clusters/{name}", h.api(apiOf(clusterPage)))
	h.mux.HandleFunc("GET /api/businesses/{name}", h.api(apiOf(businessPage)))
	h.mux.HandleFunc("GET /api/drift", h.api(apiOf(driftPage)))
	h.mux.HandleFunc("GET /api/revisions", h.api(apiOf(revisionsPage)))
	return h, nil
}

// ServeHTTP serves a request, after authentication when the view has any.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The view is read-only and holds no form: forbid framing and sniffing, and let
	// only the view's own files run or load.
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.opts.Auth.wrap(h.mux, h.opts.Log).ServeHTTP(w, r)
}

// pageFunc computes a page's data from the state; ok is false when the page's subject
// (a cluster, a business) does not exist.
type pageFunc func(State, *http.Request) (data any, title string, ok bool)

func apiOf(f pageFunc) func(State, *http.Request) (any, bool) {
	return func(s State, r *http.Request) (any, bool) {
		data, _, ok := f(s, r)
		return data, ok
	}
}

func (h *Handler) page(name string, f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := h.opts.Source.Snapshot()
		data, title, ok := f(s, r)
		code := http.StatusOK
		if !ok {
			code, name, title = http.StatusNotFound, "notfound", "Not found"
		}
		var buf bytes.Buffer
		if err := h.pages.render(&buf, name, layoutData{Title: title, Path: r.URL.Path, API: "/api" + apiPath(r.URL.Path), State: s, Page: data}); err != nil {
			h.opts.Log.Error(err, "view page not rendered", "page", name)
			http.Error(w, "the page could not be rendered; the server log says why", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_, _ = w.Write(buf.Bytes())
	}
}

func apiPath(p string) string {
	if p == "/" {
		return "/matrix"
	}
	return p
}

func (h *Handler) api(f func(State, *http.Request) (any, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		data, ok := f(h.opts.Source.Snapshot(), r)
		if !ok {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(data); err != nil {
			h.opts.Log.Error(err, "view JSON not written", "path", r.URL.Path)
		}
	}
}

// Matrix is the fleet page: one row per cluster, one column per App.
type Matrix struct {
	Apps []string    `json:"apps"`
	Rows []MatrixRow `json:"rows"`
}

// MatrixRow is a cluster and its App cells, in the order of Matrix.Apps.
type MatrixRow struct {
	Cluster  string       `json:"cluster"`
	Phase    status.Phase `json:"phase"`
	Health   string       `json:"health"`
	Revision string       `json:"revision,omitempty"`
	Drift    int          `json:"drift"`
	Errors   int          `json:"errors"`
	Cells    []Cell       `json:"cells"`
}

// Cell is one App on one cluster.
type Cell struct {
	App string `json:"app"`
	// Targeted is false when the App does not go to the cluster.
	Targeted bool   `json:"targeted"`
	Health   string `json:"health,omitempty"`
	// Sync is "Synced" (applied at the cluster's revision), "OutOfSync" (a newer
	// revision was tried and not applied), "Failed" (the App's render or apply failed) or
	// "Unknown" (the cluster could not be reached).
	Sync     string `json:"sync,omitempty"`
	Revision string `json:"revision,omitempty"`
	Drift    int    `json:"drift,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Sync states of a cell.
const (
	SyncSynced    = "Synced"
	SyncOutOfSync = "OutOfSync"
	SyncFailed    = "Failed"
	SyncUnknown   = "Unknown"
)

func matrixPage(s State, _ *http.Request) (any, string, bool) {
	return BuildMatrix(s.Clusters), "Fleet", true
}

// BuildMatrix makes the matrix of the clusters' statuses.
func BuildMatrix(clusters []status.Cluster) Matrix {
	m := Matrix{Apps: appNames(clusters), Rows: make([]MatrixRow, 0, len(clusters))}
	col := make(map[string]int, len(m.Apps))
	for i, a := range m.Apps {
		col[a] = i
	}
	for _, c := range clusters {
		row := MatrixRow{Cluster: c.Cluster, Phase: c.Phase, Health: c.Health, Revision: c.Revision, Drift: len(c.Drift), Errors: len(c.Errors), Cells: make([]Cell, len(m.Apps))}
		for i, a := range m.Apps {
			row.Cells[i] = Cell{App: a}
		}
		drift := map[string]int{}
		for _, d := range c.Drift {
			drift[d.App]++
		}
		for _, a := range c.Apps {
			cell := &row.Cells[col[a.Name]]
			cell.Targeted, cell.Health, cell.Revision, cell.Drift, cell.Error = true, a.Health, c.Revision, drift[a.Name], a.Error
			switch {
			case c.Phase == status.Unreachable:
				cell.Sync = SyncUnknown
			case a.Error != "":
				cell.Sync = SyncFailed
			case c.Attempted != "" && c.Attempted != c.Revision:
				cell.Sync = SyncOutOfSync
			default:
				cell.Sync = SyncSynced
			}
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}

// ClusterPage is a cluster's status and what the repository says of it.
type ClusterPage struct {
	status.Cluster
	Info ClusterInfo `json:"info"`
	// Businesses are the businesses with namespaces on the cluster.
	Businesses []string `json:"businesses,omitempty"`
}

func clusterPage(s State, r *http.Request) (any, string, bool) {
	name := r.PathValue("name")
	i := slices.IndexFunc(s.Clusters, func(c status.Cluster) bool { return c.Cluster == name })
	if i < 0 {
		return nil, "", false
	}
	p := ClusterPage{Cluster: s.Clusters[i], Info: s.Fleet.Clusters[name]}
	for _, b := range s.Businesses {
		if slices.ContainsFunc(b.Clusters, func(bc status.BusinessCluster) bool { return bc.Cluster == name }) {
			p.Businesses = append(p.Businesses, b.Business)
		}
	}
	return p, "Cluster " + name, true
}

// BusinessPage is a business's quota use per cluster and its members.
type BusinessPage struct {
	Business string            `json:"business"`
	Info     BusinessInfo      `json:"info"`
	Clusters []BusinessCluster `json:"clusters"`
}

// BusinessCluster is a business's quota on one cluster: the totals over its namespaces
// against the business's quota there, then each namespace.
type BusinessCluster struct {
	Cluster    string          `json:"cluster"`
	Total      []QuotaBar      `json:"total"`
	Namespaces []NamespaceBars `json:"namespaces"`
}

// NamespaceBars is one namespace's quota use.
type NamespaceBars struct {
	Namespace string     `json:"namespace"`
	Bars      []QuotaBar `json:"bars"`
}

func businessPage(s State, r *http.Request) (any, string, bool) {
	name := r.PathValue("name")
	i := slices.IndexFunc(s.Businesses, func(b status.Business) bool { return b.Business == name })
	info, declared := s.Fleet.Businesses[name]
	if i < 0 && !declared {
		return nil, "", false
	}
	p := BusinessPage{Business: name, Info: info}
	if i >= 0 {
		for _, bc := range s.Businesses[i].Clusters {
			p.Clusters = append(p.Clusters, businessCluster(bc, info.Quota[bc.Cluster]))
		}
	}
	return p, "Business " + name, true
}

// DriftPage lists the drift seen since the process started, and the drift the status
// files hold now (which includes drift seen before a restart).
type DriftPage struct {
	Events []DriftEvent   `json:"events"`
	Open   []ClusterDrift `json:"open"`
}

// ClusterDrift is a drift in a cluster's status now.
type ClusterDrift struct {
	Cluster string `json:"cluster"`
	status.Drift
}

func driftPage(s State, _ *http.Request) (any, string, bool) {
	p := DriftPage{Events: nonNil(s.DriftLog), Open: []ClusterDrift{}}
	for _, c := range s.Clusters {
		for _, d := range c.Drift {
			p.Open = append(p.Open, ClusterDrift{Cluster: c.Cluster, Drift: d})
		}
	}
	return p, "Drift", true
}

// RevisionsPage lists the recent revisions and where each stands now.
type RevisionsPage struct {
	Revisions []RevisionRow `json:"revisions"`
	// Rollouts are the Apps that roll out in waves: where each stands, wave by wave.
	Rollouts []RolloutRow `json:"rollouts"`
}

// RolloutRow is one App's rollout and a line per wave.
type RolloutRow struct {
	status.Rollout
	Summary string   `json:"summary"`
	Waves   []string `json:"progress"`
}

// RevisionRow is a revision, what its passes did, and the clusters it is applied on now.
type RevisionRow struct {
	RevisionRecord
	// Current are the clusters whose applied revision this is now.
	Current []string `json:"current"`
}

func revisionsPage(s State, _ *http.Request) (any, string, bool) {
	p := RevisionsPage{Revisions: make([]RevisionRow, 0, len(s.Revisions)), Rollouts: []RolloutRow{}}
	for _, r := range s.Rollouts {
		p.Rollouts = append(p.Rollouts, RolloutRow{Rollout: r, Summary: r.Summary(), Waves: r.Progress()})
	}
	for _, rev := range s.Revisions {
		row := RevisionRow{RevisionRecord: rev, Current: []string{}}
		for _, c := range s.Clusters {
			if c.Revision == rev.Revision {
				row.Current = append(row.Current, c.Cluster)
			}
		}
		p.Revisions = append(p.Revisions, row)
	}
	return p, "Revisions", true
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// CommitURLOf derives the commit link template of an https repository URL, as GitHub,
// GitLab and Gitea lay out their pages (https://host/owner/repo/commit/ID); "" for other
// URLs, whose web pages cannot be guessed. Credentials in the URL are dropped.
func CommitURLOf(repoURL string) string {
	u, err := url.Parse(repoURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return ""
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git") + "/commit/"
	return u.String() + "{rev}"
}
