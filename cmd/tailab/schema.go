package main

import (
	"github.com/spf13/cobra"

	"github.com/tailab/tailab/labs"
)

func newSchemaCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the lab file format (for editor completion)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return writeJSON(cmd.OutOrStdout(), labs.Schema())
		},
	}
}
