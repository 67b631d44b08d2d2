package schema

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v4"

	"gitfleet.dev/gitfleet/render/yamlbound"
)

// fleetMarker is looked for before a file is parsed: files that do not mention it are not
// fleet files (kustomize bases, chart templates) and are left to the renderer, which
// reports their problems against the app that uses them.
var fleetMarker = []byte("gitfleet.dev/")

// statusDir is written only by gitfleet; its files are never read back as configuration.
const statusDir = "status"

// LoadOptions tune Load.
type LoadOptions struct {
	// YAML bounds each fleet file before it is parsed (zero fields: the defaults), with the
	// same check and the same flags as the files Apps render from: the YAML library
	// refuses an alias bomb itself, but not a file of millions of nodes or a huge one.
	YAML yamlbound.Limits
}

// Load reads every fleet file of a repository tree, fills in defaults and validates the
// result. The error, when not nil, is an ErrorList with every problem found.
func Load(ctx context.Context, fsys fs.FS) (*Repo, error) {
	return LoadWithOptions(ctx, fsys, LoadOptions{})
}

// LoadWithOptions is Load with options.
func LoadWithOptions(ctx context.Context, fsys fs.FS, opts LoadOptions) (*Repo, error) {
	limits := opts.YAML.WithDefaults()
	repo := &Repo{}
	var errs ErrorList
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || p == statusDir) {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if !bytes.Contains(data, fleetMarker) {
			return nil
		}
		if err := yamlbound.Check(p, data, limits); err != nil {
			errs = append(errs, boundError(err))
			return nil
		}
		errs = append(errs, repo.loadFile(p, data)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	errs = append(errs, withoutRepeats(errs, repo.finish(fsys))...)
	if err := errs.errOrNil(); err != nil {
		return repo, err
	}
	return repo, nil
}

// loadFile decodes every document of one file.
func (r *Repo) loadFile(file string, data []byte) ErrorList {
	var errs ErrorList
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return errs
		}
		if err != nil {
			return append(errs, yamlSyntaxError(file, err))
		}
		if len(doc.Content) == 0 {
			continue // an empty document between two "---".
		}
		errs = append(errs, r.loadDocument(file, doc.Content[0])...)
	}
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
	if !strings.HasPrefix(tm.APIVersion, "gitfleet.dev/") {
		return nil // a Kubernetes manifest that merely mentions gitfleet (labels, say).
	}
	if tm.APIVersion != APIVersion {
		return ErrorList{{Position: docPos, Field: "apiVersion", Message: fmt.Sprintf("unsupported apiVersion %q; this gitfleet reads %s", tm.APIVersion, APIVersion)}}
	}
	newObject, ok := kinds[tm.Kind]
	if !ok {
		return ErrorList{{Position: docPos, Field: "kind", Message: unknownName("kind", tm.Kind, sortedKeys(kinds))}}
	}
	target := newObject()
	d := &decoder{file: file, fields: map[string]Position{}}
	v := reflect.ValueOf(target).Elem()
	d.decode(n, v, "")
	v.FieldByName("Origin").Set(reflect.ValueOf(Origin{File: file, fields: d.fields, doc: docPos}))
	if _, isFleet := target.(*Fleet); isFleet && r.Fleet != nil {
		d.errs = append(d.errs, &FieldError{Position: docPos, Field: "kind", Message: fmt.Sprintf("a repository has one Fleet; another is declared at %s", r.Fleet.Origin.Pos(""))})
		return d.errs
	}
	r.add(target)
	return d.errs
}

// boundError is a file over a YAML bound as a positioned error.
func boundError(err error) *FieldError {
	var be *yamlbound.Error
	if errors.As(err, &be) {
		return &FieldError{Position: Position{File: be.File, Line: be.Line}, Message: be.Reason()}
	}
	return &FieldError{Message: err.Error()}
}

// yamlSyntaxError turns the YAML library's error into a positioned one. The mark is where
// the parser gave up; an unclosed bracket or quote is then reported where it was opened
// (the context mark), which is where a person has to look.
func yamlSyntaxError(file string, err error) *FieldError {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return &FieldError{Position: Position{File: file}, Message: "invalid YAML: " + err.Error()}
	}
	mark := le.Mark
	msg := le.Message
	if le.ContextMsg != "" && le.ContextMark.Line > 0 {
		mark = le.ContextMark
		msg = le.ContextMsg + ": " + msg
	}
	return &FieldError{Position: Position{File: file, Line: mark.Line, Column: mark.Column}, Message: "invalid YAML: " + msg}
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
