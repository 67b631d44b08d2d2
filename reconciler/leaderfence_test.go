package reconciler

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"gitfleet.dev/gitfleet/schema"
)

func TestLeaderTimingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timings LeaderTimings
		want    string // "" for valid
	}{
		{"defaults", DefaultLeaderTimings(), ""},
		{"controller-runtime's defaults", LeaderTimings{15 * time.Second, 10 * time.Second, 2 * time.Second}, ""},
		{"renew deadline equal to the lease", LeaderTimings{3 * time.Second, 3 * time.Second, 400 * time.Millisecond}, "renew deadline (3s) must be shorter than the lease duration (3s)"},
		{"renew deadline past the lease", LeaderTimings{2 * time.Second, 3 * time.Second, 400 * time.Millisecond}, "renew deadline (3s) must be shorter than the lease duration (2s)"},
		{"retry period past the renew deadline", LeaderTimings{3 * time.Second, 2 * time.Second, 2 * time.Second}, "retry period (2s) must be shorter than the renew deadline (2s)"},
		{"retry period within the jitter of the renew deadline", LeaderTimings{3 * time.Second, 2 * time.Second, 1700 * time.Millisecond}, "retry period (1.7s) must be shorter than the renew deadline (2s) divided by 1.2"},
		{"zero retry period", LeaderTimings{3 * time.Second, 2 * time.Second, 0}, "must all be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.timings.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want valid", err)
				}
				return
			}
			var invalid *InvalidLeaderTimingsError
			if !errors.As(err, &invalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want an InvalidLeaderTimingsError saying %q", err, tc.want)
			}
		})
	}
}

// memoryLock is a resource lock held in memory: what the fence sees of the leader
// election is only which Create and Update calls succeeded, and for whom.
type memoryLock struct {
	fail error
	rec  resourcelock.LeaderElectionRecord
}

func (l *memoryLock) Get(context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	return &l.rec, nil, nil
}
func (l *memoryLock) Create(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	return l.Update(context.Background(), r)
}
func (l *memoryLock) Update(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	if l.fail != nil {
		return l.fail
	}
	l.rec = r
	return nil
}
func (l *memoryLock) RecordEvent(string) {}
func (l *memoryLock) Identity() string   { return "me" }
func (l *memoryLock) Describe() string   { return "memory" }

type staticConnector struct{ host string }

func (c staticConnector) RESTConfig(*schema.Cluster) (*rest.Config, error) {
	return &rest.Config{Host: c.host}, nil
}

type countingStatus struct{ n int }

func (s *countingStatus) WriteStatus(context.Context, map[string][]byte, string, string, func() bool) (string, bool, error) {
	s.n++
	return "", true, nil
}

// TestLeaderFence: requests to a member cluster and status commits pass while the last
// renewal is younger than the renew deadline and are refused, before they are sent, once
// it is older, before the first renewal and after the lease is released.
func TestLeaderFence(t *testing.T) {
	var served atomic.Int64
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { served.Add(1) }))
	t.Cleanup(member.Close)

	now := time.Unix(1000, 0)
	fence := NewLeaderFence(2 * time.Second)
	fence.now = func() time.Time { return now }
	lock := &memoryLock{}
	fenced := fence.Lock(lock)
	status := &countingStatus{}
	writeStatus := fence.Status(status)
	cfg, err := fence.Connector(staticConnector{member.URL}).RESTConfig(&schema.Cluster{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	write := func() (sent bool, err error) {
		before := served.Load()
		resp, err := client.Post(member.URL+"/api/v1/namespaces/x/configmaps", "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
		}
		if _, _, serr := writeStatus.WriteStatus(t.Context(), nil, "status", "main", nil); (serr == nil) != (err == nil) {
			t.Fatalf("the member cluster's request gave %v but the status commit %v", err, serr)
		}
		return served.Load() > before, err
	}
	expectRefused := func(when string) {
		t.Helper()
		sent, err := write()
		var nl *NotLeaderError
		if sent || !errors.As(err, &nl) {
			t.Fatalf("%s: request sent %v, error %v; want it refused with a NotLeaderError before it is sent", when, sent, err)
		}
	}

	expectRefused("before the lease is acquired")

	if err := fenced.Create(t.Context(), resourcelock.LeaderElectionRecord{HolderIdentity: "me"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(1900 * time.Millisecond)
	if sent, err := write(); !sent || err != nil {
		t.Fatalf("1.9s after acquiring (renew deadline 2s): sent %v, %v; want the request through", sent, err)
	}

	// A renewal fails (the API server refuses it): the fence keeps the last success.
	lock.fail = errors.New("the API server refused the renewal")
	if err := fenced.Update(t.Context(), resourcelock.LeaderElectionRecord{HolderIdentity: "me"}); err == nil {
		t.Fatal("the failing renewal succeeded")
	}
	now = now.Add(100 * time.Millisecond)
	expectRefused("2s after the last successful renewal")
	if status.n != 1 {
		t.Errorf("%d status commits reached the writer, want the 1 made in time", status.n)
	}

	lock.fail = nil
	if err := fenced.Update(t.Context(), resourcelock.LeaderElectionRecord{HolderIdentity: "me"}); err != nil {
		t.Fatal(err)
	}
	if sent, err := write(); !sent || err != nil {
		t.Fatalf("right after a renewal: sent %v, %v; want the request through", sent, err)
	}

	// Shutdown releases the lease (an Update naming no holder): writes stop at once.
	if err := fenced.Update(t.Context(), resourcelock.LeaderElectionRecord{HolderIdentity: ""}); err != nil {
		t.Fatal(err)
	}
	expectRefused("after the lease was released")
}
