package reconciler

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"gitfleet.dev/gitfleet/schema"
)

// LeaderTimings are the leader election's durations. A replica that crashed is replaced
// LeaseDuration after its last renewal (plus up to one RetryPeriod); the leader gives up
// once it has failed to renew for RenewDeadline, and stops writing (LeaderFence) as soon
// as RenewDeadline has passed since its last renewal, LeaseDuration-RenewDeadline before
// any other replica may take the lease.
type LeaderTimings struct {
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// DefaultLeaderTimings hand over within about 3.5 s after a leader crashes, and leave a
// deposed leader 1 s between its last write and the earliest start of the next leader.
func DefaultLeaderTimings() LeaderTimings {
	return LeaderTimings{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 400 * time.Millisecond}
}

// leaderJitter is client-go's factor on the retry period (leaderelection.JitterFactor):
// a retry may come up to 1.2 retry periods after the previous one.
const leaderJitter = 1.2

// InvalidLeaderTimingsError says which leader-election durations contradict each other.
type InvalidLeaderTimingsError struct{ Reason string }

func (e *InvalidLeaderTimingsError) Error() string { return "leader election: " + e.Reason }

// Validate checks that the durations give one leader at a time: the leader must stop
// (renew deadline) before the others may take over (lease duration), and must be able to
// retry a renewal at least once within the renew deadline.
func (t LeaderTimings) Validate() error {
	switch {
	case t.LeaseDuration <= 0 || t.RenewDeadline <= 0 || t.RetryPeriod <= 0:
		return &InvalidLeaderTimingsError{Reason: fmt.Sprintf("lease duration (%s), renew deadline (%s) and retry period (%s) must all be positive", t.LeaseDuration, t.RenewDeadline, t.RetryPeriod)}
	case t.RenewDeadline >= t.LeaseDuration:
		return &InvalidLeaderTimingsError{Reason: fmt.Sprintf("the renew deadline (%s) must be shorter than the lease duration (%s): a leader that cannot renew must stop before another replica may take over", t.RenewDeadline, t.LeaseDuration)}
	case time.Duration(float64(t.RetryPeriod)*leaderJitter) >= t.RenewDeadline:
		return &InvalidLeaderTimingsError{Reason: fmt.Sprintf("the retry period (%s) must be shorter than the renew deadline (%s) divided by %.1f (retries are spread up to %.1f retry periods apart): the leader must be able to retry a failed renewal before it gives up", t.RetryPeriod, t.RenewDeadline, leaderJitter, leaderJitter)}
	}
	return nil
}

// NotLeaderError refuses a write of a replica that cannot be sure it still holds the
// lease: its last successful renewal is older than the renew deadline, or it never
// renewed, or it released the lease.
type NotLeaderError struct {
	// SinceRenewal is the time since the last successful renewal, 0 when there was none.
	SinceRenewal, RenewDeadline time.Duration
}

func (e *NotLeaderError) Error() string {
	if e.SinceRenewal == 0 {
		return "not the leader: this replica does not hold the leader-election lease, so it writes nothing"
	}
	return fmt.Sprintf("not the leader: the lease was last renewed %s ago, longer than the renew deadline %s, so another replica may take over and this one writes nothing", e.SinceRenewal.Round(time.Millisecond), e.RenewDeadline)
}

// LeaderFence stops a replica's writes to member clusters and to the status branch as soon
// as it may have lost the lease, before another replica may have taken it. Renewals are
// recorded by the resource lock it wraps (Lock); the time of a renewal is taken before its
// request is sent, so it is never later than the time other replicas measure the lease's
// expiry from.
type LeaderFence struct {
	renewDeadline time.Duration
	now           func() time.Time

	mu        sync.Mutex
	renewedAt time.Time // zero: not the leader
}

// NewLeaderFence makes a fence that lets writes through for renewDeadline after each
// successful renewal of the lease.
func NewLeaderFence(renewDeadline time.Duration) *LeaderFence {
	return &LeaderFence{renewDeadline: renewDeadline, now: time.Now}
}

// Check returns nil while the last renewal is younger than the renew deadline, and a
// *NotLeaderError otherwise.
func (f *LeaderFence) Check() error {
	f.mu.Lock()
	at := f.renewedAt
	f.mu.Unlock()
	if at.IsZero() {
		return &NotLeaderError{RenewDeadline: f.renewDeadline}
	}
	if since := f.now().Sub(at); since >= f.renewDeadline {
		return &NotLeaderError{SinceRenewal: since, RenewDeadline: f.renewDeadline}
	}
	return nil
}

func (f *LeaderFence) record(start time.Time, held bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if held {
		f.renewedAt = start
	} else {
		f.renewedAt = time.Time{}
	}
}

// Lock wraps the leader election's resource lock: each successful Create or Update that
// names this replica as the holder is a renewal; one that names no one (the lease released
// on shutdown) or another replica closes the fence at once.
func (f *LeaderFence) Lock(inner resourcelock.Interface) resourcelock.Interface {
	return &fencedLock{Interface: inner, fence: f}
}

type fencedLock struct {
	resourcelock.Interface
	fence *LeaderFence
}

func (l *fencedLock) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	start := l.fence.now()
	err := l.Interface.Create(ctx, ler)
	if err == nil {
		l.fence.record(start, ler.HolderIdentity == l.Identity())
	}
	return err
}

func (l *fencedLock) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	start := l.fence.now()
	err := l.Interface.Update(ctx, ler)
	if err == nil {
		l.fence.record(start, ler.HolderIdentity == l.Identity())
	}
	return err
}

// Connector fences every request sent to member clusters through the REST configs it
// returns: a request is refused before it is sent once the fence is closed. Watches
// already open stay open (they only read); re-opening one is refused too.
func (f *LeaderFence) Connector(inner Connector) Connector {
	return fencedConnector{inner: inner, fence: f}
}

type fencedConnector struct {
	inner Connector
	fence *LeaderFence
}

func (c fencedConnector) RESTConfig(cl *schema.Cluster) (*rest.Config, error) {
	cfg, err := c.inner.RESTConfig(cl)
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg) // the inner connector may hand out a shared config
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return fencedTransport{inner: rt, fence: c.fence}
	})
	return cfg, nil
}

type fencedTransport struct {
	inner http.RoundTripper
	fence *LeaderFence
}

func (t fencedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.fence.Check(); err != nil {
		if r.Body != nil {
			_ = r.Body.Close() // RoundTrip must close the body, even on error
		}
		return nil, fmt.Errorf("%s %s refused: %w", r.Method, r.URL.Host, err)
	}
	return t.inner.RoundTrip(r)
}

// WrappedRoundTripper lets client-go find the transport under the fence (it looks for
// it to cancel requests and to close idle connections).
func (t fencedTransport) WrappedRoundTripper() http.RoundTripper { return t.inner }

// Status fences the status commits: none is started once the fence is closed.
func (f *LeaderFence) Status(inner StatusWriter) StatusWriter {
	if inner == nil {
		return nil
	}
	return fencedStatus{inner: inner, fence: f}
}

type fencedStatus struct {
	inner StatusWriter
	fence *LeaderFence
}

// WriteStatus refuses to start once the fence is closed, and a write that is retrying
// after a rejected push gives up at its next retry when the fence closes meanwhile.
func (s fencedStatus) WriteStatus(ctx context.Context, files map[string][]byte, message, branch string, superseded func() bool) (string, bool, error) {
	if err := s.fence.Check(); err != nil {
		return "", false, fmt.Errorf("status commit refused: %w", err)
	}
	stop := func() bool { return s.fence.Check() != nil || (superseded != nil && superseded()) }
	return s.inner.WriteStatus(ctx, files, message, branch, stop)
}
