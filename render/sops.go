package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/stores/dotenv"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	yaml "go.yaml.in/yaml/v4"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Decryptor decrypts SOPS files of the repository with the operator's age identities. It
// is built in cmd/ from a key file the operator names (--sops-age-key-file), never from
// anything in the repository, and only ever asked for age: a file's other recipients (KMS,
// PGP, Vault) are ignored, so decrypting never reaches the network or the environment.
type Decryptor struct {
	ids sopsage.ParsedIdentities
}

// NewDecryptor parses age identities (the contents of an age key file: one
// AGE-SECRET-KEY-1... per line, # comments allowed).
func NewDecryptor(keys []byte) (*Decryptor, error) {
	ids, err := age.ParseIdentities(bytes.NewReader(keys))
	if err != nil {
		return nil, fmt.Errorf("reading the age key file: %w", err)
	}
	return &Decryptor{ids: sopsage.ParsedIdentities(ids)}, nil
}

// SopsError is a SOPS-encrypted file of the repository that cannot be read: bad metadata,
// a value that is not encrypted, no key that opens it, or a MAC that does not match (the
// file was changed after it was encrypted).
type SopsError struct {
	File string
	Err  error
}

func (e *SopsError) Error() string { return fmt.Sprintf("%s: sops: %v", e.File, e.Err) }
func (e *SopsError) Unwrap() error { return e.Err }

// NeedsKeyError is an App that reads SOPS-encrypted files while no age key was given.
// validate accepts it (the files' structure was checked); render, plan, apply and serve
// cannot build the App.
type NeedsKeyError struct {
	Files []string
}

func (e *NeedsKeyError) Error() string {
	return fmt.Sprintf("%s is encrypted with sops: pass --sops-age-key-file (or set SOPS_AGE_KEY_FILE) with an age identity of its recipients to render it", strings.Join(e.Files, ", "))
}

// sopsFiles records which files of the revision were SOPS-encrypted, by in-memory path.
// Decrypted ones hold plaintext only in memory; sealed ones stayed encrypted because no
// key was given, and builds that read them fail with a NeedsKeyError.
type sopsFiles struct {
	decrypted map[string]bool
	sealed    map[string]bool
}

func newSopsFiles() *sopsFiles {
	return &sopsFiles{decrypted: map[string]bool{}, sealed: map[string]bool{}}
}

// encrypted says whether a file (in-memory path) was SOPS-encrypted in the repository.
func (s *sopsFiles) encrypted(p string) bool { return s.decrypted[p] || s.sealed[p] }

// anyDecrypted says whether one of files (repository paths, as a Helm App names its
// values files) was decrypted.
func (s *sopsFiles) anyDecrypted(files []string) bool {
	for _, f := range files {
		if s.decrypted["/"+path.Clean(strings.TrimPrefix(f, "./"))] {
			return true
		}
	}
	return false
}

// readAny says whether a build that read probes read a decrypted file.
func (s *sopsFiles) readAny(probes []probe) bool {
	for _, p := range probes {
		if s.decrypted[path.Clean(p.path)] {
			return true
		}
	}
	return false
}

// prepare is what the copy into memory does with each file: a SOPS-encrypted file is
// decrypted with d, or checked for structure and kept encrypted when d is nil; any other
// file is returned as it is.
func (s *sopsFiles) prepare(p string, data []byte, d *Decryptor) ([]byte, error) {
	store := sopsStore(p, data)
	if store == nil {
		return data, nil
	}
	tree, err := store.LoadEncryptedFile(data)
	if err != nil {
		return nil, &SopsError{File: p, Err: err}
	}
	if err := checkSopsStructure(tree); err != nil {
		return nil, &SopsError{File: p, Err: err}
	}
	mem := "/" + p
	if d == nil {
		s.sealed[mem] = true
		return data, nil
	}
	plain, err := d.decrypt(store, tree)
	if err != nil {
		return nil, &SopsError{File: p, Err: err}
	}
	s.decrypted[mem] = true
	return plain, nil
}

// sopsFileStore is the part of a sops store gitfleet uses.
type sopsFileStore interface {
	LoadEncryptedFile(in []byte) (sops.Tree, error)
	EmitPlainFile(in sops.TreeBranches) ([]byte, error)
}

var (
	_ sopsFileStore = (*sopsyaml.Store)(nil)
	_ sopsFileStore = (*sopsjson.Store)(nil)
	_ sopsFileStore = (*dotenv.Store)(nil)
	_ sopsFileStore = (*sopsjson.BinaryStore)(nil)
)

// sopsStore returns the store for a file that carries SOPS metadata, or nil for any
// other file. The check is on the parsed top level, not a substring: a manifest that
// merely mentions sops is not mistaken for an encrypted file.
func sopsStore(p string, data []byte) sopsFileStore {
	if !bytes.Contains(data, []byte("sops")) {
		return nil
	}
	base := path.Base(p)
	switch ext := path.Ext(p); {
	case ext == ".yaml" || ext == ".yml":
		if yamlHasSopsKey(data) {
			return sopsyaml.NewStore(&config.YAMLStoreConfig{})
		}
	case ext == ".json":
		var top map[string]any
		if yaml.Unmarshal(data, &top) == nil && isSopsMetadata(top["sops"]) {
			return sopsjson.NewStore(&config.JSONStoreConfig{})
		}
	case ext == ".env" || base == ".env" || strings.HasPrefix(base, ".env."):
		// The dotenv store keeps its metadata as sops_* lines.
		if bytes.Contains(data, []byte("\nsops_mac=")) || bytes.HasPrefix(data, []byte("sops_mac=")) {
			return dotenv.NewStore(&config.DotenvStoreConfig{})
		}
	default:
		// Any other file (a password for a secretGenerator's files) is sops's binary
		// format: a JSON object holding the encrypted bytes as "data". encoding/json has
		// no aliases, so this parse is linear in the file, which is already size-bounded.
		var top map[string]any
		if json.Unmarshal(data, &top) == nil && isSopsMetadata(top["sops"]) {
			if _, ok := top["data"].(string); ok {
				return sopsjson.NewBinaryStore(&config.JSONBinaryStoreConfig{})
			}
		}
	}
	return nil
}

func yamlHasSopsKey(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var top map[string]any
		if err := dec.Decode(&top); err != nil {
			return false
		}
		if isSopsMetadata(top["sops"]) {
			return true
		}
	}
}

// isSopsMetadata says whether a top-level sops: value looks like SOPS metadata rather
// than an unrelated field of that name.
func isSopsMetadata(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, mac := m["mac"]
	_, lastModified := m["lastmodified"]
	return mac || lastModified
}

// encValue is how sops writes an encrypted value.
var encValue = regexp.MustCompile(`^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:(str|int|float|bool|bytes|comment)\]$`)

// checkSopsStructure checks what can be checked without a key: the file has a MAC and an
// age recipient, and its values are encrypted (every value when the file uses sops's
// default rules; with encrypted_regex and the like, at least the data of Secrets).
func checkSopsStructure(tree sops.Tree) error {
	md := tree.Metadata
	if !encValue.MatchString(md.MessageAuthenticationCode) {
		return errors.New("the metadata has no MAC: encrypt the file with sops, do not write its metadata by hand")
	}
	hasAge := false
	for _, g := range md.KeyGroups {
		for _, k := range g {
			_, ok := k.(*sopsage.MasterKey)
			hasAge = hasAge || ok
		}
	}
	if !hasAge {
		return errors.New("the file has no age recipient: gitfleet decrypts with age keys only; add one with sops updatekeys or --age")
	}
	if len(md.KeyGroups) > 1 {
		return fmt.Errorf("the file uses %d key groups (Shamir secret sharing): gitfleet decrypts files with one key group", len(md.KeyGroups))
	}
	defaultRules := md.EncryptedSuffix == "" && md.UnencryptedRegex == "" && md.EncryptedRegex == "" &&
		md.UnencryptedCommentRegex == "" && md.EncryptedCommentRegex == ""
	suffix := md.UnencryptedSuffix
	if suffix == "" && defaultRules {
		suffix = sops.DefaultUnencryptedSuffix
	}
	for _, b := range tree.Branches {
		secret := branchValue(b, "kind") == "Secret"
		for _, item := range b {
			key, _ := item.Key.(string)
			if key == "sops" {
				continue
			}
			mustEncrypt := secret && (key == "data" || key == "stringData")
			if !defaultRules && !mustEncrypt {
				continue
			}
			if field, ok := firstPlainLeaf(item.Value, key, suffix); ok {
				return fmt.Errorf("%s: the value is not encrypted (not ENC[AES256_GCM,...]): re-encrypt the file with sops", field)
			}
		}
	}
	return nil
}

func branchValue(b sops.TreeBranch, key string) any {
	for _, item := range b {
		if item.Key == key {
			return item.Value
		}
	}
	return nil
}

// firstPlainLeaf finds a leaf under v that should be encrypted and is not.
func firstPlainLeaf(v any, field, unencryptedSuffix string) (string, bool) {
	if unencryptedSuffix != "" && strings.HasSuffix(field, unencryptedSuffix) {
		return "", false
	}
	switch v := v.(type) {
	case sops.TreeBranch:
		for _, item := range v {
			key, ok := item.Key.(string)
			if !ok {
				continue // a comment
			}
			if unencryptedSuffix != "" && strings.HasSuffix(key, unencryptedSuffix) {
				continue
			}
			if f, ok := firstPlainLeaf(item.Value, field+"."+key, unencryptedSuffix); ok {
				return f, true
			}
		}
	case []any:
		for i, e := range v {
			if f, ok := firstPlainLeaf(e, fmt.Sprintf("%s[%d]", field, i), unencryptedSuffix); ok {
				return f, true
			}
		}
	case sops.Comment, nil:
	case string:
		return field, !encValue.MatchString(v)
	default:
		return field, true
	}
	return "", false
}

// decrypt opens a file's data key with the operator's age identities, decrypts the tree,
// checks the MAC (a file edited after encryption is refused) and returns the plain file.
func (d *Decryptor) decrypt(store sopsFileStore, tree sops.Tree) ([]byte, error) {
	key, err := d.dataKey(tree.Metadata)
	if err != nil {
		return nil, err
	}
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(key, cipher)
	if err != nil {
		return nil, fmt.Errorf("decrypting: %w", err)
	}
	fileMAC, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, key, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, fmt.Errorf("decrypting the MAC: %w", err)
	}
	if fileMAC != mac {
		return nil, errors.New("MAC mismatch: the file was changed after it was encrypted; edit it with sops, not by hand")
	}
	return store.EmitPlainFile(tree.Branches)
}

// dataKey decrypts the file's data key with the first age recipient the identities
// open. Only age keys are tried: asking any other key would read credentials from the
// environment or call a KMS.
func (d *Decryptor) dataKey(md sops.Metadata) ([]byte, error) {
	var recipients []string
	var errs []error
	for _, g := range md.KeyGroups {
		for _, k := range g {
			ak, ok := k.(*sopsage.MasterKey)
			if !ok {
				continue
			}
			// With identities applied, Decrypt uses them and looks nowhere else.
			d.ids.ApplyToMasterKey(ak)
			if len(d.ids) == 0 {
				continue
			}
			key, err := ak.Decrypt()
			if err == nil {
				return key, nil
			}
			recipients = append(recipients, ak.Recipient)
			errs = append(errs, err)
		}
	}
	slices.Sort(recipients)
	return nil, fmt.Errorf("no age identity in the key file opens the file (recipients %s): %w", strings.Join(recipients, ", "), errors.Join(errs...))
}

// sopsGuard is the filesystem one kustomize build reads: it refuses encrypted files that
// could not be decrypted and notes every file read, for the plaintext checks.
type sopsGuard struct {
	filesys.FileSystem
	files *sopsFiles

	mu     sync.Mutex
	read   map[string]bool
	sealed []string
}

func newSopsGuard(fsys filesys.FileSystem, files *sopsFiles) *sopsGuard {
	return &sopsGuard{FileSystem: fsys, files: files, read: map[string]bool{}}
}

func (g *sopsGuard) note(p string) error {
	p = path.Clean(p)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.read[p] = true
	if g.files.sealed[p] {
		if !slices.Contains(g.sealed, p) {
			g.sealed = append(g.sealed, p)
		}
		return &NeedsKeyError{Files: []string{strings.TrimPrefix(p, "/")}}
	}
	return nil
}

func (g *sopsGuard) ReadFile(p string) ([]byte, error) {
	if err := g.note(p); err != nil {
		return nil, err
	}
	return g.FileSystem.ReadFile(p)
}

func (g *sopsGuard) Open(p string) (filesys.File, error) {
	if err := g.note(p); err != nil {
		return nil, err
	}
	return g.FileSystem.Open(p)
}

// needsKey is the NeedsKeyError of a build that touched sealed files, or nil.
func (g *sopsGuard) needsKey() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.sealed) == 0 {
		return nil
	}
	files := make([]string, len(g.sealed))
	for i, p := range g.sealed {
		files[i] = strings.TrimPrefix(p, "/")
	}
	slices.Sort(files)
	return &NeedsKeyError{Files: files}
}

// readFiles are the repository files the build read, sorted; gitfleet's own generated
// kustomizations are left out.
func (g *sopsGuard) readFiles() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for p := range g.read {
		if !strings.HasPrefix(p, syntheticRoot+"/") && !strings.HasPrefix(p, "/.gitfleet/") {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// SealedFiles are the SOPS-encrypted files that stayed encrypted because no key was
// given; validate names them in its note that they were checked for structure only.
func (r *Renderer) SealedFiles() []string {
	var out []string
	for p := range r.sops.sealed {
		out = append(out, strings.TrimPrefix(p, "/"))
	}
	slices.Sort(out)
	return out
}

// memValues reads Helm values files from the in-memory copy of the repository, so that
// a sops-encrypted values file is read decrypted, and one without a key is refused.
type memValues struct {
	mem   filesys.FileSystem
	files *sopsFiles
}

var _ fs.ReadFileFS = memValues{}

func (m memValues) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: errors.ErrUnsupported}
}

func (m memValues) ReadFile(name string) ([]byte, error) {
	p := "/" + path.Clean(name)
	if m.files.sealed[p] {
		return nil, &NeedsKeyError{Files: []string{name}}
	}
	return m.mem.ReadFile(p)
}
