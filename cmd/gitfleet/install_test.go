package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const pinDigest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"

// TestInstallReadsImagesFile prints the install from the file make image writes: the
// Deployment runs gitfleet's pinned image and hands the node plugins' to serve.
func TestInstallReadsImagesFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "images.txt")
	content := "gitfleet=reg.example.com/p/gitfleet@" + pinDigest + "\ngitfleet-gpu=reg.example.com/p/gitfleet-gpu@" + pinDigest + "\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := gitfleet(t, "install", "--images", file, "--repo-url", "https://git.example.com/fleet.git")
	if code != 0 {
		t.Fatalf("install: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		"image: reg.example.com/p/gitfleet@" + pinDigest,
		"--node-plugin-image=gitfleet-gpu=reg.example.com/p/gitfleet-gpu@" + pinDigest,
		"--git-token-env=GITFLEET_GIT_TOKEN",
		"kind: Role",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("install output lacks %q", want)
		}
	}
}

// TestInstallRefusesBadInput names the flag or the file and line at fault.
func TestInstallRefusesBadInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "images.txt")
	if err := os.WriteFile(file, []byte("gitfleet=reg.example.com/p/gitfleet@"+pinDigest+"\ngitfleet-dns=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"install", "--images", file, "--repo-url", "ssh://git@h/f.git"}, file + ":2: unknown image \"gitfleet-dns\""},
		{[]string{"install", "--image", "reg.example.com/p/gitfleet:v1", "--repo-url", "ssh://git@h/f.git"}, "--image \"reg.example.com/p/gitfleet:v1\": want a reference pinned by digest"},
		{[]string{"install", "--repo-url", "ssh://git@h/f.git"}, "--image or --images is required"},
		{[]string{"render", "../../fleet-example", "--node-plugin-image", "gitfleet-gpu=reg.example.com/p/gitfleet-gpu:v1"}, "--node-plugin-image"},
	} {
		code, _, stderr := gitfleet(t, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("gitfleet %s: exit %d, stderr %q; want an error with %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
}

// TestRenderPinsNodePluginImages: render (like serve) puts the pinned gitfleet-gpu image
// into the GPUManager addon's DaemonSet of the vGPU cluster.
func TestRenderPinsNodePluginImages(t *testing.T) {
	ref := "reg.example.com/p/gitfleet-gpu@" + pinDigest
	code, out, stderr := gitfleet(t, "render", "../../fleet-example", "--cluster", "sh-gpu", "--node-plugin-image", "gitfleet-gpu="+ref)
	if code != 0 {
		t.Fatalf("render: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(out, "image: "+ref) {
		t.Errorf("sh-gpu's render does not run the pinned %s", ref)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := gitfleet(t, "version")
	if code != 0 || strings.TrimSpace(out) != version {
		t.Errorf("gitfleet version: exit %d, %q; want %q", code, out, version)
	}
}
