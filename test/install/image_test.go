package install

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gitfleet.dev/gitfleet/test/image"
)

// TestImageRoundTrip assembles gitfleet's image as make image does, pushes it to a real
// registry (go-containerregistry's, in process, over HTTP), pulls it back by digest, and
// runs the binary it holds: gitfleet version prints the stamped version. The image has no
// base: its files are exactly the binary, the CA bundle and the accounts, and it runs as
// uid 65532. The same inputs give the same digest.
func TestImageRoundTrip(t *testing.T) {
	opts := image.DefaultBuildOptions()
	opts.Name, opts.Version, opts.Revision = "gitfleet", testVersion, "0123456789abcdef"
	opts.Created = time.Unix(1767225600, 0).UTC()
	opts.Platforms = []image.Platform{{OS: "linux", Arch: runtime.GOARCH, Binary: gitfleetBin}}
	idx, err := image.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(t.TempDir(), "gitfleet")
	digest, err := image.Write(layout, idx, opts.Version)
	if err != nil {
		t.Fatal(err)
	}
	again, err := image.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := again.Digest(); d != digest {
		t.Errorf("a second build of the same binary has digest %s, want %s: the image is not reproducible", d, digest)
	}

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	stored, version, err := image.Read(layout)
	if err != nil {
		t.Fatal(err)
	}
	if version != testVersion {
		t.Errorf("layout ref name %q, want %q", version, testVersion)
	}
	ref, err := image.Push(t.Context(), stored, image.PushOptions{Repository: host + "/platform/gitfleet", Tag: version, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := host + "/platform/gitfleet@" + digest.String(); ref != want {
		t.Fatalf("pushed reference %s, want %s", ref, want)
	}

	pulledIdx, err := remote.Index(mustRef(t, ref), remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	img, err := platformImage(pulledIdx, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || cfg.Architecture != runtime.GOARCH || cfg.OS != "linux" {
		t.Errorf("config user %q, platform %s/%s; want 65532:65532, linux/%s", cfg.Config.User, cfg.OS, cfg.Architecture, runtime.GOARCH)
	}
	files := imageFiles(t, img)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	for _, want := range []string{"usr/local/bin/gitfleet", "etc/ssl/certs/ca-certificates.crt", "etc/passwd", "etc/group"} {
		if _, ok := files[want]; !ok {
			t.Errorf("image lacks %s; it has %v", want, names)
		}
	}
	if len(files) != 4 {
		t.Errorf("image has %d files, want only the binary, the CA bundle and the accounts: %v", len(files), names)
	}
	if !strings.Contains(string(files["etc/passwd"]), "gitfleet:x:65532:65532:") {
		t.Errorf("/etc/passwd has no user gitfleet with uid 65532:\n%s", files["etc/passwd"])
	}

	bin := filepath.Join(t.TempDir(), "gitfleet")
	if err := os.WriteFile(bin, files["usr/local/bin/gitfleet"], 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("gitfleet version from the pulled image: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != testVersion {
		t.Errorf("gitfleet version from the pulled image printed %q, want %q", got, testVersion)
	}
}

// TestImageOfDynamicBinary checks what is done for gitfleet-gpu, which is linked against
// glibc (NVML needs dlopen): the image holds the binary's interpreter and libraries and
// those the NVIDIA driver's library needs, taken from this machine. A small C program,
// dynamically linked by gcc as cgo links gitfleet-gpu, stands in for it.
func TestImageOfDynamicBinary(t *testing.T) {
	src := filepath.Join(t.TempDir(), "hello.c")
	if err := os.WriteFile(src, []byte("#include <stdio.h>\nint main(void){puts(\"hello\");return 0;}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "gitfleet-gpu")
	if out, err := exec.Command("gcc", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	opts := image.DefaultBuildOptions()
	opts.Name, opts.Version = "gitfleet-gpu", testVersion
	opts.Platforms = []image.Platform{{OS: "linux", Arch: runtime.GOARCH, Binary: bin}}
	idx, err := image.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	img, err := platformImage(idx, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	files := imageFiles(t, img)
	var libc, loader, libdl bool
	for n := range files {
		base := filepath.Base(n)
		libc = libc || base == "libc.so.6"
		loader = loader || strings.HasPrefix(base, "ld-linux")
		libdl = libdl || base == "libdl.so.2"
	}
	if !libc || !loader || !libdl {
		t.Errorf("image of a dynamically linked binary: libc %v, loader %v, libdl (for the driver) %v; want all; files %v", libc, loader, libdl, files)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func platformImage(idx v1.ImageIndex, arch string) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == arch {
			return idx.Image(d.Digest)
		}
	}
	return nil, errors.New("no image for linux/" + arch + " in the index")
}

// imageFiles returns the regular files of the image's layers by path.
func imageFiles(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			var b bytes.Buffer
			if _, err := io.Copy(&b, tr); err != nil {
				t.Fatal(err)
			}
			files[h.Name] = b.Bytes()
		}
		rc.Close()
	}
	return files
}
