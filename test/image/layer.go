package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path"
	"sort"
	"time"
)

// file is one entry of the image's layer.
type file struct {
	path string // absolute, in the image
	mode int64
	data []byte
	uid  int
}

// passwd and group name root (files belong to it) and gitfleet, the user the image runs
// as: programs that look their user up (git, ssh) need an entry.
func accounts() []file {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", UserName, UID, UID, UserName, UserName)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\n", UserName, UID)
	return []file{{path: "/etc/passwd", mode: 0o644, data: []byte(passwd)}, {path: "/etc/group", mode: 0o644, data: []byte(group)}}
}

// layerTar writes files, with their parent directories, as a tar in path order: the same
// files give the same bytes.
func layerTar(files []file, created time.Time) ([]byte, error) {
	dirs := map[string]int{"/tmp": 0, "/home/" + UserName: UID}
	for _, f := range files {
		for d := path.Dir(f.path); d != "/"; d = path.Dir(d) {
			if _, ok := dirs[d]; !ok {
				dirs[d] = 0
			}
		}
	}
	for d := range dirs {
		for p := path.Dir(d); p != "/"; p = path.Dir(p) {
			if _, ok := dirs[p]; !ok {
				dirs[p] = 0
			}
		}
	}
	type entry struct {
		hdr  tar.Header
		data []byte
	}
	var entries []entry
	for d, uid := range dirs {
		mode := int64(0o755)
		if d == "/tmp" {
			mode = 0o1777
		}
		entries = append(entries, entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: d[1:] + "/", Mode: mode, Uid: uid, Gid: uid}})
	}
	for _, f := range files {
		entries = append(entries, entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: f.path[1:], Mode: f.mode, Size: int64(len(f.data)), Uid: f.uid, Gid: f.uid}, data: f.data})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].hdr.Name < entries[j].hdr.Name })
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		e.hdr.ModTime = created
		e.hdr.Format = tar.FormatPAX
		if e.hdr.Uid == UID {
			e.hdr.Uname, e.hdr.Gname = UserName, UserName
		} else {
			e.hdr.Uname, e.hdr.Gname = "root", "root"
		}
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", e.hdr.Name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", e.hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return b.Bytes(), nil
}

func readFile(src, dst string, mode int64) (file, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return file{}, fmt.Errorf("reading %s for %s: %w", src, dst, err)
	}
	return file{path: dst, mode: mode, data: data}, nil
}
