package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

const (
	// logTailLines is how much of a failing component's log goes into the error.
	logTailLines = 40
	// stopGrace is how long a component gets to exit after SIGTERM before it is killed.
	stopGrace = 5 * time.Second
	// apiserverStopGrace is the grace period of StopAPIServer (see there).
	apiserverStopGrace = time.Second
	// pollInterval is how often readiness is checked; short because startup speed matters.
	pollInterval = 100 * time.Millisecond
)

// errPortInUse marks a start that failed because another process took a port between
// freePorts picking it and the component binding it, so the caller can retry on new ports.
var errPortInUse = errors.New("port already in use")

// process is one running component.
type process struct {
	component string // "etcd", "kube-apiserver", ...
	cluster   string // "" for the shared etcd
	logPath   string
	cmd       *exec.Cmd
	done      chan struct{} // closed once the process has exited and been reaped
	waitErr   error         // result of cmd.Wait, readable after done is closed
}

// startProcess starts bin with its stdout and stderr appended to logPath. The process is not
// tied to any context: it lives until stop (or until the test binary dies, see sysProcAttr),
// because Start's context only bounds the startup, not the life of the environment.
func startProcess(component, cluster, bin string, args []string, dir, logPath string, extraEnv []string) (*process, error) {
	// Append so that a restarted kube-apiserver keeps its earlier log.
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	// The child gets its own copy of the descriptor; ours is not needed after Start.
	defer f.Close()
	fmt.Fprintf(f, "=== harness: %s starting %s %s\n", time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))

	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &process{component: component, cluster: cluster, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// String names the process in errors and logs.
func (p *process) String() string {
	if p.cluster == "" {
		return p.component
	}
	return fmt.Sprintf("cluster %q: %s", p.cluster, p.component)
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL after grace, and waits until the process is reaped.
// Stopping an exited process is a no-op.
func (p *process) stop(grace time.Duration) error {
	if p == nil || p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p, p.cmd.Process.Pid)
	}
}

// fail wraps err with the component's name and the tail of its log, which is read now because
// the log file may be removed with the work directory before anyone looks at the error.
func (p *process) fail(err error) error {
	tail := tailFile(p.logPath, logTailLines)
	return fmt.Errorf("harness: %s: %w\n--- last %d lines of %s ---\n%s", p, err, logTailLines, p.logPath, tail)
}

// waitReady polls check until it succeeds, the process exits, timeout passes or ctx ends.
// A process that exits because a port was taken yields an error wrapping errPortInUse.
func (p *process) waitReady(ctx context.Context, timeout time.Duration, check func(context.Context) error) error {
	begin := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	var last error
	for {
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-p.done:
			if strings.Contains(tailFile(p.logPath, logTailLines), "address already in use") {
				return fmt.Errorf("exited before it was ready (%v): %w", p.waitErr, errPortInUse)
			}
			return fmt.Errorf("exited before it was ready: %v", p.waitErr)
		case <-ctx.Done():
			// Either timeout passed or the caller gave up; the cause says which.
			return fmt.Errorf("not ready after %s (last check: %v): %w", time.Since(begin).Round(time.Millisecond), last, context.Cause(ctx))
		case <-ticker.C:
		}
	}
}

// tailFile returns the last n lines of the file at path, reading at most its last 64 KiB.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	const maxRead = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > maxRead {
		if _, err := f.Seek(-maxRead, io.SeekEnd); err != nil {
			return fmt.Sprintf("(cannot read log: %v)", err)
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// freePorts returns n distinct free loopback ports. All listeners are held until every port is
// picked so that the kernel cannot hand out the same port twice; the remaining race (another
// process binding a port before the component does) is handled by retrying on errPortInUse.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free loopback port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// portAttempts is how often a component is started on new ports after losing a port race.
const portAttempts = 3

// startOnFreePorts starts a component on nports fresh ports and waits for it with ready,
// retrying on new ports when a port was taken in between.
func startOnFreePorts(ctx context.Context, nports int, start func(ports []int) (*process, error), ready func(ctx context.Context, p *process, ports []int) error) (*process, []int, error) {
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(nports)
		if err != nil {
			return nil, nil, err
		}
		p, err := start(ports)
		if err != nil {
			return nil, nil, err
		}
		err = ready(ctx, p, ports)
		if err == nil {
			return p, ports, nil
		}
		failure := p.fail(err)
		_ = p.stop(stopGrace)
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return nil, nil, failure
		}
	}
}
