package render

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"gitfleet.dev/gitfleet/schema"
)

// explainKustomize turns a failed kustomize build into the error a person can act on.
// A YAML file the build read that does not parse is reported at its own file and line
// (as a *schema.FieldError, so validate reports it once, with a tab named as a tab);
// anything else keeps kustomize's first cause and the directory it was found in, without
// the chain of "accumulating resources" wrappers that repeats every level of bases.
func explainKustomize(rec *recordingFS, source string, err error) error {
	msg := err.Error()
	var broken []*schema.FieldError
	for _, p := range rec.reads() {
		if strings.HasPrefix(p, syntheticRoot+"/") {
			continue
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" && ext != ".json" {
			continue
		}
		data, rerr := rec.FileSystem.ReadFile(p)
		if rerr != nil {
			continue
		}
		if fe := schema.CheckSyntax(strings.TrimPrefix(p, "/"), data); fe != nil {
			broken = append(broken, fe)
		}
	}
	// Prefer the file kustomize names; a data file of a generator read by the build
	// need not be YAML at all, so an unnamed broken file counts only for a YAML error.
	for _, fe := range broken {
		if strings.Contains(msg, "'"+path.Base(fe.File)+"'") || strings.Contains(msg, "File: "+path.Base(fe.File)) {
			return fe
		}
	}
	if len(broken) > 0 && strings.Contains(msg, "MalformedYAMLError") {
		return broken[0]
	}
	source = path.Clean(strings.TrimPrefix(source, "./"))
	return fmt.Errorf("kustomize build %s: %s", source, strings.TrimPrefix(kustomizeCause(msg), "in "+source+": "))
}

var (
	// A resource that is a directory: kustomize first tried it as a file.
	kustomizeRecursion = regexp.MustCompile(`accumulation err='accumulating resources from '[^']*': '[^']*' must resolve to a file': recursed accumulation of path '([^']*)': `)
	// A resource that is a file: kustomize then also tried it as a directory, and says so.
	kustomizeFileAttempt = regexp.MustCompile(`accumulation err='(.*)': must build at directory: .*$`)
	kustomizeIn          = regexp.MustCompile(`^(?:in [^:]*: )+`)
)

// kustomizeCause shortens kustomize's error chain to its first cause, prefixed with the
// innermost directory it came from when that is not the App's own.
func kustomizeCause(msg string) string {
	msg = kustomizeRecursion.ReplaceAllStringFunc(msg, func(m string) string {
		dir := kustomizeRecursion.FindStringSubmatch(m)[1]
		if strings.HasPrefix(dir, syntheticRoot+"/") {
			return ""
		}
		return "in " + strings.TrimPrefix(dir, "/") + ": "
	})
	msg = kustomizeFileAttempt.ReplaceAllString(msg, "$1")
	msg = strings.ReplaceAll(msg, "accumulating resources: ", "")
	// Keep only the innermost directory.
	if loc := kustomizeIn.FindString(msg); loc != "" {
		parts := strings.Split(strings.TrimSuffix(loc, ": "), ": ")
		msg = parts[len(parts)-1] + ": " + msg[len(loc):]
	}
	return msg
}

// reads returns the files the build read, in order.
func (r *recordingFS) reads() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for q := range r.seen {
		if q[0] == "read" {
			out = append(out, q[1])
		}
	}
	slices.Sort(out)
	return out
}
