package main

import (
	"github.com/spf13/cobra"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision/static"
)

func newSchemaCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:       "schema [lab|inventory]",
		Short:     "Print the JSON Schema of the lab (or inventory) file format (for editor completion)",
		ValidArgs: []string{"lab", "inventory"},
		Args:      cobra.MatchAll(cobra.MaximumNArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && args[0] == "inventory" {
				return writeJSON(cmd.OutOrStdout(), static.Schema())
			}
			return writeJSON(cmd.OutOrStdout(), labs.Schema())
		},
	}
}
