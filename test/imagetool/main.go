// Command imagetool is what make image and make image-push run: it assembles an OCI image
// layout from binaries built for one or more platforms (package test/image), and pushes a
// layout to a registry, printing the reference pinned by digest that gitfleet install
// takes.
//
//	imagetool build --name gitfleet --version V --created UNIX --out bin/image/gitfleet \
//	    --binary linux/amd64=bin/linux_amd64/gitfleet --binary linux/arm64=...
//	imagetool push --layout bin/image/gitfleet --repo registry.example.com/platform/gitfleet \
//	    --record bin/image/images.txt
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"gitfleet.dev/gitfleet/test/image"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagetool:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("want a command: build or push")
	}
	switch args[0] {
	case "build":
		return build(args[1:])
	case "push":
		return push(ctx, args[1:])
	default:
		return fmt.Errorf("unknown command %q: want build or push", args[0])
	}
}

// platforms is --binary OS/ARCH=FILE, repeated.
type platforms []image.Platform

func (p *platforms) String() string { return fmt.Sprint(*p) }

func (p *platforms) Set(s string) error {
	plat, bin, ok := strings.Cut(s, "=")
	osName, arch, ok2 := strings.Cut(plat, "/")
	if !ok || !ok2 || bin == "" {
		return fmt.Errorf("want OS/ARCH=FILE, got %q", s)
	}
	*p = append(*p, image.Platform{OS: osName, Arch: arch, Binary: bin})
	return nil
}

func build(args []string) error {
	o := image.DefaultBuildOptions()
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	out := fs.String("out", "", "directory of the OCI image layout to write (replaced)")
	created := fs.Int64("created", 0, "time of every file and of the image, in seconds since 1970 (the commit's: git log -1 --format=%ct)")
	fs.StringVar(&o.Name, "name", "", "image and binary name")
	fs.StringVar(&o.Version, "version", "", "version (git describe)")
	fs.StringVar(&o.Revision, "revision", "", "commit the binaries were built from")
	fs.StringVar(&o.Source, "source", "", "repository URL (a label)")
	fs.StringVar(&o.CACerts, "ca-certificates", o.CACerts, "CA bundle of the build machine to put into the image")
	fs.Var((*platforms)(&o.Platforms), "binary", "OS/ARCH=FILE: the binary for one platform; repeat for each")
	repo := fs.String("repo", "", "repository the image will be pushed to: with --record, its reference pinned by digest is recorded before any push (a push keeps the digest)")
	record := fs.String("record", "", "file of NAME=REF lines to add the image's reference to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("build: --out is required")
	}
	o.Created = time.Unix(*created, 0).UTC()
	idx, err := image.Build(o)
	if err != nil {
		return err
	}
	h, err := image.Write(*out, idx, o.Version)
	if err != nil {
		return err
	}
	var plats []string
	for _, p := range o.Platforms {
		plats = append(plats, p.String())
	}
	fmt.Printf("%s %s (%s): %s\n", o.Name, o.Version, strings.Join(plats, ", "), h)
	if *record != "" {
		if *repo == "" {
			return errors.New("build: --record needs --repo")
		}
		return recordRef(*record, o.Name, strings.TrimSuffix(*repo, "/")+"@"+h.String())
	}
	return nil
}

func push(ctx context.Context, args []string) error {
	var o image.PushOptions
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	dir := fs.String("layout", "", "OCI image layout written by build")
	record := fs.String("record", "", "file of NAME=REF lines to add the pushed reference to (gitfleet install --images reads it)")
	fs.StringVar(&o.Repository, "repo", "", "repository to push to, e.g. registry.example.com/platform/gitfleet")
	fs.BoolVar(&o.Insecure, "insecure", false, "plain HTTP to the registry")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || o.Repository == "" {
		return errors.New("push: --layout and --repo are required")
	}
	idx, version, err := image.Read(*dir)
	if err != nil {
		return err
	}
	o.Tag = version
	ref, err := image.Push(ctx, idx, o)
	if err != nil {
		return err
	}
	name := filepath.Base(filepath.Clean(*dir))
	fmt.Printf("%s=%s\n", name, ref)
	if *record != "" {
		return recordRef(*record, name, ref)
	}
	return nil
}

// recordRef sets NAME's line of the record file, keeping the others, sorted.
func recordRef(path, name, ref string) error {
	lines := map[string]string{}
	if data, err := os.ReadFile(path); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if n, r, ok := strings.Cut(l, "="); ok {
				lines[n] = r
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	lines[name] = ref
	names := make([]string, 0, len(lines))
	for n := range lines {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s=%s\n", n, lines[n])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
