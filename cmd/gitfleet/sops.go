package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"gitfleet.dev/gitfleet/render"
)

// addSopsKeyFlag adds --sops-age-key-file, defaulting to $SOPS_AGE_KEY_FILE as sops and
// Flux read it. The key is the operator's: it is never looked for in the repository.
func addSopsKeyFlag(f *pflag.FlagSet, p *string) {
	f.StringVar(p, "sops-age-key-file", os.Getenv("SOPS_AGE_KEY_FILE"), "age identities that decrypt the repository's sops-encrypted files, in memory only (default $SOPS_AGE_KEY_FILE); never a file inside the repository")
}

// sopsDecryptor reads the age key file, or returns nil when none is given. A key file
// inside the repository checkout is refused: a key committed next to the files it
// opens protects nothing.
func sopsDecryptor(keyFile, repoDir string) (*render.Decryptor, error) {
	if keyFile == "" {
		return nil, nil
	}
	if inside(keyFile, repoDir) {
		return nil, fmt.Errorf("--sops-age-key-file %s is inside the repository %s: keep the age key outside the fleet repository", keyFile, repoDir)
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("--sops-age-key-file: %w", err)
	}
	d, err := render.NewDecryptor(data)
	if err != nil {
		return nil, fmt.Errorf("--sops-age-key-file %s: %w", keyFile, err)
	}
	return d, nil
}

// inside says whether file is under dir, symlinks resolved where they exist.
func inside(file, dir string) bool {
	resolve := func(p string) string {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return p
	}
	rel, err := filepath.Rel(resolve(dir), resolve(file))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
