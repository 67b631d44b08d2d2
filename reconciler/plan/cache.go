package plan

import "gitfleet.dev/gitfleet/render"

// shareCache gives both sides the same render cache, keyed by the content of each
// render's inputs: whatever the change did not touch is rendered once and reused for the
// other side. A cache passed in (the server's, say) is used as it is.
func shareCache(o render.Options) render.Options {
	if o.Cache == nil {
		o.Cache = render.NewCache()
	}
	return o
}
