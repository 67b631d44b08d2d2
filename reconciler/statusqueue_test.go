package reconciler

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// flakyWriter fails its first writes, as a push that keeps losing races does.
type flakyWriter struct {
	mu      sync.Mutex
	failing int
	written []statusUpdate
	tries   int
}

func (w *flakyWriter) WriteStatus(_ context.Context, files map[string][]byte, message, branch string, _ func() bool) (string, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tries++
	if w.failing > 0 {
		w.failing--
		return "", false, errors.New("push rejected: the branch moved")
	}
	w.written = append(w.written, statusUpdate{files: files, message: message, branch: branch})
	return "c0ffee", true, nil
}

func (w *flakyWriter) snapshot() (int, []statusUpdate) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tries, append([]statusUpdate(nil), w.written...)
}

func TestStatusQueueRetriesUntilWritten(t *testing.T) {
	w := &flakyWriter{failing: 8}
	q := newStatusQueue(w, logr.Discard())
	q.maxWait = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go q.run(ctx)
	q.put(statusUpdate{files: map[string][]byte{"status/a.yaml": []byte("1")}, message: "status 1"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		tries, written := w.snapshot()
		if len(written) == 1 {
			if tries != 9 || written[0].message != "status 1" {
				t.Errorf("%d tries, wrote %q; want 9 tries (8 rejected) and status 1", tries, written[0].message)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status not written after %d tries: a status commit was given up", tries)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStatusQueueLatestWins(t *testing.T) {
	w := &flakyWriter{failing: 1}
	q := newStatusQueue(w, logr.Discard())
	q.put(statusUpdate{files: map[string][]byte{"status/clusters/gone.yaml": nil, "status/a.yaml": []byte("1")}, message: "status 1"})
	if err := q.flush(t.Context()); err == nil {
		t.Fatal("the first write was to fail")
	}
	// A newer status arrives before the retry: it is written instead, and the deletion of
	// the cluster that left the fleet is kept.
	q.put(statusUpdate{files: map[string][]byte{"status/a.yaml": []byte("2")}, message: "status 2"})
	if err := q.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, written := w.snapshot()
	if len(written) != 1 || written[0].message != "status 2" || string(written[0].files["status/a.yaml"]) != "2" {
		t.Fatalf("written %+v, want only status 2", written)
	}
	if content, named := written[0].files["status/clusters/gone.yaml"]; !named || content != nil {
		t.Errorf("the superseded status's deletion was lost: %q, %v", content, named)
	}
	if err := q.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, again := w.snapshot(); len(again) != 1 {
		t.Errorf("%d writes; the superseded status was written after the newer one", len(again))
	}
}
