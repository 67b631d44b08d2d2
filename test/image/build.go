package image

import (
	"bytes"
	"fmt"
	"io"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Build assembles the image index of o: one image per platform, each a single layer on
// nothing (no base image).
func Build(o BuildOptions) (v1.ImageIndex, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		img, err := platformImage(o, p)
		if err != nil {
			return nil, fmt.Errorf("image %s for %s: %w", o.Name, p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch},
		}})
	}
	return idx, nil
}

func (o BuildOptions) labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":   o.Name,
		"org.opencontainers.image.version": o.Version,
	}
	if o.Revision != "" {
		l["org.opencontainers.image.revision"] = o.Revision
	}
	if o.Source != "" {
		l["org.opencontainers.image.source"] = o.Source
	}
	return l
}

func platformImage(o BuildOptions, p Platform) (v1.Image, error) {
	bin, err := readFile(p.Binary, path.Join(BinDir, o.Name), 0o755)
	if err != nil {
		return nil, err
	}
	certs, err := readFile(o.CACerts, "/etc/ssl/certs/ca-certificates.crt", 0o644)
	if err != nil {
		return nil, err
	}
	files := append(accounts(), bin, certs)
	libs, err := sharedLibs(p.Binary, o.LibDirs)
	if err != nil {
		return nil, err
	}
	files = append(files, libs...)
	data, err := layerTar(files, o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "make image: " + o.Name + " " + o.Version, Comment: "binary, CA certificates, user " + UserName},
	})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = p.OS, p.Arch
	cfg.Created = v1.Time{Time: o.Created}
	cfg.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, UID),
		Entrypoint: []string{path.Join(BinDir, o.Name)},
		Env:        []string{"PATH=" + BinDir, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "HOME=/home/" + UserName},
		WorkingDir: "/home/" + UserName,
		Labels:     o.labels(),
	}
	return mutate.ConfigFile(img, cfg)
}
