package schema

// Addon is a fleet kind; its fields are being written.
type Addon struct {
	Object `yaml:",inline" json:",inline"`
	Spec   AddonSpec `yaml:"spec" json:"spec"`
}

// AddonSpec is the specification of a Addon.
type AddonSpec struct{}

// defaultsAddon fills in the defaults of this area's kinds.
func (r *Repo) defaultsAddon() {}

// validateAddon checks this area's kinds and their references.
func (r *Repo) validateAddon() ErrorList { return nil }
