package main

import (
	"github.com/spf13/pflag"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/render/yamlbound"
	"gitfleet.dev/gitfleet/schema"
)

// renderLimitFlags bound what reading the repository and rendering one App may cost, for
// every command that reads a fleet repository: a careless or hostile repository must make
// its own files fail, not exhaust gitfleet. The flag names are the ones the errors of
// yamlbound and render name.
type renderLimitFlags struct {
	limits render.Limits
}

func (r *renderLimitFlags) add(f *pflag.FlagSet) {
	d := render.DefaultLimits()
	r.limits = d
	f.Int64Var(&r.limits.YAML.MaxFileSize, yamlbound.FlagMaxFileSize[2:], d.YAML.MaxFileSize, "most bytes in one YAML or JSON file of the repository (fleet files, kustomize inputs, Helm values and charts) and in one rendered Helm template")
	f.IntVar(&r.limits.YAML.MaxDepth, yamlbound.FlagMaxDepth[2:], d.YAML.MaxDepth, "deepest nesting of mappings and lists in one YAML file, aliases expanded")
	f.Int64Var(&r.limits.YAML.MaxNodes, yamlbound.FlagMaxNodes[2:], d.YAML.MaxNodes, "most YAML nodes in one file once aliases are expanded (refuses alias bombs before they are decoded)")
	f.IntVar(&r.limits.MaxObjects, render.FlagMaxObjects[2:], d.MaxObjects, "most objects one App may render for one cluster and namespace (kustomize inclusions are counted before the build)")
	f.Int64Var(&r.limits.MaxOutputSize, render.FlagMaxOutputSize[2:], d.MaxOutputSize, "most bytes of objects one App may render for one cluster and namespace")
	f.DurationVar(&r.limits.Timeout, render.FlagTimeout[2:], d.Timeout, "how long one App's render may take before it fails (the build is abandoned, not stopped)")
}

// render is the options every renderer of the command gets.
func (r renderLimitFlags) render() render.Options { return render.Options{Limits: r.limits} }

// load is the options the fleet files are read with.
func (r renderLimitFlags) load() schema.LoadOptions { return schema.LoadOptions{YAML: r.limits.YAML} }
