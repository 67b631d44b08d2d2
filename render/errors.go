package render

import "fmt"

// Error is a failed render of one App for one cluster.
type Error struct {
	App     string
	Cluster string
	// File is the App's fleet file; kustomize's own message names the file inside the
	// kustomization that is wrong.
	File string
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("render app %q for cluster %q (%s): %v", e.App, e.Cluster, e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
