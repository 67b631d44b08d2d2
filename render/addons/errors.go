package addons

import (
	"fmt"

	"gitfleet.dev/gitfleet/schema"
)

// Error is an addon that cannot be rendered for a cluster. When the cause is in a fleet
// file (a credential the member cluster cannot read, a cluster field the addon needs),
// Err is a *schema.FieldError naming the file, line and field; errors.As finds it.
type Error struct {
	Addon   string
	Type    schema.AddonType
	Cluster string
	Err     error
}

func (e *Error) Error() string {
	return fmt.Sprintf("render addon %q (%s) for cluster %q: %v", e.Addon, e.Type, e.Cluster, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
