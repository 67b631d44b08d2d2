package main

import (
	"os"

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
	// maxMemory caps each Helm render's child process; 0 renders in gitfleet's process.
	maxMemory int64
	// nodePlugins ride with the limits because every command that renders takes both:
	// the node plugins' images are part of what a render produces.
	nodePlugins nodePluginFlags
}

// defaultMaxRenderMemory is ten times what the largest public charts take to render
// (kube-prometheus-stack: about 50 MB above the process's own), and low enough that
// several renders at once leave a small host standing.
const defaultMaxRenderMemory = 512 << 20

func (r *renderLimitFlags) add(f *pflag.FlagSet) {
	d := render.DefaultLimits()
	r.limits = d
	f.Int64Var(&r.limits.YAML.MaxFileSize, yamlbound.FlagMaxFileSize[2:], d.YAML.MaxFileSize, "most bytes in one YAML or JSON file of the repository (fleet files, kustomize inputs, Helm values and charts) and in one rendered Helm template")
	f.IntVar(&r.limits.YAML.MaxDepth, yamlbound.FlagMaxDepth[2:], d.YAML.MaxDepth, "deepest nesting of mappings and lists in one YAML file, aliases expanded")
	f.Int64Var(&r.limits.YAML.MaxNodes, yamlbound.FlagMaxNodes[2:], d.YAML.MaxNodes, "most YAML nodes in one file once aliases are expanded (refuses alias bombs before they are decoded)")
	f.IntVar(&r.limits.MaxObjects, render.FlagMaxObjects[2:], d.MaxObjects, "most objects one App may render for one cluster and namespace (kustomize inclusions are counted before the build)")
	f.Int64Var(&r.limits.MaxOutputSize, render.FlagMaxOutputSize[2:], d.MaxOutputSize, "most bytes of objects one App may render for one cluster and namespace")
	r.maxMemory = defaultMaxRenderMemory
	f.Int64Var(&r.maxMemory, render.FlagMaxMemory[2:], defaultMaxRenderMemory, "most resident memory of the process each Helm render runs in, killed beyond it (a template loop cannot stop itself); 0 renders Helm charts inside gitfleet's own process, unbounded")
	f.DurationVar(&r.limits.Timeout, render.FlagTimeout[2:], d.Timeout, "how long one App's render may take before it fails (the build is abandoned, not stopped)")
	r.nodePlugins.add(f)
}

// render is the options every renderer of the command gets: Helm renders in a child
// process of gitfleet itself (main serves render.HelmChildArg) unless --max-render-memory
// is 0 or gitfleet cannot find its own executable.
// dec opens the repository's sops files (nil: they stay sealed).
func (r renderLimitFlags) render(dec *render.Decryptor) render.Options {
	return render.Options{Limits: r.limits, Isolation: r.isolation(), Decrypt: dec, Addons: r.nodePlugins.options()}
}

func (r renderLimitFlags) isolation() *render.Isolation {
	if r.maxMemory <= 0 {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil
	}
	return &render.Isolation{Command: []string{self, render.HelmChildArg}, MaxMemory: r.maxMemory}
}

// load is the options the fleet files are read with: the YAML bounds of these flags and
// the secrets the operator allows.
func (r renderLimitFlags) load(secrets schema.SecretPolicy) schema.LoadOptions {
	return schema.LoadOptions{Secrets: secrets, YAML: r.limits.YAML}
}
