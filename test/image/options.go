package image

import (
	"fmt"
	"time"
)

// Platform is one binary of an image and the platform it runs on.
type Platform struct {
	// OS and Arch as Go and OCI spell them (linux, amd64).
	OS, Arch string
	// Binary is the file to put into the image as /usr/local/bin/NAME.
	Binary string
}

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// BuildOptions say what one image is.
type BuildOptions struct {
	// Name of the image and of its binary inside it (gitfleet, gitfleet-gpu, gitfleet-cni).
	Name string
	// Version is the build's version (git describe): a label and the layout's ref name.
	Version string
	// Revision is the commit the binaries were built from (a label).
	Revision string
	// Source is the repository's URL (a label), empty to leave it out.
	Source string
	// Created is the time every file and the image config carry; the commit's time keeps
	// the image reproducible (a clock would make every build a new digest).
	Created time.Time
	// CACerts is the CA bundle to put at /etc/ssl/certs/ca-certificates.crt: TLS to git
	// servers and API servers needs it, and a scratch image has none.
	CACerts string
	// Platforms are the image's binaries, one per platform.
	Platforms []Platform
	// LibDirs are where the shared libraries of a dynamically linked binary are looked up
	// (the build machine's, for the platform that matches it).
	LibDirs []string
}

// DefaultBuildOptions returns the options of a build on a Debian-like machine.
func DefaultBuildOptions() BuildOptions {
	return BuildOptions{
		CACerts: "/etc/ssl/certs/ca-certificates.crt",
		LibDirs: []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib"},
	}
}

// User is the non-root user the images run as; the install's Deployment runs as the same.
const (
	UID      = 65532
	UserName = "gitfleet"
)

// BinDir is where the binary is in the image.
const BinDir = "/usr/local/bin"

func (o BuildOptions) validate() error {
	if o.Name == "" {
		return fmt.Errorf("image: no name")
	}
	if len(o.Platforms) == 0 {
		return fmt.Errorf("image %s: no platform binaries", o.Name)
	}
	if o.CACerts == "" {
		return fmt.Errorf("image %s: no CA certificates file", o.Name)
	}
	seen := map[string]bool{}
	for _, p := range o.Platforms {
		if p.OS == "" || p.Arch == "" || p.Binary == "" {
			return fmt.Errorf("image %s: platform %q: want OS, architecture and binary", o.Name, p)
		}
		if seen[p.String()] {
			return fmt.Errorf("image %s: platform %s given twice", o.Name, p)
		}
		seen[p.String()] = true
	}
	return nil
}
