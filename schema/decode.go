package schema

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Origin records where an object came from: its file, and the position of each of its
// fields, so that problems found after loading can still point at a line.
type Origin struct {
	File string
	// fields maps a field path ("spec.targets.clusters[1]") to where its value starts.
	fields map[string]Position
	// doc is the position of the document itself.
	doc Position
}

// Pos returns the position of a field path, or of its closest ancestor that is in the file
// (a missing required field points at the mapping it should be in).
func (o Origin) Pos(field string) Position {
	for p := field; p != ""; p = parentPath(p) {
		if pos, ok := o.fields[p]; ok {
			return pos
		}
	}
	if o.doc.File != "" {
		return o.doc
	}
	return Position{File: o.File}
}

// Errorf builds a FieldError at the given field of this object.
func (o Origin) Errorf(field, format string, args ...any) *FieldError {
	return &FieldError{Position: o.Pos(field), Field: field, Message: fmt.Sprintf(format, args...)}
}

func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndex(p, "["); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndex(p, "."); i >= 0 {
		return p[:i]
	}
	return ""
}

// decoder turns a YAML node into a Go value strictly: unknown fields, wrong types and
// duplicate keys are errors with the position of the offending node. yaml.v3's own decoder
// reports unknown fields only as text and stops at the first problem; people fixing a
// fleet repo want every problem, with the field path, at once.
type decoder struct {
	file   string
	fields map[string]Position
	errs   ErrorList
	// refs are the secret references met, by field, for the secret policy.
	refs map[string]SecretRef
}

var (
	durationType  = reflect.TypeFor[Duration]()
	quantityType  = reflect.TypeFor[resource.Quantity]()
	secretRefType = reflect.TypeFor[SecretRef]()
)

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{
		Position: Position{File: d.file, Line: n.Line, Column: n.Column},
		Field:    path,
		Message:  fmt.Sprintf(format, args...),
	})
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.fields[path] = Position{File: d.file, Line: n.Line, Column: n.Column}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value leaves the zero value, as yaml.v3 does.
	}
	if (v.Type() == secretRefType || v.Type() == reflect.PointerTo(secretRefType)) && n.Kind == yaml.ScalarNode {
		// The one mistake that must never merge: a password or token in git.
		d.errorf(n, path, "a secret must not be written into the repository; refer to it instead: {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}")
		return
	}
	switch v.Type() {
	case durationType:
		d.decodeDuration(n, v, path)
		return
	case quantityType:
		d.decodeQuantity(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), path)
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
		if v.Type() == secretRefType {
			if d.refs == nil {
				d.refs = map[string]SecretRef{}
			}
			d.refs[path] = v.Interface().(SecretRef)
		}
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "expected a list, found %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "expected a string, found %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
			d.errorf(n, path, "expected true or false, found %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Interface:
		// Free-form values (Helm values): taken as YAML gives them.
		var x any
		if err := n.Decode(&x); err != nil {
			d.errorf(n, path, "cannot read this value: %v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(stringKeys(x)))
		}
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || err != nil {
			d.errorf(n, path, "expected a number, found %s", describe(n))
			return
		}
		v.SetFloat(f)
	case reflect.Int, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			d.errorf(n, path, "expected a whole number, found %s", describe(n))
			return
		}
		v.SetInt(i)
	default:
		// Only reachable if a type in types.go uses a kind this decoder does not know.
		panic(fmt.Sprintf("schema: cannot decode into %s", v.Type()))
	}
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	dur, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		d.errorf(n, path, "expected a duration such as 30s, 5m or 1h, found %s", describe(n))
		return
	}
	if dur < 0 {
		d.errorf(n, path, "duration must not be negative, found %s", n.Value)
		return
	}
	v.Set(reflect.ValueOf(Duration{dur}))
}

func (d *decoder) decodeQuantity(n *yaml.Node, v reflect.Value, path string) {
	q, err := resource.ParseQuantity(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		d.errorf(n, path, "expected a resource quantity such as 500m, 2, 4Gi or 100, found %s", describe(n))
		return
	}
	v.Set(reflect.ValueOf(q))
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping of keys to values, found %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := reflect.New(v.Type().Key()).Elem()
		d.decode(k, key, path+"."+k.Value)
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, path+"."+k.Value)
		if m.MapIndex(key).IsValid() {
			d.errorf(k, path+"."+k.Value, "duplicate key %q", k.Value)
		}
		m.SetMapIndex(key, elem)
	}
	v.Set(m)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping of fields, found %s", describe(n))
		return
	}
	fields := structFields(v)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		child := joinPath(path, k.Value)
		if seen[k.Value] {
			d.errorf(k, child, "field is set twice in the same mapping")
			continue
		}
		seen[k.Value] = true
		f, ok := fields[k.Value]
		if !ok {
			d.errorf(k, child, "%s", unknownName("field", k.Value, sortedKeys(fields)))
			continue
		}
		d.decode(val, f, child)
	}
}

// structFields maps the YAML names of a struct's fields (inline structs flattened) to the
// settable field values. Fields tagged "-" are not part of the file format.
func structFields(v reflect.Value) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, fv := range structFields(v.Field(i)) {
				out[k] = fv
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name[:1]) + sf.Name[1:]
		}
		out[name] = v.Field(i)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinPath(parent, field string) string {
	if parent == "" {
		return field
	}
	return parent + "." + field
}

// describe names what a node holds, for "expected X, found Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	default:
		return "an unsupported YAML construct"
	}
}

// stringKeys turns the maps of a free-form value into map[string]any, as Helm reads
// values files: YAML allows keys such as 9000 (ingress-nginx's tcp map), which JSON and
// Helm's templates see as the string "9000".
func stringKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = stringKeys(e)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = stringKeys(e)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = stringKeys(e)
		}
		return t
	}
	return v
}
