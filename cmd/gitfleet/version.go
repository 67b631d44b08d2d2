package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// version is stamped by the build (make build, make image:
// -ldflags "-X main.version=$(git describe --tags --always --dirty)"). A plain go build
// leaves "dev", and the node-plugin images it then refers to are tagged dev too: an
// unstamped binary has no release whose images it could name.
var version = "dev"

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version this gitfleet binary was built from",
		Long: `Print the version stamped into this binary when it was built (git describe of the
source tree). The images make image builds from the same tree carry the same version as
their tag, and gitfleet's node-plugin DaemonSets (GPU and network addons) refer to images
of this version unless pinned with --node-plugin-image.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), version)
			return err
		},
	}
}
