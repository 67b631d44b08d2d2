package cni

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	current "github.com/containernetworking/cni/pkg/types/100"
)

// attachment is what one successful ADD left on the node, kept so that a repeated ADD
// answers with the same result, DEL knows whether host ports were mapped even when the
// runtime no longer passes them, and an operator can read which random host ports a
// nat-mode pod got (the CNI result has no field for them).
type attachment struct {
	ContainerID string          `json:"containerID"`
	IfName      string          `json:"ifName"`
	Pod         string          `json:"pod,omitempty"`
	Mode        Mode            `json:"mode"`
	HostVeth    string          `json:"hostVeth,omitempty"`
	PortMaps    []PortMapping   `json:"portMappings,omitempty"`
	Result      *current.Result `json:"result"`
}

// attachments is the per-pod state directory: <dataDir>/<network>.attachments, beside
// (not inside) host-local's reservation directory, whose every file it would scan.
type attachments struct{ dir string }

func newAttachments(dataDir, network string) attachments {
	return attachments{dir: filepath.Join(dataDir, network+".attachments")}
}

func (a attachments) path(id, ifname string) string {
	return filepath.Join(a.dir, id+"-"+ifname+".json")
}

// Get returns the attachment, or nil when the container has none.
func (a attachments) Get(id, ifname string) (*attachment, error) {
	data, err := os.ReadFile(a.path(id, ifname))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the pod's state: %w", err)
	}
	var at attachment
	if err := json.Unmarshal(data, &at); err != nil || at.Result == nil {
		// A torn or foreign file: treat the attachment as unknown so that ADD rebuilds
		// it and DEL cleans by name.
		return nil, nil
	}
	return &at, nil
}

// Put writes the attachment atomically (temporary file, then rename), so a crash never
// leaves half a record.
func (a attachments) Put(at *attachment) error {
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return fmt.Errorf("create the pod state directory: %w", err)
	}
	data, err := json.Marshal(at)
	if err != nil {
		return err
	}
	final := a.path(at.ContainerID, at.IfName)
	tmp, err := os.CreateTemp(a.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("write the pod's state: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write the pod's state %s: %w", final, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write the pod's state %s: %w", final, err)
	}
	return nil
}

// Delete removes the attachment; a missing one is not an error.
func (a attachments) Delete(id, ifname string) error {
	err := os.Remove(a.path(id, ifname))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the pod's state: %w", err)
	}
	return nil
}
