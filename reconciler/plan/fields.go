package plan

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// masked replaces every value under a Secret's data and stringData: a plan is posted
// where more people read it than may read the secret.
const masked = `"***"`

// diffFields lists the fields in which two objects differ, as paths with their old and new
// values. Lists of objects that all have a name (containers, ports, env) are matched by
// name, so inserting a container reports one added element rather than every later one
// as changed; other lists are matched by position when their lengths agree and compared
// whole otherwise.
func diffFields(kind string, old, new map[string]any) []FieldChange {
	var out []FieldChange
	walkDiff("", old, new, &out)
	if kind == "Secret" {
		for i := range out {
			if isSecretValue(out[i].Path) {
				out[i].Old, out[i].New = maskValue(out[i].Old), maskValue(out[i].New)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func isSecretValue(path string) bool {
	return strings.HasPrefix(path, "data") || strings.HasPrefix(path, "stringData")
}

func maskValue(v string) string {
	if v == "" {
		return ""
	}
	return masked
}

// diffEntry compares one map key or named list element that may be on either side.
func diffEntry(p string, ov, nv any, inOld, inNew bool, out *[]FieldChange) {
	switch {
	case !inOld:
		*out = append(*out, FieldChange{Path: p, New: encode(nv)})
	case !inNew:
		*out = append(*out, FieldChange{Path: p, Old: encode(ov)})
	default:
		walkDiff(p, ov, nv, out)
	}
}

func walkDiff(path string, old, new any, out *[]FieldChange) {
	if reflect.DeepEqual(old, new) {
		return
	}
	switch o := old.(type) {
	case map[string]any:
		if n, ok := new.(map[string]any); ok {
			keys := map[string]bool{}
			for k := range o {
				keys[k] = true
			}
			for k := range n {
				keys[k] = true
			}
			for k := range keys {
				ov, inOld := o[k]
				nv, inNew := n[k]
				diffEntry(joinKey(path, k), ov, nv, inOld, inNew, out)
			}
			return
		}
	case []any:
		if n, ok := new.([]any); ok {
			if on, nn := byName(o), byName(n); on != nil && nn != nil {
				for _, name := range unionKeys(on, nn) {
					ov, inOld := on[name]
					nv, inNew := nn[name]
					diffEntry(fmt.Sprintf("%s[name=%s]", path, name), ov, nv, inOld, inNew, out)
				}
				return
			}
			if len(o) == len(n) {
				for i := range o {
					walkDiff(fmt.Sprintf("%s[%d]", path, i), o[i], n[i], out)
				}
				return
			}
		}
	}
	*out = append(*out, FieldChange{Path: path, Old: encode(old), New: encode(new)})
}

// byName indexes a list whose elements are all objects with distinct string names.
func byName(list []any) map[string]any {
	if len(list) == 0 {
		return nil
	}
	out := make(map[string]any, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil
		}
		name, ok := m["name"].(string)
		if !ok || name == "" {
			return nil
		}
		if _, dup := out[name]; dup {
			return nil
		}
		out[name] = e
	}
	return out
}

func unionKeys(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// joinKey appends a map key to a path; keys that are not plain words (label keys,
// file names in a ConfigMap) are quoted so that the path reads back unambiguously.
func joinKey(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return fmt.Sprintf("%s[%q]", path, key)
	case path == "":
		return key
	}
	return path + "." + key
}

// encode writes a value as compact JSON; a nil value (a field being added or removed)
// is the empty string.
func encode(v any) string {
	if v == nil {
		return ""
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
