package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"gitfleet.dev/gitfleet/schema"
)

func newSchemaCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "schema [-o DIR]",
		Short: "Write a JSON Schema for every fleet kind, for editors to complete and check fleet files",
		Long: `Write one JSON Schema file per fleet kind (cluster.json, app.json, ...) into DIR, or all
of them as one JSON object on stdout. With VS Code's YAML extension, point a file at its
schema with a first line such as:

  # yaml-language-server: $schema=../schemas/cluster.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			schemas := schema.JSONSchemas()
			if dir == "" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(schemas)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			kinds := make([]string, 0, len(schemas))
			for k := range schemas {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, kind := range kinds {
				data, err := json.MarshalIndent(schemas[kind], "", "  ")
				if err != nil {
					return err
				}
				path := filepath.Join(dir, strings.ToLower(kind)+".json")
				if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d schemas to %s\n", len(kinds), dir)
			return nil
		},
	}
	cmd.Flags().StringVarP(&dir, "output-dir", "o", "", "directory to write the schema files into (default: print to stdout)")
	return cmd
}
