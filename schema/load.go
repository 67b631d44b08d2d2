package schema

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"gitfleet.dev/gitfleet/render/yamlbound"
)

// fleetMarker is looked for, in lower case, before a file is decoded: files that do not
// mention it are not fleet files (kustomize bases, values) and are only checked to be
// YAML; the renderer reports their other problems against the app that uses them.
var fleetMarker = []byte("gitfleet")

// statusDir is written only by gitfleet; its files are never read back as configuration.
const statusDir = "status"

// LoadOptions say what the operator allows a repository; the zero value is not useful,
// start from DefaultLoadOptions.
type LoadOptions struct {
	// Secrets are the secrets the repository may refer to; a reference to any other is a
	// problem at its field.
	Secrets SecretPolicy
	// YAML bounds each fleet file before it is parsed (zero fields: the defaults), with the
	// same check and the same flags as the files Apps render from: the YAML library
	// refuses an alias bomb itself, but not a file of millions of nodes or a huge one.
	YAML yamlbound.Limits
	// Passed, when set, remembers the files that passed the YAML checks, so that a
	// revision's unchanged files are not parsed again only to pass again (serve keeps one
	// for its life). Nil checks every file.
	Passed *yamlbound.Passed
}

// DefaultLoadOptions allow the repository only what an operator who said nothing would
// expect (DefaultSecretPolicy, the default YAML bounds).
func DefaultLoadOptions() LoadOptions {
	return LoadOptions{Secrets: DefaultSecretPolicy(), YAML: yamlbound.DefaultLimits()}
}

// Load reads a repository with DefaultLoadOptions; see LoadWithOptions.
func Load(ctx context.Context, fsys fs.FS) (*Repo, error) {
	return LoadWithOptions(ctx, fsys, DefaultLoadOptions())
}

// LoadWithOptions reads every fleet file of a repository tree, fills in defaults and
// validates the result. The error, when not nil, is an ErrorList with every problem found.
func LoadWithOptions(ctx context.Context, fsys fs.FS, opts LoadOptions) (*Repo, error) {
	limits := opts.YAML.WithDefaults()
	repo := &Repo{}
	var errs ErrorList
	ignore, err := readIgnoreFile(fsys)
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if p == "." {
			return nil
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || p == statusDir || ignore.match(p, true) || isChartDir(fsys, p) {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); (ext != ".yaml" && ext != ".yml") || ignore.match(p, false) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if err := opts.Passed.Check(p, data, limits); err != nil {
			// A fleet file over a bound is a problem of the revision; any other file is
			// left unparsed here, and refused by the render of each App that reads it, so
			// that it fails those Apps and not the whole revision.
			if bytes.Contains(bytes.ToLower(data), fleetMarker) {
				errs = append(errs, BoundError(err))
			}
			return nil
		}
		errs = append(errs, repo.loadFile(p, data, opts.Passed)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	validated := repo.finish(fsys)
	validated = append(validated, checkSecretPolicy(repo.secretRefs, opts.Secrets)...)
	errs = append(errs, repo.misversioned.drop(withoutRepeats(errs, validated))...)
	if err := errs.errOrNil(); err != nil {
		return repo, err
	}
	return repo, nil
}

// loadFile decodes every fleet document of one file. Every YAML file in the tree is
// parsed, fleet file or not: a file that is not YAML at all (binary, or garbage) is an
// error naming it, never silently skipped; other Kubernetes manifests are the renderer's.
// passed remembers the files whose syntax was found fine before.
func (r *Repo) loadFile(file string, data []byte, passed *yamlbound.Passed) ErrorList {
	if fe := notText(file, data); fe != nil {
		return ErrorList{fe}
	}
	if !bytes.Contains(bytes.ToLower(data), fleetMarker) {
		var errs ErrorList
		_ = passed.Do("syntax", data, yamlbound.Limits{}, func() error {
			errs = errs.addSyntax(file, data)
			return errs.errOrNil()
		})
		return errs
	}
	var errs ErrorList
	err := Documents(data, func(doc *yaml.Node) bool {
		if len(doc.Content) > 0 { // not an empty document between two "---".
			errs = append(errs, r.loadDocument(file, doc.Content[0])...)
		}
		return true
	})
	if err != nil {
		errs = append(errs, SyntaxError(file, data, err))
	}
	return errs
}

func (r *Repo) loadDocument(file string, n *yaml.Node) ErrorList {
	docPos := Position{File: file, Line: n.Line, Column: n.Column}
	if n.Kind != yaml.MappingNode {
		return ErrorList{{Position: docPos, Message: "expected a fleet object (a mapping with apiVersion and kind), found " + describe(n)}}
	}
	var tm TypeMeta
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "apiVersion":
			tm.APIVersion = n.Content[i+1].Value
		case "kind":
			tm.Kind = n.Content[i+1].Value
		}
	}
	newObject, known := kinds[tm.Kind]
	fleetAPI := strings.HasPrefix(tm.APIVersion, "gitfleet.dev/")
	if !fleetAPI && !(known && strings.Contains(strings.ToLower(tm.APIVersion), "gitfleet")) {
		return nil // a Kubernetes manifest that merely mentions gitfleet (labels, say).
	}
	if !known {
		return ErrorList{{Position: docPos, Field: "kind", Message: unknownName("kind", tm.Kind, sortedKeys(kinds))}}
	}
	target := newObject()
	d := &decoder{file: file, fields: map[string]Position{}}
	v := reflect.ValueOf(target).Elem()
	d.decode(n, v, "")
	origin := Origin{File: file, fields: d.fields, doc: docPos}
	v.FieldByName("Origin").Set(reflect.ValueOf(origin))
	if _, isAddon := target.(*Addon); !isAddon {
		// An Addon's references name Secrets its pods read in the member cluster, never
		// anything of the gitfleet process (see checkSecretPolicy).
		for _, field := range slices.Sorted(maps.Keys(d.refs)) {
			r.secretRefs = append(r.secretRefs, foundSecretRef{origin: origin, field: field, ref: d.refs[field]})
		}
	}
	_, isFleet := target.(*Fleet)
	if tm.APIVersion != APIVersion {
		// One error, at the cause. The object is still read, so that what refers to it
		// (an App to its Cluster, a quota to its cluster) does not fail as well; what
		// is wrong inside it would be read against the wrong version and is not shown.
		r.misversioned = append(r.misversioned, docSpan(file, n))
		if !isFleet || r.Fleet == nil {
			r.add(target)
		}
		return ErrorList{{Position: docPos, Field: "apiVersion", Message: fmt.Sprintf("unsupported apiVersion %q; this gitfleet reads %s", tm.APIVersion, APIVersion)}}
	}
	if isFleet && r.Fleet != nil {
		d.errs = append(d.errs, &FieldError{Position: docPos, Field: "kind", Message: fmt.Sprintf("a repository has one Fleet; another is declared at %s", r.Fleet.Origin.Pos(""))})
		return d.errs
	}
	r.add(target)
	return d.errs
}

// BoundError is a file over a YAML bound (a *yamlbound.Error) as a positioned problem.
func BoundError(err error) *FieldError {
	var be *yamlbound.Error
	if errors.As(err, &be) {
		return &FieldError{Position: Position{File: be.File, Line: be.Line}, Message: be.Reason()}
	}
	return &FieldError{Message: err.Error()}
}

// withoutRepeats drops the validation errors at a field the decoder already reported: a
// password written in plain text is one problem ("refer to it instead"), not also a
// missing reference.
func withoutRepeats(decoded, validated ErrorList) ErrorList {
	seen := map[[2]string]bool{}
	for _, e := range decoded {
		seen[[2]string{e.File, e.Field}] = true
	}
	out := validated[:0]
	for _, e := range validated {
		if !seen[[2]string{e.File, e.Field}] {
			out = append(out, e)
		}
	}
	return out
}
