package image

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushOptions say where an image goes.
type PushOptions struct {
	// Repository is the image's repository (registry.example.com/platform/gitfleet).
	Repository string
	// Tag is pushed beside the digest, for people; installs use the digest.
	Tag string
	// Insecure allows plain HTTP to the registry (a local test registry); loopback and
	// private addresses are plain HTTP anyway.
	Insecure bool
	// Keychain gives the registry's credentials; nil takes the Docker config's
	// (~/.docker/config.json, credential helpers), as docker push would.
	Keychain authn.Keychain
}

// Push sends idx to o.Repository under o.Tag and returns the reference pinned by digest,
// REPOSITORY@sha256:..., which installs name.
func Push(ctx context.Context, idx v1.ImageIndex, o PushOptions) (string, error) {
	var opts []name.Option
	if o.Insecure {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(strings.TrimSuffix(o.Repository, "/"), opts...)
	if err != nil {
		return "", fmt.Errorf("image repository %q: %w", o.Repository, err)
	}
	tag := o.Tag
	if tag == "" {
		tag = "latest"
	}
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	if err := remote.WriteIndex(repo.Tag(tag), idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)); err != nil {
		return "", fmt.Errorf("pushing %s:%s: %w", repo, tag, err)
	}
	h, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return repo.Digest(h.String()).String(), nil
}
