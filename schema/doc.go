// Package schema defines the kinds of a gitfleet fleet repository (apiVersion
// gitfleet.dev/v1alpha1) and loads them from a repository tree.
//
// The loader finds fleet files by content, not by path: every *.yaml or *.yml file that
// declares apiVersion gitfleet.dev/... is read, everything else (kustomize bases, Helm
// charts, plain manifests) is left to the renderer. Each loaded object remembers the file
// and the line of every field, so that every problem found later (an unknown field, a
// missing reference, a bad value) is reported as FILE:LINE:COLUMN: FIELD: what is wrong,
// and all problems of a repository are reported together, sorted, instead of one per run.
package schema
