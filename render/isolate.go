package render

import (
	"bufio"
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitfleet.dev/gitfleet/schema"
)

// Isolation runs each Helm template in a child process that can be stopped: Helm's engine
// takes no context and no memory budget, and one template loop (`range until 100000000`)
// allocates gigabytes in a millisecond. A goroutine cannot be killed; a process can, and
// the kernel gives all its memory back. One process per distinct render is affordable
// because renders are cached per input (see Cache).
type Isolation struct {
	// Command starts a process that serves one render (RunHelmChild) on stdin and stdout:
	// gitfleet itself with HelmChildArg, found with os.Executable.
	Command []string
	// MaxMemory is the most resident memory the child may use; it is killed beyond it.
	MaxMemory int64
}

// HelmChildArg is the hidden first argument with which gitfleet serves one Helm render.
const HelmChildArg = "__render-helm"

// FlagMaxMemory raises Isolation.MaxMemory.
const FlagMaxMemory = "--max-render-memory"

// helmRequest is one Helm render as the child receives it. It travels as gob, not JSON:
// JSON would turn the values' integers into floats, which templates print differently.
type helmRequest struct {
	Files       []*loader.BufferedFile
	Release     string
	Namespace   string
	Values      map[string]any
	Version     string
	APIVersions []string
	Limits      Limits
	MaxMemory   int64
}

func init() {
	// The types values hold below map[string]any, which gob must know by name.
	gob.Register(map[string]any{})
	gob.Register([]any{})
	gob.Register(time.Time{})
}

// helmReply is what the child answers: the objects, or why not.
type helmReply struct {
	Objects []json.RawMessage
	Err     string
}

// rssPoll is how often the parent reads the child's resident memory: often enough that a
// loop allocating a gigabyte a second overshoots by tens of megabytes at most.
const rssPoll = 10 * time.Millisecond

// helmIsolated renders a chart in a child process, killed past the timeout or MaxMemory.
func (iso *Isolation) helmIsolated(ctx context.Context, files []*loader.BufferedFile, release, namespace string, values map[string]any, c *schema.Cluster, limits Limits) ([]*unstructured.Unstructured, error) {
	var req bytes.Buffer
	err := gob.NewEncoder(&req).Encode(helmRequest{Files: files, Release: release, Namespace: namespace, Values: values,
		Version: c.Spec.Version, APIVersions: c.Spec.APIVersions, Limits: limits, MaxMemory: iso.MaxMemory})
	if err != nil {
		return nil, fmt.Errorf("helm template: sending the values to the render process: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, limits.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, iso.Command[0], iso.Command[1:]...)
	cmd.Stdin = &req
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("helm template: starting the render process: %w", err)
	}
	var overMemory atomic.Bool
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(rssPoll)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if rss, ok := residentBytes(cmd.Process.Pid); ok && iso.MaxMemory > 0 && rss > iso.MaxMemory {
					overMemory.Store(true)
					_ = cmd.Process.Kill()
					return
				}
			}
		}
	}()
	err = cmd.Wait()
	close(stop)
	switch {
	case overMemory.Load():
		return nil, fmt.Errorf("helm template: %w", &LimitError{Bound: "bytes of memory for one render (the render was stopped)", Limit: iso.MaxMemory, Flag: FlagMaxMemory})
	case ctx.Err() != nil:
		return nil, fmt.Errorf("helm template: %w after %s (raise the limit with %s)", ErrTimeout, limits.Timeout, FlagTimeout)
	case err != nil && stdout.Len() == 0:
		return nil, fmt.Errorf("helm template: the render process failed: %w: %s", err, strings.TrimSpace(lastLine(stderr.String())))
	}
	var reply helmReply
	if err := json.Unmarshal(stdout.Bytes(), &reply); err != nil {
		return nil, fmt.Errorf("helm template: reading the render process's answer: %w", err)
	}
	if reply.Err != "" {
		return nil, errors.New(reply.Err)
	}
	objs := make([]*unstructured.Unstructured, 0, len(reply.Objects))
	for _, raw := range reply.Objects {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("helm template: reading the render process's answer: %w", err)
		}
		objs = append(objs, u)
	}
	return objs, nil
}

// RunHelmChild serves one Helm render: a request on in, the reply on out. It is what
// gitfleet runs as HelmChildArg; it returns the process's exit code.
func RunHelmChild(in io.Reader, out io.Writer) int {
	var req helmRequest
	if err := gob.NewDecoder(bufio.NewReader(in)).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "reading the render request:", err)
		return 2
	}
	if req.MaxMemory > 0 {
		// The Go heap stays under the cap by collecting harder as it nears it; a render
		// that truly needs more is killed by the parent.
		debug.SetMemoryLimit(req.MaxMemory * 3 / 4)
	}
	reply := helmReply{}
	objs, err := renderHelmChild(req)
	if err != nil {
		reply.Err = err.Error()
	}
	for _, u := range objs {
		data, err := u.MarshalJSON()
		if err != nil {
			reply = helmReply{Err: err.Error()}
			break
		}
		reply.Objects = append(reply.Objects, data)
	}
	if err := json.NewEncoder(out).Encode(reply); err != nil {
		fmt.Fprintln(os.Stderr, "writing the render reply:", err)
		return 2
	}
	return 0
}

func renderHelmChild(req helmRequest) ([]*unstructured.Unstructured, error) {
	ch, err := loader.LoadFiles(req.Files)
	if err != nil {
		return nil, err
	}
	c := &schema.Cluster{Spec: schema.ClusterSpec{Version: req.Version, APIVersions: req.APIVersions}}
	return helmTemplate(context.Background(), ch, req.Release, req.Namespace, req.Values, c, req.Limits.withDefaults())
}

// residentBytes is a process's resident memory (VmRSS in /proc/PID/status).
func residentBytes(pid int) (int64, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}
