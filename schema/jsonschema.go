package schema

import (
	"reflect"
	"strings"
)

// JSONSchemas returns a JSON Schema (draft 2020-12) for every fleet kind, keyed by kind,
// generated from the Go types so that it can never disagree with the loader. Editors
// (VS Code's YAML extension, IntelliJ) use them to complete and check fleet files.
func JSONSchemas() map[string]map[string]any {
	out := map[string]map[string]any{}
	for kind, newObject := range kinds {
		s := typeSchema(reflect.TypeOf(newObject()).Elem(), map[reflect.Type]bool{})
		props := s["properties"].(map[string]any)
		props["apiVersion"] = map[string]any{"const": APIVersion}
		props["kind"] = map[string]any{"const": kind}
		s["required"] = appendUnique(s["required"], "apiVersion", "kind", "metadata")
		s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
		s["$id"] = "https://gitfleet.dev/schemas/v1alpha1/" + strings.ToLower(kind) + ".json"
		s["title"] = kind + " (" + APIVersion + ")"
		out[kind] = s
	}
	return out
}

func typeSchema(t reflect.Type, seen map[reflect.Type]bool) map[string]any {
	switch t {
	case durationType:
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, "description": "a duration such as 30s, 5m or 1h"}
	case quantityType:
		return map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}, "description": "a Kubernetes quantity such as 500m, 2 or 4Gi"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeSchema(t.Elem(), seen)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Interface:
		return map[string]any{} // any YAML value
	case reflect.Slice:
		return map[string]any{"type": "array", "items": typeSchema(t.Elem(), seen)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem(), seen)}
	case reflect.Struct:
		if seen[t] {
			return map[string]any{"type": "object"} // recursive types end here.
		}
		seen[t] = true
		defer delete(seen, t)
		props := map[string]any{}
		var required []string
		structSchema(t, props, &required, seen)
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		if t == secretRefType {
			s["description"] = "a reference to a secret kept outside the repository; exactly one of env, secret or file"
		}
		return s
	default:
		return map[string]any{}
	}
}

func structSchema(t reflect.Type, props map[string]any, required *[]string, seen map[reflect.Type]bool) {
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		if strings.Contains(opts, "inline") {
			structSchema(sf.Type, props, required, seen)
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name[:1]) + sf.Name[1:]
		}
		props[name] = typeSchema(sf.Type, seen)
		if !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
	}
}

func appendUnique(existing any, names ...string) []string {
	out, _ := existing.([]string)
	for _, n := range names {
		found := false
		for _, e := range out {
			found = found || e == n
		}
		if !found {
			out = append(out, n)
		}
	}
	return out
}
