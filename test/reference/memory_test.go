package reference

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Peak memory is measured from Linux's /proc where it is there; elsewhere the RSS metrics
// are left out (the heap metric and the children's rusage still work).

// resetPeakRSS makes the kernel start this process's peak RSS (VmHWM) afresh.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// procStatus reads one "Name:   N kB" field of /proc/PID/status, in bytes.
func procStatus(pid, field string) (int64, bool) {
	v := procMemory(pid)
	b, ok := v[field]
	return b, ok
}

// procMemory reads the "Vm...: N kB" fields of /proc/PID/status, in bytes, in one read.
func procMemory(pid string) map[string]int64 {
	data, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return nil
	}
	out := map[string]int64{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		name, rest, ok := strings.Cut(s.Text(), ":")
		if !ok || !strings.HasPrefix(name, "Vm") {
			continue
		}
		if kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64); err == nil {
			out[name] = kb * 1024
		}
	}
	return out
}

// sampler records the largest value read every interval until stopped.
type sampler struct {
	max  atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func startSampler(every time.Duration, read func() int64) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if v := read(); v > s.max.Load() {
				s.max.Store(v)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the largest value seen.
func (s *sampler) Stop() int64 {
	close(s.stop)
	<-s.done
	return s.max.Load()
}

// heapObjects is the Go heap in use by objects (live and not yet swept), in bytes.
func heapObjects() int64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return int64(sample[0].Value.Uint64())
}

// children tracks the reference processes running at once and samples their memory from
// /proc: each one's peak (VmHWM) and all of them together (VmRSS added up).
//
// The children's rusage (ProcessState.SysUsage, ru_maxrss) cannot be used: Go starts them
// with vfork semantics (CLONE_VM), and Linux carries the parent's peak RSS into the child's
// maxrss at exec, so every child would report at least this test process's peak.
type children struct {
	pids sync.Map // pid -> *atomic.Int64, its largest VmHWM seen
	peak atomic.Int64
}

// sample reads every running child's memory, records each one's peak and returns their
// current RSS added up.
func (c *children) sample() int64 {
	var sum int64
	c.pids.Range(func(pid, peak any) bool {
		m := procMemory(pid.(string))
		sum += m["VmRSS"]
		if v, ok := m["VmHWM"]; ok {
			p := peak.(*atomic.Int64)
			if v > p.Load() {
				p.Store(v)
			}
			if v > c.peak.Load() {
				c.peak.Store(v)
			}
		}
		return true
	})
	return sum
}

// runMeasured runs a reference binary like tools.run while c samples it.
func (t *tools) runMeasured(ctx context.Context, c *children, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = t.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	c.pids.Store(pid, new(atomic.Int64))
	err := cmd.Wait()
	c.pids.Delete(pid)
	if err != nil {
		return nil, &toolError{cmd: filepath.Base(bin) + " " + strings.Join(args, " "), err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return stdout.Bytes(), nil
}
