package reference

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"

	"gitfleet.dev/gitfleet/test/peakmem"
)

// runMeasured runs a reference binary like tools.run while c samples it.
func (t *tools) runMeasured(ctx context.Context, c *peakmem.Children, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = t.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.Add(cmd.Process.Pid)
	err := cmd.Wait()
	c.Remove(cmd.Process.Pid)
	if err != nil {
		return nil, &toolError{cmd: filepath.Base(bin) + " " + strings.Join(args, " "), err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return stdout.Bytes(), nil
}
