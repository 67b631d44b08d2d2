package view

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/reconciler/status"
)

// fixedSource is a Source whose state a test sets.
type fixedSource struct {
	mu      sync.Mutex
	state   State
	changed chan struct{}
}

var _ Source = (*fixedSource)(nil)

func newFixedSource(s State) *fixedSource {
	return &fixedSource{state: s, changed: make(chan struct{})}
}

func (f *fixedSource) Snapshot() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fixedSource) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

func (f *fixedSource) set(s State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state = s
	close(f.changed)
	f.changed = make(chan struct{})
}

const rev1 = "3f2a1c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7"

func sampleState() State {
	return State{
		Leading: true, Revision: rev1, Head: rev1, Updated: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC),
		Clusters: []status.Cluster{
			{Cluster: "alpha", Revision: rev1, Phase: status.Degraded, Health: "Failed", Objects: 3,
				Apps:   []status.App{{Name: "web", Objects: 2, Health: "Healthy"}, {Name: "broken", Health: "Failed", Error: "render: no kustomization.yaml in apps/broken"}},
				Drift:  []status.Drift{{App: "web", Object: "ConfigMap/web/web", Change: "modified", Action: "reported", By: "kubectl-edit"}},
				Errors: []string{"app broken: render: no kustomization.yaml in apps/broken"}},
			{Cluster: "beta", Revision: rev1, Phase: status.Synced, Health: "Healthy", Objects: 2,
				Apps: []status.App{{Name: "web", Objects: 2, Health: "Healthy"}}},
		},
		Businesses: []status.Business{{Business: "pay", Clusters: []status.BusinessCluster{{Cluster: "alpha", Namespaces: []status.NamespaceQuota{
			{Namespace: "pay-dev", Hard: map[string]string{"requests.cpu": "4", "requests.memory": "8Gi"}, Used: map[string]string{"requests.cpu": "1", "requests.memory": "2Gi"}},
			{Namespace: "pay-test", Hard: map[string]string{"requests.cpu": "2"}, Used: map[string]string{"requests.cpu": "3"}},
		}}}}},
		Fleet: Fleet{
			Clusters:   map[string]ClusterInfo{"alpha": {Version: "1.37.2", Addons: []Addon{{Name: "tapp", Type: "TApp"}}}},
			Businesses: map[string]BusinessInfo{"pay": {Members: []Member{{User: "erin", Role: "admin"}}, Quota: map[string]map[string]string{"alpha": {"requests.cpu": "10"}}}},
		},
		Revisions: []RevisionRecord{{Revision: rev1, Outcome: "partly applied", Clusters: []RevisionCluster{{Cluster: "alpha", Created: 3, Phase: "Degraded", Errors: 1}}}},
		Rollouts: []status.Rollout{{App: "web", Revision: rev1, Phase: status.RolloutHalted,
			Waves:  []status.RolloutWave{{Name: "canary", Clusters: []status.RolloutCluster{{Cluster: "alpha", Revision: rev1}}}, {Name: "rest", Clusters: []status.RolloutCluster{{Cluster: "beta"}}}},
			Halted: &status.RolloutHalt{Wave: "canary", Cluster: "alpha", Reason: "Progressing: not healthy within the health timeout"}}},
	}
}

func newTestServer(t *testing.T, src Source, mutate ...func(*Options)) *httptest.Server {
	t.Helper()
	opts := DefaultOptions()
	opts.Source, opts.CommitURL = src, "https://git.example.com/platform/fleet/commit/{rev}"
	for _, m := range mutate {
		m(&opts)
	}
	h, err := NewHandler(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestViewPages(t *testing.T) {
	srv := newTestServer(t, newFixedSource(sampleState()))
	for _, tc := range []struct {
		path string
		code int
		want []string
	}{
		{"/", 200, []string{`<a href="/clusters/alpha">alpha</a>`, "Degraded", `href="https://git.example.com/platform/fleet/commit/` + rev1 + `"`, ">3f2a1c9<", "⚑ 1 drifted", "Failed", "Synced", `aria-label="not targeted"`, `<a href="/businesses/pay">pay</a>`}},
		{"/clusters/alpha", 200, []string{"1.37.2", "tapp", "TApp", "no kustomization.yaml", "kubectl-edit", "alert only (left as it is)", `<a href="/businesses/pay">pay</a>`}},
		{"/businesses/pay", 200, []string{"user erin: admin", `aria-label="requests.cpu: 4 of 10 used"`, "1 of 4 used (25%)", "3 of 2 used (100%, over the limit)", "Namespace pay-dev"}},
		{"/drift", 200, []string{"ConfigMap/web/web", "kubectl-edit"}},
		{"/revisions", 200, []string{"partly applied", "Applied now on: alpha, beta.", "rollout of web 3f2a1c9 halted at wave canary (alpha: Progressing: not healthy within the health timeout)", "<li>wave 1 canary: 1/1 updated [alpha] (halted here)</li>", "<li>wave 2 rest: 0/1 updated [beta]</li>", "Halted at wave canary on alpha"}},
		{"/clusters/nope", 404, []string{"no such cluster"}},
		{"/assets/style.css", 200, []string{"--fg"}},
		{"/assets/live.js", 200, []string{"EventSource"}},
		{"/assets/layout.html", 404, nil},
	} {
		code, body := get(t, srv.URL+tc.path)
		if code != tc.code {
			t.Errorf("GET %s: %d, want %d", tc.path, code, tc.code)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q in\n%s", tc.path, w, body)
			}
		}
	}
}

func TestViewAPI(t *testing.T) {
	s := sampleState()
	srv := newTestServer(t, newFixedSource(s))
	_, body := get(t, srv.URL+"/api/status")
	var doc status.Document
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(status.Document{Clusters: s.Clusters, Businesses: s.Businesses, Rollouts: s.Rollouts}, doc); diff != "" {
		t.Errorf("/api/status (-want +got):\n%s", diff)
	}
	_, body = get(t, srv.URL+"/api/matrix")
	var m Matrix
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	want := Matrix{Apps: []string{"broken", "web"}, Rows: []MatrixRow{
		{Cluster: "alpha", Phase: status.Degraded, Health: "Failed", Revision: rev1, Drift: 1, Errors: 1, Cells: []Cell{
			{App: "broken", Targeted: true, Health: "Failed", Sync: SyncFailed, Revision: rev1, Error: "render: no kustomization.yaml in apps/broken"},
			{App: "web", Targeted: true, Health: "Healthy", Sync: SyncSynced, Revision: rev1, Drift: 1}}},
		{Cluster: "beta", Phase: status.Synced, Health: "Healthy", Revision: rev1, Cells: []Cell{
			{App: "broken"}, {App: "web", Targeted: true, Health: "Healthy", Sync: SyncSynced, Revision: rev1}}},
	}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("/api/matrix (-want +got):\n%s", diff)
	}
	for _, p := range []string{"/api/fleet", "/api/clusters/alpha", "/api/businesses/pay", "/api/drift", "/api/revisions"} {
		code, body := get(t, srv.URL+p)
		if code != 200 || !json.Valid([]byte(body)) {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	if code, _ := get(t, srv.URL+"/api/businesses/nope"); code != 404 {
		t.Errorf("GET /api/businesses/nope: %d, want 404", code)
	}
}

func TestViewNotLeader(t *testing.T) {
	srv := newTestServer(t, newFixedSource(State{}))
	_, body := get(t, srv.URL+"/")
	if !strings.Contains(body, "This replica is not the leader") || !strings.Contains(body, "No cluster has been reconciled yet") {
		t.Errorf("a follower's page does not say why it is empty:\n%s", body)
	}
}

func TestViewEvents(t *testing.T) {
	src := newFixedSource(sampleState())
	srv := newTestServer(t, src, func(o *Options) { o.MinUpdateInterval = 0 })
	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	lines := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				lines <- string(buf[:n])
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	read := func(want string) {
		t.Helper()
		var got strings.Builder
		deadline := time.After(5 * time.Second)
		for !strings.Contains(got.String(), want) {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stream ended before %q; got %q", want, got.String())
				}
				got.WriteString(l)
			case <-deadline:
				t.Fatalf("no %q within 5s; got %q", want, got.String())
			}
		}
	}
	read(": connected")
	s := sampleState()
	s.Revision = "abcdef0123456789"
	src.set(s)
	read("event: change\ndata: abcdef0123456789\n\n")
}

func TestCommitURLOf(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/example/fleet.git":        "https://github.com/example/fleet/commit/{rev}",
		"https://user:secret@git.example.com/p/fleet": "https://git.example.com/p/fleet/commit/{rev}",
		"ssh://git@git.example.com/p/fleet.git":       "",
		"file:///srv/fleet.git":                       "",
		"https://git.example.com/":                    "",
	} {
		if got := CommitURLOf(in); got != want {
			t.Errorf("CommitURLOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// generatedFleet is a fleet of n clusters with apps Apps each, some degraded and drifted,
// as a large installation would show.
func generatedFleet(clusters, apps int) State {
	s := State{Leading: true, Revision: rev1, Head: rev1, Updated: time.Now()}
	for c := range clusters {
		cs := status.Cluster{Cluster: fmt.Sprintf("cluster-%03d", c), Revision: rev1, Phase: status.Synced, Health: "Healthy"}
		for a := range apps {
			app := status.App{Name: fmt.Sprintf("app-%02d", a), Objects: 12, Health: "Healthy"}
			if (c+a)%17 == 0 {
				app.Health, app.Error = "Failed", "apply: the server rejected ConfigMap/x/y"
				cs.Phase = status.Degraded
			}
			if (c*a)%23 == 1 {
				cs.Drift = append(cs.Drift, status.Drift{App: app.Name, Object: "ConfigMap/x/" + app.Name, Change: "modified", Action: "corrected", By: "kubectl"})
			}
			cs.Apps = append(cs.Apps, app)
			cs.Objects += app.Objects
		}
		s.Clusters = append(s.Clusters, cs)
	}
	return s
}

// BenchmarkViewMatrix renders the fleet page of 100 clusters x 20 apps, as the server does
// for each request (state to matrix to HTML); the goal is well under 200 ms an op.
func BenchmarkViewMatrix(b *testing.B) {
	opts := DefaultOptions()
	opts.Source, opts.CommitURL = newFixedSource(generatedFleet(100, 20)), "https://git.example.com/platform/fleet/commit/{rev}"
	h, err := NewHandler(opts)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
		b.SetBytes(int64(w.Body.Len()))
	}
}
