package gitsource

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// busyPerson pushes commits to main from their own clone as fast as git allows, pulling
// with rebase whenever gitfleet got a status commit in first, as a person would, and
// stops after budget pushes: a person who always wins every race would starve any
// writer that does not force, so the test's length is bounded by the person, not a clock.
type busyPerson struct {
	work   string
	budget int

	mu     sync.Mutex
	pushed []string // each commit that reached the remote, in order
	err    error

	stop, done chan struct{}
}

func startBusyPerson(t *testing.T, r *fleetRepo, budget int) *busyPerson {
	t.Helper()
	p := &busyPerson{work: r.work, budget: budget, stop: make(chan struct{}), done: make(chan struct{})}
	r.commit(t, "busy: start", map[string]string{"apps/busy/app.yaml": "kind: App\nname: busy\nedit: 0\n"})
	go p.run()
	t.Cleanup(p.halt)
	return p
}

func (p *busyPerson) run() {
	defer close(p.done)
	for i := 1; i <= p.budget; i++ {
		select {
		case <-p.stop:
			return
		default:
		}
		if err := p.pushOne(i); err != nil {
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
			return
		}
	}
}

// pushOne commits edit i outside status/ (so a rebase never conflicts) and pushes it,
// rebasing onto whatever won the race until the push goes through.
func (p *busyPerson) pushOne(i int) error {
	file := filepath.Join(p.work, "apps", "busy", "app.yaml")
	if err := os.WriteFile(file, fmt.Appendf(nil, "kind: App\nname: busy\nedit: %d\n", i), 0o644); err != nil {
		return err
	}
	if _, err := gitOut(p.work, "commit", "--quiet", "-am", fmt.Sprintf("busy: edit %d", i)); err != nil {
		return err
	}
	for {
		if _, err := gitOut(p.work, "push", "--quiet", "origin", "HEAD:main"); err == nil {
			break
		}
		if _, err := gitOut(p.work, "pull", "--quiet", "--rebase", "origin", "main"); err != nil {
			return err
		}
	}
	head, err := gitOut(p.work, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.pushed = append(p.pushed, head)
	p.mu.Unlock()
	return nil
}

// gitOut runs git off the test goroutine, where t.Fatal may not be called.
func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command(gitBin, args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// pushes returns how many commits reached the remote so far, or the person's failure.
func (p *busyPerson) pushes() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pushed), p.err
}

// waitPushes waits until n commits reached the remote or the person used up the budget,
// and says whether n were reached.
func (p *busyPerson) waitPushes(t *testing.T, n int) bool {
	t.Helper()
	for {
		got, err := p.pushes()
		if err != nil {
			t.Fatalf("the busy person failed: %v", err)
		}
		if got >= n {
			return true
		}
		select {
		case <-p.done:
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (p *busyPerson) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// recordPushes installs a post-receive hook in the bare repository that logs every
// update of main the server accepted, from anyone, as "old new".
func (r *fleetRepo) recordPushes(t *testing.T) (log string) {
	t.Helper()
	log = filepath.Join(r.root, "pushes.log")
	hook := "#!/bin/sh\ngrep ' refs/heads/main$' >> '" + log + "'\nexit 0\n"
	if err := os.WriteFile(filepath.Join(r.bare, "hooks", "post-receive"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	return log
}

// assertFastForwards fails unless the accepted updates of main form one chain from
// start to end in which each new head descends from the one before: nothing was forced.
// It returns the heads of the chain after start.
func assertFastForwards(t *testing.T, r *fleetRepo, log, start, end string) []string {
	t.Helper()
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	next := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			t.Fatalf("post-receive line %q", sc.Text())
		}
		if other, dup := next[fields[0]]; dup {
			t.Fatalf("main was moved from %s twice, to %s and to %s: a push replaced history", fields[0], other, fields[1])
		}
		next[fields[0]] = fields[1]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var chain []string
	for cur := start; cur != end; {
		n, ok := next[cur]
		if !ok {
			t.Fatalf("no accepted push moved main on from %s (want a chain of pushes from %s to %s)", cur, start, end)
		}
		delete(next, cur)
		assertAncestor(t, r, cur, n)
		chain = append(chain, n)
		cur = n
	}
	if len(next) > 0 {
		t.Fatalf("pushes outside the chain from %s to %s: %v", start, end, next)
	}
	return chain
}

// With a person pushing as fast as they can, the status commit is not given up: gitfleet
// keeps rebasing on top until it lands, and every commit of the person stays.
func TestWriteStatusKeepsRebasingUnderConstantPushes(t *testing.T) {
	r := newFleetRepo(t)
	s := mustNew(t, transports[0].opts(t, r))
	p := startBusyPerson(t, r, 80)
	start := r.head(t, "main")
	log := r.recordPushes(t)

	// The first attempts are made to lose for sure: each waits for two more of the
	// person's pushes, and the second of them started after gitfleet's fetch. The rest
	// race the person freely.
	const lost = 8
	attempts := 0
	s.beforePush = func(attempt int) {
		attempts = attempt
		if attempt <= lost {
			n, _ := p.pushes()
			if !p.waitPushes(t, n+2) {
				t.Fatalf("the busy person stopped before attempt %d could be made to lose", attempt)
			}
		}
	}
	o := DefaultStatusOptions() // no attempt bound by default
	o.Backoff, o.MaxBackoff = 5*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a safety net only
	defer cancel()
	commit, changed, err := s.WriteStatus(ctx, map[string][]byte{"status/clusters/a.yaml": []byte("phase: Applied\n")}, "status: a applied", o)
	if err != nil || !changed {
		t.Fatalf("WriteStatus against a branch that keeps moving: %s, changed %v, %v", commit, changed, err)
	}
	if attempts <= lost {
		t.Fatalf("%d push attempts, want more than %d", attempts, lost)
	}
	// The person goes on pushing on top of the status commit for a while, if the budget
	// allows.
	n, _ := p.pushes()
	p.waitPushes(t, n+3)
	p.halt()
	if _, err := p.pushes(); err != nil {
		t.Fatalf("the busy person failed: %v", err)
	}

	end := r.head(t, "main")
	chain := assertFastForwards(t, r, log, start, end)
	if !contains(chain, commit) {
		t.Fatalf("the status commit %s is not among the accepted pushes %v", commit, chain)
	}
	assertAncestor(t, r, commit, end)
	for _, c := range p.pushed {
		assertAncestor(t, r, c, end)
	}
	assertLinear(t, r, end)
	if got := r.show(t, end, "status/clusters/a.yaml"); got != "phase: Applied" {
		t.Errorf("status/clusters/a.yaml at the end: %q", got)
	}
	if parents := runGit(t, r.bare, "rev-list", "--parents", "-n1", commit); len(strings.Fields(parents)) != 2 {
		t.Errorf("the status commit has parents %q, want exactly one", parents)
	}
	t.Logf("%d push attempts; the person pushed %d commits", attempts, len(p.pushed))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A caller with a newer status stops the old one through Superseded; nothing is pushed.
func TestWriteStatusStopsWhenSuperseded(t *testing.T) {
	r := newFleetRepo(t)
	s := mustNew(t, transports[0].opts(t, r))
	var persons []string
	s.beforePush = func(attempt int) {
		persons = append(persons, r.commit(t, "busy person", map[string]string{"clusters/a.yaml": strings.Repeat("x", attempt) + "\n"}))
	}
	asked := 0
	o := testStatusOptions()
	o.Superseded = func() bool {
		asked++
		return asked > 3
	}
	_, changed, err := s.WriteStatus(context.Background(), map[string][]byte{"status/clusters/a.yaml": []byte("phase: Applied\n")}, "status", o)
	if !errors.Is(err, ErrSuperseded) || changed {
		t.Fatalf("WriteStatus superseded after 3 attempts: changed %v, %v; want ErrSuperseded", changed, err)
	}
	if asked != 4 || len(persons) != 3 {
		t.Fatalf("Superseded asked %d times for %d pushes, want before each attempt: 4 for 3", asked, len(persons))
	}
	if got := r.head(t, "main"); got != persons[2] {
		t.Fatalf("remote head %s, want the person's last commit %s", got, persons[2])
	}
	if mine := runGit(t, r.bare, "log", "--author=gitfleet", "--format=%H", "main"); mine != "" {
		t.Fatalf("a superseded status was committed: %s", mine)
	}

	// Superseded before the first attempt: nothing is pushed at all.
	s.beforePush = func(int) { t.Fatal("a push was attempted for a superseded status") }
	o.Superseded = func() bool { return true }
	if _, _, err := s.WriteStatus(context.Background(), map[string][]byte{"status/clusters/a.yaml": []byte("phase: Applied\n")}, "status", o); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("WriteStatus superseded from the start: %v, want ErrSuperseded", err)
	}
	if got := r.head(t, "main"); got != persons[2] {
		t.Fatalf("remote head %s, want %s", got, persons[2])
	}
}

// Without an attempt bound, the caller's context is what ends a write that cannot land.
func TestWriteStatusEndsWithContext(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel int // attempt whose push runs on a cancelled context; 0: cancelled while waiting
	}{
		{"while pushing", 3},
		{"while waiting", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFleetRepo(t)
			s := mustNew(t, transports[0].opts(t, r))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := testStatusOptions()
			if tc.cancel == 0 {
				o.Backoff = time.Hour // only the cancellation can end the wait
			}
			s.beforePush = func(attempt int) {
				r.commit(t, "busy person", map[string]string{"clusters/a.yaml": strings.Repeat("x", attempt) + "\n"})
				switch {
				case tc.cancel == attempt:
					cancel()
				case tc.cancel == 0:
					go func() {
						time.Sleep(20 * time.Millisecond)
						cancel()
					}()
				}
			}
			_, changed, err := s.WriteStatus(ctx, map[string][]byte{"status/clusters/a.yaml": []byte("phase: Applied\n")}, "status", o)
			if !errors.Is(err, context.Canceled) || changed {
				t.Fatalf("WriteStatus with its context cancelled: changed %v, %v; want context.Canceled", changed, err)
			}
			if mine := runGit(t, r.bare, "log", "--author=gitfleet", "--format=%H", "main"); mine != "" {
				t.Fatalf("status committed after cancellation: %s", mine)
			}
		})
	}
}

func TestBackoffDoublesToItsCapWithJitter(t *testing.T) {
	first, limit := 50*time.Millisecond, 2*time.Second
	for attempt := 1; attempt <= 100; attempt++ {
		want := limit
		if attempt <= 6 {
			want = first << (attempt - 1) // 50ms, 100ms ... 1.6s
		}
		seen := map[time.Duration]bool{}
		for range 50 {
			w := backoff(first, limit, attempt)
			if w < want/2 || w > want {
				t.Fatalf("backoff after attempt %d: %s, want within [%s, %s]", attempt, w, want/2, want)
			}
			seen[w] = true
		}
		if len(seen) < 2 {
			t.Fatalf("backoff after attempt %d is always %v: no jitter", attempt, seen)
		}
	}
}
