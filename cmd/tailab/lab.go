package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/userfile"
	"github.com/tailab/tailab/labs"
)

func newLabCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{Use: "lab", Short: "List and show labs"}
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the built-in labs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validOutput(output, "table", "json"); err != nil {
				return err
			}
			entries, err := labs.Catalog()
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), entries)
			}
			t := newTable(cmd.OutOrStdout(), "NAME", "MACHINES", "NETWORKS", "DESCRIPTION")
			for _, e := range entries {
				t.row(e.Name, fmt.Sprint(e.Machines), fmt.Sprint(e.Networks), e.Description)
			}
			return t.flush()
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	var source bool
	show := &cobra.Command{
		Use:   "show NAME|FILE",
		Short: "Show a lab: machines, networks and a text topology",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if source {
				b, err := labs.BuiltinSource(args[0])
				if err != nil {
					b, err = userfile.Read(args[0])
				}
				if err != nil {
					return errclass.Usagef("no built-in lab or file %q", args[0])
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			lab, err := labs.Open(args[0])
			if err != nil {
				return err
			}
			return exam.DescribeLab(cmd.OutOrStdout(), lab)
		},
	}
	show.Flags().BoolVar(&source, "source", false, "print the lab's YAML")
	c.AddCommand(list, show)
	return c
}
