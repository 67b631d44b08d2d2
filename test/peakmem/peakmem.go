// Package peakmem measures the peak memory of benchmark runs: this process's Go heap and
// RSS, and the RSS of the programs it starts (the baselines), sampled while they run.
//
// RSS is read from Linux's /proc where it is there; elsewhere the RSS figures are missing
// (ok false, zero) and the heap figure still works. Children's rusage (ru_maxrss) cannot
// be used instead: Go starts them with vfork semantics (CLONE_VM), and Linux carries the
// parent's peak RSS into the child's maxrss at exec, so every child would report at least
// the benchmark process's peak.
package peakmem

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ResetPeakRSS makes the kernel start this process's peak RSS (VmHWM) afresh; false where
// it cannot, and PeakRSS then means the whole life of the process.
func ResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// PeakRSS is this process's peak RSS since it started or ResetPeakRSS, in bytes.
func PeakRSS() (int64, bool) {
	v, ok := procMemory("self")["VmHWM"]
	return v, ok
}

// RSS is this process's resident memory now, in bytes.
func RSS() (int64, bool) {
	v, ok := procMemory("self")["VmRSS"]
	return v, ok
}

// HeapObjects is the Go heap in use by objects (live and not yet swept), in bytes.
func HeapObjects() int64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return int64(sample[0].Value.Uint64())
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

// Sampler records the largest value read every interval until stopped.
type Sampler struct {
	max  atomic.Int64
	stop chan struct{}
	done chan struct{}
}

// Start reads now and then every interval.
func Start(every time.Duration, read func() int64) *Sampler {
	s := &Sampler{stop: make(chan struct{}), done: make(chan struct{})}
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
func (s *Sampler) Stop() int64 {
	close(s.stop)
	<-s.done
	return s.max.Load()
}

// Children tracks the programs running at once and samples their memory from /proc:
// each one's peak (VmHWM) and all of them together (VmRSS added up). The zero value is
// ready to use.
type Children struct {
	pids sync.Map // pid -> *atomic.Int64, its largest VmHWM seen
	peak atomic.Int64
}

// Add starts tracking a started program.
func (c *Children) Add(pid int) { c.pids.Store(strconv.Itoa(pid), new(atomic.Int64)) }

// Remove stops tracking a program that ended.
func (c *Children) Remove(pid int) { c.pids.Delete(strconv.Itoa(pid)) }

// Peak is the largest peak RSS any one program reached while sampled, in bytes.
func (c *Children) Peak() int64 { return c.peak.Load() }

// Sample reads every running program's memory, records each one's peak and returns their
// current RSS added up: a Sampler's read function.
func (c *Children) Sample() int64 {
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
