package reconciler

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// statusUpdate is one status commit to make.
type statusUpdate struct {
	files           map[string][]byte
	message, branch string
}

// statusQueue writes status commits in the background, the latest first: a commit that
// cannot be pushed (the remote is down, or people push faster than gitfleet can rebase) is
// retried with a growing wait until it is written or a newer status supersedes it, and the
// loop goes on applying meanwhile. Nothing is ever force-pushed: the writer rebases onto
// whatever the branch has.
type statusQueue struct {
	writer StatusWriter
	log    logr.Logger
	// maxWait caps the wait between retries.
	maxWait time.Duration

	mu      sync.Mutex
	pending *statusUpdate
	wake    chan struct{}
	// writing serialises writes between the background worker and flush.
	writing sync.Mutex
}

func newStatusQueue(w StatusWriter, log logr.Logger) *statusQueue {
	return &statusQueue{writer: w, log: log, maxWait: 30 * time.Second, wake: make(chan struct{}, 1)}
}

// put queues u; one not written yet is superseded.
func (q *statusQueue) put(u statusUpdate) {
	q.mu.Lock()
	q.pending = supersede(q.pending, &u)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take removes the pending update.
func (q *statusQueue) take() *statusUpdate {
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.pending
	q.pending = nil
	return u
}

// giveBack puts a failed update back unless a newer one came meanwhile; it reports
// whether one did.
func (q *statusQueue) giveBack(u *statusUpdate) (superseded bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	superseded = q.pending != nil
	q.pending = supersede(u, q.pending)
	return superseded
}

// superseded reports whether a newer update waits: the write in progress can stop.
func (q *statusQueue) superseded() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending != nil
}

// supersede is newer in place of old, keeping the files old deletes that newer does not
// name: a cluster that left the fleet stays deleted.
func supersede(old, newer *statusUpdate) *statusUpdate {
	switch {
	case newer == nil:
		return old
	case old == nil || old.branch != newer.branch:
		return newer
	}
	files := maps.Clone(newer.files)
	for path, content := range old.files {
		if _, named := files[path]; !named && content == nil {
			files[path] = nil
		}
	}
	return &statusUpdate{files: files, message: newer.message, branch: newer.branch}
}

// run writes queued updates until ctx ends.
func (q *statusQueue) run(ctx context.Context) {
	first := min(time.Second, q.maxWait)
	wait := first
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		for ctx.Err() == nil {
			err := q.writeNext(ctx)
			if err == nil {
				wait = first
				break
			}
			if ctx.Err() != nil {
				return
			}
			q.log.Error(err, "status commit not written; retrying, or writing a newer status instead", "retryIn", wait.String())
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			case <-q.wake: // a newer status: write it at once
			}
			wait = min(2*wait, q.maxWait)
		}
	}
}

// flush writes the pending update now, for a single reconcile (serve --once, tests).
func (q *statusQueue) flush(ctx context.Context) error {
	if q == nil {
		return nil // status commits are off.
	}
	for {
		if err := q.writeNext(ctx); err != nil {
			return err
		}
		if !q.superseded() {
			return nil
		}
	}
}

func (q *statusQueue) writeNext(ctx context.Context) error {
	q.writing.Lock()
	defer q.writing.Unlock()
	u := q.take()
	if u == nil {
		return nil
	}
	commit, changed, err := q.writer.WriteStatus(ctx, u.files, u.message, u.branch, q.superseded)
	if err != nil {
		if q.giveBack(u) {
			return nil // a newer status is written next instead.
		}
		return err
	}
	if changed {
		q.log.Info("status committed", "commit", commit)
	}
	return nil
}
