package cni

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/plugins/plugins/ipam/host-local/backend"
	"golang.org/x/sys/unix"
)

// ipStore is host-local's disk store, file for file: one file per reserved IP, named by
// the IP and holding "<container ID>\r\n<interface>", a last_reserved_ip.<range> file for
// the round-robin, and an flock on <dir>/lock serialising every node-local ADD and DEL.
// It is written here rather than imported because host-local's disk package pulls in a
// module this repository's go.sum does not pin; the format being the same, reservations
// read the same to an operator, to host-local and to this plugin.
type ipStore struct {
	dir  string
	lock *fileLock
}

var _ backend.Store = (*ipStore)(nil)

const (
	lastIPFilePrefix = "last_reserved_ip."
	lineBreak        = "\r\n"
)

func newIPStore(dataDir, network string) (*ipStore, error) {
	dir := filepath.Join(dataDir, network)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create the IPAM store %s: %w", dir, err)
	}
	lock, err := openFileLock(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, err
	}
	return &ipStore{dir: dir, lock: lock}, nil
}

func (s *ipStore) Lock() error   { return s.lock.Lock() }
func (s *ipStore) Unlock() error { return s.lock.Unlock() }
func (s *ipStore) Close() error  { return s.lock.Close() }

func (s *ipStore) Reserve(id, ifname string, ip net.IP, rangeID string) (bool, error) {
	name := filepath.Join(s.dir, ip.String())
	f, err := os.OpenFile(name, os.O_RDWR|os.O_EXCL|os.O_CREATE, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, werr := f.WriteString(strings.TrimSpace(id) + lineBreak + ifname)
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(name)
		return false, err
	}
	if err := os.WriteFile(filepath.Join(s.dir, lastIPFilePrefix+rangeID), []byte(ip.String()), 0o600); err != nil {
		os.Remove(name)
		return false, err
	}
	return true, nil
}

func (s *ipStore) LastReservedIP(rangeID string) (net.IP, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, lastIPFilePrefix+rangeID))
	if err != nil {
		return nil, err
	}
	return net.ParseIP(string(data)), nil
}

// each calls f for every reservation file with its IP and owner.
func (s *ipStore) each(f func(path string, ip net.IP, owner string) error) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		ip := net.ParseIP(e.Name())
		if ip == nil || e.IsDir() {
			continue // lock, last_reserved_ip.*
		}
		path := filepath.Join(s.dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			continue // released meanwhile
		}
		if err := f(path, ip, strings.TrimSpace(string(data))); err != nil {
			return err
		}
	}
	return nil
}

// owns matches host-local's record of id/ifname and its older id-only records.
func owns(owner, id, ifname string) bool {
	id = strings.TrimSpace(id)
	return owner == id+lineBreak+ifname || owner == id
}

func (s *ipStore) ReleaseByID(id, ifname string) error {
	var errs []error
	err := s.each(func(path string, _ net.IP, owner string) error {
		if owns(owner, id, ifname) {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		return nil
	})
	return errors.Join(append(errs, err)...)
}

func (s *ipStore) GetByID(id, ifname string) []net.IP {
	var ips []net.IP
	_ = s.each(func(_ string, ip net.IP, owner string) error {
		if owns(owner, id, ifname) {
			ips = append(ips, ip)
		}
		return nil
	})
	return ips
}

// fileLock is an exclusive flock on a file, held by this process until Unlock or Close.
type fileLock struct{ f *os.File }

func openFileLock(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

func (l *fileLock) Lock() error {
	for {
		err := unix.Flock(int(l.f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			if err != nil {
				return fmt.Errorf("lock %s: %w", l.f.Name(), err)
			}
			return nil
		}
	}
}

func (l *fileLock) Unlock() error { return unix.Flock(int(l.f.Fd()), unix.LOCK_UN) }
func (l *fileLock) Close() error  { return l.f.Close() }
